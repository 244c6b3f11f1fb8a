"""ESP32 DevKitC board: pin map, the pump's step generator on an LEDC PWM channel, and the pressure
sensor on ADC1 (ADC2 cannot be used with Wi-Fi). Everything else is boards/common/mcu_board.py.
Wiring: docs/hardware.md.
"""
import time

import machine

from mcu_board import McuBoard


class Pins:
    SPI_ID = 2  # VSPI
    SPI_SCK = 18
    SPI_MOSI = 23
    SPI_MISO = 19
    # MAX31865 chip-selects in probe order: inflow, outflow, abdominal 1, abdominal 2, reservoir,
    # abdominal 3, abdominal 4.
    RTD_CS = (5, 17, 16, 4, 21, 22, 13)
    # The safety channel's own bus (HSPI, through the GPIO matrix) and chip-selects: inflow_2 and
    # heater_outlet. GPIO 0, 2 and 15 are strapping pins, read only at reset: the MAX31865 inputs they
    # drive are high-impedance there, so the module's own strapping resistors still decide the boot.
    SAFETY_SPI_ID = 1
    SAFETY_SPI_SCK = 2
    SAFETY_SPI_MOSI = 15
    SAFETY_SPI_MISO = 39   # input only: fine for MISO
    SAFETY_RTD_CS = (32, 0)
    CUTOUT_TIMER_ID = 0    # hardware timer 0: its callback runs as a scheduled (soft) interrupt
    RTD_THREE_WIRE = False
    MAINS_HZ = 50
    HEATER = 25            # SSR input, or the DC heater's MOSFET gate (PWM)
    HEATER_IS_SSR = True
    HEATER_RELAY = 26      # safety relay coil driver, in series with the heater switch
    PUMP_STEP = 27
    PUMP_DIR = 14
    PUMP_ENABLE = 12       # active low on common stepper drivers (GPIO12 is a strapping pin: low at boot)
    BYPASS_VALVE = 33      # 1 = open (fluid back to the reservoir): the valve's rest position
    RESERVOIR_LOW = 36     # float switch to ground; input only, external pull-up (none on 34-39)
    AIR_DETECTOR = 35      # input only; external pull-up (the ESP32 has none on 34-39)
    PRESSURE_ADC = 34      # ADC1_CH6: pressure transducer through its divider
    PRESSURE_MV_AT_0 = 333
    PRESSURE_MV_AT_FULL = 3000
    PRESSURE_FULL_MMHG = 750


class Board(McuBoard):
    name = "esp32-devkitc"

    def __init__(self):
        super().__init__(Pins)
        self.adc = machine.ADC(machine.Pin(Pins.PRESSURE_ADC), atten=machine.ADC.ATTN_11DB)

    def _make_stepper(self):
        self.step_dir = machine.Pin(Pins.PUMP_DIR, machine.Pin.OUT, value=0)
        self.step_enable = machine.Pin(Pins.PUMP_ENABLE, machine.Pin.OUT, value=1)  # disabled
        self.step_pwm = machine.PWM(machine.Pin(Pins.PUMP_STEP), freq=1000, duty_u16=0)
        self.step_hz = 0
        # Steps are counted by integrating the whole-hertz rate LEDC runs at over time.
        self.milli_steps = 0
        self.steps = 0
        self.since_ms = time.ticks_ms()

    def _accumulate(self):
        now = time.ticks_ms()
        self.milli_steps += self.step_hz * time.ticks_diff(now, self.since_ms)
        self.since_ms = now
        whole = self.milli_steps // 1000
        self.steps += whole
        self.milli_steps -= whole * 1000

    def pump_set(self, milli_steps_per_s):
        hz = (milli_steps_per_s + 500) // 1000
        if hz == self.step_hz:
            return
        self._accumulate()
        self.step_hz = hz
        if hz <= 0:
            self.step_pwm.duty_u16(0)
            self.step_enable.value(1)
            return
        self.step_pwm.freq(hz)
        self.step_pwm.duty_u16(32768)
        self.step_enable.value(0)

    def pump_steps(self):
        self._accumulate()
        return self.steps

    def flow_sensor_ma(self):
        # Every ADC1 pin of the DevKitC carries a signal already (ADC2 is unusable with Wi-Fi): no flow
        # sensor input on this board (docs/hardware.md).
        return -1.0

    def heater_current_ma(self):
        # Nor for a heater current transducer, for the same reason.
        return -1.0

    def pressure_mmhg(self):
        mv = self.adc.read_uv() // 1000
        span = Pins.PRESSURE_MV_AT_FULL - Pins.PRESSURE_MV_AT_0
        value = (mv - Pins.PRESSURE_MV_AT_0) * Pins.PRESSURE_FULL_MMHG // span
        return value if value > 0 else 0
