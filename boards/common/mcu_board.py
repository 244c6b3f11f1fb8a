"""What the RP2040 and ESP32 boards share behind the board interface: the clock, the USB CDC link, the
MAX31865 probes, heater, relay, valve and sensor pins, the watchdog, stored settings, crash reports and
the way back to the REPL. Each board module gives its pin map and the parts its chip does its own way
(the pump's step generator, the pressure ADC).

The link is the USB CDC serial port the REPL uses: while the firmware owns it, Ctrl-C is disabled
(binary frames contain 0x03) and reads never block. The way back to the REPL resets the board with a
maintenance flag set, because an armed watchdog cannot be stopped on the RP2040; the next boot sees the
flag (maintenance_boot), leaves every output off and starts neither the watchdog nor the loop.
"""
import binascii
import os
import select
import sys
import time

import machine
import micropython

from controller.cutout import Cutout
from max31865 import MAX31865
from ssr import TimeProportioned

SETTINGS_FILE = "settings.cbor"
MAINTENANCE_FLAG = "maintenance"
CRASH_FILE = "crash.txt"
# The boot-loop guard's count of consecutive watchdog resets (controller/bootguard.py).
RESET_COUNT_FILE = "resets.txt"
# The independent over-temperature cut-out samples the safety bus this often, from its own timer.
CUTOUT_PERIOD_MS = 100
# The heater duty is a PWM at this frequency for a DC heater; an SSR is switched whole ticks instead
# (time-proportioned, heater_set).
HEATER_PWM_HZ = 1000
FULL_PM = 1000


