"""Raspberry Pi Pico (RP2040) board: pin map, the pump's step generator on a PIO state machine, and the
pressure sensor on ADC0. Everything else is boards/common/mcu_board.py. Wiring: docs/hardware.md.
"""
import time

import machine
import rp2

from mcu_board import McuBoard

try:
    from typing import TYPE_CHECKING
except ImportError:
    TYPE_CHECKING = False
if TYPE_CHECKING:
    from rp2.asm_pio import *  # noqa: F403 (the PIO assembler's names, for the type checker only)


class Pins:
    SPI_ID = 0
    SPI_SCK = 18
    SPI_MOSI = 19
    SPI_MISO = 16
    # MAX31865 chip-selects in probe order: inflow, outflow, abdominal 1, abdominal 2, reservoir,
    # abdominal 3, abdominal 4.
    RTD_CS = (17, 20, 21, 22, 13, 0, 1)
    # The safety channel's own bus (SPI1) and chip-selects: inflow_2, heater_outlet.
    SAFETY_SPI_ID = 1
    SAFETY_SPI_SCK = 14
    SAFETY_SPI_MOSI = 15
    SAFETY_SPI_MISO = 12
    SAFETY_RTD_CS = (4, 5)
    CUTOUT_TIMER_ID = -1   # a virtual timer: its callback runs as a scheduled (soft) interrupt
    RTD_THREE_WIRE = False
    MAINS_HZ = 50
    HEATER = 2             # SSR input, or the DC heater's MOSFET gate (PWM)
    HEATER_IS_SSR = True
    HEATER_RELAY = 3       # safety relay coil driver, in series with the heater switch
    PUMP_STEP = 6
    PUMP_DIR = 7
    PUMP_ENABLE = 8        # active low on common stepper drivers
    BYPASS_VALVE = 9       # 1 = open (fluid back to the reservoir): the valve's rest position
    RESERVOIR_LOW = 10     # float switch to ground
    AIR_DETECTOR = 11      # ultrasonic bubble detector, open collector, low on air
    PRESSURE_ADC = 26      # ADC0: pressure transducer through its divider
    # Transducer: 0.5 V at 0 mmHg, 4.5 V at 750 mmHg, divided by 1.5 into the 3.3 V ADC.
    PRESSURE_MV_AT_0 = 333
    PRESSURE_MV_AT_FULL = 3000
    PRESSURE_FULL_MMHG = 750
    FLOW_ADC = 27          # ADC1: the flow sensor's 4-20 mA loop across FLOW_SHUNT_OHM to ground
    FLOW_SHUNT_OHM = 150   # 20 mA reads 3.0 V, within the 3.3 V ADC
    HEATER_CURRENT_ADC = 28          # ADC2: the heater current transducer's 4-20 mA loop, likewise
    HEATER_CURRENT_SHUNT_OHM = 150


# The watchdog's REASON register (RP2040 datasheet 4.7.6): TIMER set when its timeout reset the chip,
# FORCE when software did (machine.reset() triggers the watchdog: MicroPython's reset_cause() then
# says WDT_RESET for both, so a deliberate reset, as after flashing, would count as a watchdog reset).
WATCHDOG_REASON = 0x40058008
REASON_TIMER = 0x1

# State machine clock: 2 MHz (one instruction every 0.5 us): at 2,667 steps/s (500 mL/min) a period
# is 750 cycles, so the rate is exact to 0.1 %.
STEP_SM_HZ = 2000000
# A period of the program is 2 * X + 8 cycles (pull, two movs and a set before each high half, a mov and
# a set before each low half, each loop X + 1): X = cycles / 2 - 4.
STEP_OVERHEAD = 4


@rp2.asm_pio(set_init=rp2.PIO.OUT_LOW)
def step_wave():
    # Square wave on the STEP pin; the half period (in loop counts) comes from the TX FIFO and is kept
    # until a new one arrives (pull noblock re-uses X when the FIFO is empty).
    pull(noblock)
    mov(x, osr)
    mov(y, x)
    set(pins, 1)
    label("high")
    jmp(y_dec, "high")
    mov(y, x)
    set(pins, 0)
    label("low")
    jmp(y_dec, "low")


class Board(McuBoard):
    name = "rp2040-pico"

    def __init__(self):
        super().__init__(Pins)
        self.adc = machine.ADC(Pins.PRESSURE_ADC)
        self.flow_adc = machine.ADC(Pins.FLOW_ADC)
        self.current_adc = machine.ADC(Pins.HEATER_CURRENT_ADC)

    def _watchdog_bit(self):
        return machine.mem32[WATCHDOG_REASON] & REASON_TIMER != 0

    def _make_stepper(self):
        self.step_dir = machine.Pin(Pins.PUMP_DIR, machine.Pin.OUT, value=0)
        self.step_enable = machine.Pin(Pins.PUMP_ENABLE, machine.Pin.OUT, value=1)  # disabled
        self.sm = rp2.StateMachine(0, step_wave, freq=STEP_SM_HZ, set_base=machine.Pin(Pins.PUMP_STEP))
        self.msps = 0
        # Steps are counted by integrating the exact rate the state machine runs at over time, in
        # micro-steps, each time the rate changes or the count is read.
        self.micro_steps = 0
        self.steps = 0
        self.since_ms = time.ticks_ms()

    def _accumulate(self):
        now = time.ticks_ms()
        self.micro_steps += self.msps * time.ticks_diff(now, self.since_ms)
        self.since_ms = now
        whole = self.micro_steps // 1000000
        self.steps += whole
        self.micro_steps -= whole * 1000000

    def pump_set(self, milli_steps_per_s):
        if milli_steps_per_s == self.msps:
            return
        self._accumulate()
        self.msps = milli_steps_per_s
        if milli_steps_per_s <= 0:
            self.sm.active(0)
            self.step_enable.value(1)
            return
        # Loop count X for the period: half the SM cycles of one step, less the fixed instructions.
        half = STEP_SM_HZ * 500 // milli_steps_per_s - STEP_OVERHEAD
        self.sm.put(half if half > 0 else 0)
        self.step_enable.value(0)
        self.sm.active(1)

    def pump_steps(self):
        self._accumulate()
        return self.steps

    def flow_sensor_ma(self):
        return self.flow_adc.read_u16() * 3300 / 65535 / Pins.FLOW_SHUNT_OHM

    def heater_current_ma(self):
        return self.current_adc.read_u16() * 3300 / 65535 / Pins.HEATER_CURRENT_SHUNT_OHM

    def pressure_mmhg(self):
        mv = self.adc.read_u16() * 3300 // 65535
        span = Pins.PRESSURE_MV_AT_FULL - Pins.PRESSURE_MV_AT_0
        value = (mv - Pins.PRESSURE_MV_AT_0) * Pins.PRESSURE_FULL_MMHG // span
        return value if value > 0 else 0