class McuBoard:
    """Base of the real boards; a subclass sets the pins and implements _make_stepper, pump_set,
    pump_steps and pressure_mmhg."""

    name = "mcu"
    cutout: Cutout  # the independent over-temperature cut-out, made at power-on (__init__)

    def __init__(self, pins):
        self.pins = pins
        # Outputs first, all off: whatever happens next, the heater is not driven.
        self.relay = machine.Pin(pins.HEATER_RELAY, machine.Pin.OUT, value=0)
        self.heater_pin = machine.Pin(pins.HEATER, machine.Pin.OUT, value=0)
        self.heater_pwm = None if pins.HEATER_IS_SSR else machine.PWM(self.heater_pin, freq=HEATER_PWM_HZ, duty_u16=0)
        self.ssr = TimeProportioned()  # an SSR's duty over the ticks (heater_set)
        self.ssr_written_us = time.ticks_us()
        self.bypass = machine.Pin(pins.BYPASS_VALVE, machine.Pin.OUT, value=1)  # open: fluid to the reservoir
        self.level = machine.Pin(pins.RESERVOIR_LOW, machine.Pin.IN, machine.Pin.PULL_UP)
        self.air = machine.Pin(pins.AIR_DETECTOR, machine.Pin.IN, machine.Pin.PULL_UP)
        spi = machine.SPI(pins.SPI_ID, baudrate=1000000, polarity=0, phase=1, sck=machine.Pin(pins.SPI_SCK),
                          mosi=machine.Pin(pins.SPI_MOSI), miso=machine.Pin(pins.SPI_MISO))
        # The safety channel (redundant inflow, exchanger outlet) has its own SPI controller and pins:
        # a fault of one bus (a shorted MISO, a stuck clock) leaves the other bus's probes reading.
        safety_spi = machine.SPI(pins.SAFETY_SPI_ID, baudrate=1000000, polarity=0, phase=1,
                                 sck=machine.Pin(pins.SAFETY_SPI_SCK), mosi=machine.Pin(pins.SAFETY_SPI_MOSI),
                                 miso=machine.Pin(pins.SAFETY_SPI_MISO))
        self.rtds = [MAX31865(spi, machine.Pin(cs, machine.Pin.OUT, value=1), pins.RTD_THREE_WIRE,
                              pins.MAINS_HZ) for cs in pins.RTD_CS]
        # The safety bus belongs to the cut-out's timer: the controller reads the codes it last took.
        self.safety_rtds = [MAX31865(safety_spi, machine.Pin(cs, machine.Pin.OUT, value=1), pins.RTD_THREE_WIRE,
                                     pins.MAINS_HZ) for cs in pins.SAFETY_RTD_CS]
        self.safety_codes = [0, 0]
        self.cutout = Cutout()
        self.cutout_timer = machine.Timer(pins.CUTOUT_TIMER_ID)
        self.cutout_timer.init(period=CUTOUT_PERIOD_MS, mode=machine.Timer.PERIODIC, callback=self._cutout_tick)
        self.wdt = None
        self._reset_cause = "watchdog" if self._watchdog_bit() else "power_on"
        self._boot_id = (os.urandom(1)[0] << 16 | os.urandom(1)[0] << 8 | os.urandom(1)[0]) + 1
        self._stdin = sys.stdin.buffer
        self._stdout = sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)
        self._one = bytearray(1)
        # The firmware owns the link from here on: binary frames contain 0x03, which must not interrupt it.
        micropython.kbd_intr(-1)
        self._make_stepper()

    # ------------------------------------------------------------ clock and identity

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_add(self, ticks, delta):
        return time.ticks_add(ticks, delta)

    def ticks_diff(self, end, start):
        return time.ticks_diff(end, start)

    def idle(self, until_ticks):
        """Wait until the tick is due, returning early when the link has input."""
        wait = time.ticks_diff(until_ticks, time.ticks_ms())
        if wait > 0:
            for _obj, _event in self._poll.ipoll(wait):
                break

    def cpu_us(self):
        return time.ticks_us()

    def cpu_us_diff(self, end, start):
        return time.ticks_diff(end, start)

    def reset_cause(self):
        return self._reset_cause

    def boot_id(self):
        return self._boot_id

    def unique_id(self):
        return "%s-%s" % (self.name, binascii.hexlify(machine.unique_id()).decode())

    def maintenance_boot(self):
        """True once after enter_repl reset the board: stay out of the loop and the watchdog."""
        try:
            os.remove(MAINTENANCE_FLAG)
        except OSError:
            return False
        micropython.kbd_intr(3)  # the REPL is the host's: Ctrl-C works again
        return True

    def report_crash(self, exc):
        try:
            with open(CRASH_FILE, "w") as f:
                sys.print_exception(exc, f)
        except OSError:
            pass

    def enter_repl(self):
        """Outputs off, flag set, reset: the next boot leaves the REPL to the host, watchdog unarmed."""
        self.heater_set(0)
        self.heater_enable(False)
        self.pump_set(0)
        with open(MAINTENANCE_FLAG, "w") as f:
            f.write("enter_repl")
        micropython.kbd_intr(3)
        machine.reset()

    # ------------------------------------------------------------ what each board does its own way

    def _watchdog_bit(self):
        """Whether the watchdog's timeout reset the chip (not power-on, not a deliberate reset)."""
        return machine.reset_cause() == machine.WDT_RESET

    def _make_stepper(self):
        raise NotImplementedError

    def pump_set(self, milli_steps_per_s):
        raise NotImplementedError

    def pump_steps(self):
        raise NotImplementedError

    def pressure_mmhg(self):
        raise NotImplementedError

    def flow_sensor_ma(self):
        raise NotImplementedError

    def heater_current_ma(self):
        raise NotImplementedError

    # ------------------------------------------------------------ outputs

    def _cutout_tick(self, _timer):
        """The cut-out's timer: sample the safety bus; once tripped, the heater and its relay are off
        whatever the main loop does (it runs while that loop is stuck in Python code, too)."""
        codes = self.safety_codes
        codes[0] = self.safety_rtds[0].read_code()
        codes[1] = self.safety_rtds[1].read_code()
        if self.cutout.sample(codes[0], codes[1]):
            self.relay.value(0)
            self.heater_set(0)

    def heater_set(self, permille):
        if self.cutout.tripped:
            permille = 0
        if self.heater_pwm is not None:
            self.heater_pwm.duty_u16(permille * 65535 // FULL_PM)
            return
        # An SSR is on or off from one call to the next (the interlock writes the heater once a tick). A
        # duty between is time-proportioned over the calls by the time each really held (ssr.py), so
        # the element gets the power asked whichever output the firmware is configured for: its SSR
        # windows (0 or 1000, passed through as they are) or a PWM duty (heater_output 0, the default).
        # Switching on at any duty above 0 ran the element at full power: the exchanger passed the
        # 45 degC cut-off in 35 s of priming on the emulated RP2040.
        now = time.ticks_us()
        elapsed = time.ticks_diff(now, self.ssr_written_us)
        self.ssr_written_us = now
        self.heater_pin.value(1 if self.ssr.write(permille, elapsed) else 0)

    def heater_enable(self, closed):
        self.relay.value(1 if closed and not self.cutout.tripped else 0)

    def bypass_set(self, is_open):
        self.bypass.value(1 if is_open else 0)

    # ------------------------------------------------------------ inputs

    def read_rtd(self, codes):
        rtds = self.rtds
        n = len(rtds)
        for i in range(n):
            codes[i] = rtds[i].read_code()
        codes[n] = self.safety_codes[0]
        codes[n + 1] = self.safety_codes[1]

    def reservoir_low(self):
        return self.level.value() == 0  # the float switch pulls the line low when the level is low

    def air_in_line(self):
        return self.air.value() == 0  # the ultrasonic detector pulls its output low on air

    # ------------------------------------------------------------ watchdog

    def wdt_start(self, timeout_ms):
        self.wdt = machine.WDT(timeout=timeout_ms)

    def wdt_feed(self):
        if self.wdt is not None:
            self.wdt.feed()

    # ------------------------------------------------------------ settings in flash

    def settings_read_into(self, buf):
        try:
            with open(SETTINGS_FILE, "rb") as f:
                n = f.readinto(buf)
                return -1 if n == len(buf) and f.read(1) else n
        except OSError:
            return 0

    def settings_write(self, data):
        with open(SETTINGS_FILE + ".new", "wb") as f:
            f.write(data)
        os.rename(SETTINGS_FILE + ".new", SETTINGS_FILE)

    def reset_count_read(self):
        try:
            with open(RESET_COUNT_FILE) as f:
                return int(f.read().strip() or "0")
        except (OSError, ValueError):
            return 0

    def reset_count_write(self, count):
        with open(RESET_COUNT_FILE + ".new", "w") as f:
            f.write("%d\n" % count)
        os.rename(RESET_COUNT_FILE + ".new", RESET_COUNT_FILE)

    # ------------------------------------------------------------ USB CDC link

    def link_read(self, buf):
        """What the link has, up to len(buf) bytes, without blocking; the count."""
        n = 0
        one = self._one
        size = len(buf)
        while n < size:
            ready = False
            for _obj, _event in self._poll.ipoll(0):
                ready = True
            if not ready or self._stdin.readinto(one) != 1:
                break
            buf[n] = one[0]
            n += 1
        return n

    def link_write(self, data):
        self._stdout.write(data)
