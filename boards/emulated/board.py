"""The emulated controller board: the board HAL of the firmware on the MicroPython unix port.

Its serial link is stdin/stdout (the launcher exposes it to the host as a pseudo-terminal). Its time,
sensors and actuators live in a plant model in the launcher process, reached through a side channel
of fixed-size integer records (channel.py), so the firmware sees virtual time and physical inputs
exactly as it would see a real board's, and allocates nothing to talk to them.
"""
import os
import sys
import select
import time
from array import array

import micropython

import channel as ch
from controller.cutout import Cutout
from controller.tables import INFLOW_2, HEATER_OUTLET

# MicroPython's ticks wrap at 2**30; virtual ticks wrap the same way so the firmware's arithmetic is exercised.
TICKS_PERIOD = 1 << 30
TICKS_MAX = TICKS_PERIOD - 1
TICKS_HALF = TICKS_PERIOD // 2
# The heater switch's dead-man: a duty not rewritten within this time drops to 0, as a retriggerable
# one-shot in hardware would, so a loop that stops refreshing the heater turns it off.
HEATER_DEADMAN_MS = 500


def _env(name):
    value = os.getenv(name)
    if value is None:
        raise RuntimeError("%s is not set: start the emulated board with `hipec emulate`" % name)
    return value


class Board:
    name = "emulated"
    cutout = None  # the independent over-temperature cut-out, made at power-on (__init__)

    def __init__(self):
        self._to_plant = open("/dev/fd/" + _env("HIPEC_PLANT_WFD"), "wb")
        self._from_plant = open("/dev/fd/" + _env("HIPEC_PLANT_RFD"), "rb")
        self._out = array("i", [0] * ch.OUT_WORDS)
        self._in = array("i", [0] * ch.IN_WORDS)
        self._reset_cause = os.getenv("HIPEC_RESET_CAUSE") or "power_on"
        self._stdin = sys.stdin.buffer
        self._stdout = sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(self._stdin, select.POLLIN)
        self._one = memoryview(bytearray(1))
        self._heater_written_ms = 0
        self._link_open = True
        # The independent over-temperature cut-out, sampled at every exchange with the plant as a real
        # board's timer samples it (controller/cutout.py).
        self.cutout = Cutout()
        # Ctrl-C bytes may appear inside binary frames: they must not interrupt the firmware.
        micropython.kbd_intr(-1)
        self._exchange(0)

    # ---------------------------------------------------------------- plant exchange

    def _exchange(self, until_ms):
        if until_ms - self._heater_written_ms > HEATER_DEADMAN_MS:
            self._out[ch.OUT_HEATER_PM] = 0
        self._out[ch.OUT_UNTIL_MS] = until_ms
        self._to_plant.write(self._out)
        if self._from_plant.readinto(self._in) != ch.IN_WORDS * 4:
            sys.exit(3)  # the plant is gone: the board has lost power
        self._sample_cutout()
        if self._in[ch.IN_HANG]:
            self._hang()

    def _sample_cutout(self):
        if self.cutout.sample(self._in[ch.IN_RTD + INFLOW_2], self._in[ch.IN_RTD + HEATER_OUTLET]):
            self._out[ch.OUT_HEATER_RELAY] = 0
            self._out[ch.OUT_HEATER_PM] = 0

    def _hang(self):
        # A loop stuck in a driver: time passes, the watchdog is never fed again, and the heater's
        # dead-man drops it once its duty is no longer refreshed.
        while True:
            if self._in[ch.IN_NOW_MS] - self._heater_written_ms > HEATER_DEADMAN_MS:
                self._out[ch.OUT_HEATER_PM] = 0
            self._out[ch.OUT_UNTIL_MS] = self._in[ch.IN_NOW_MS] + 100
            self._to_plant.write(self._out)
            self._from_plant.readinto(self._in)
            self._sample_cutout()  # a hung loop does not stop the cut-out's timer

    # ---------------------------------------------------------------- clock

    def ticks_ms(self):
        return self._in[ch.IN_NOW_MS] & TICKS_MAX

    def ticks_add(self, ticks, delta):
        return (ticks + delta) & TICKS_MAX

    def ticks_diff(self, end, start):
        return ((end - start + TICKS_HALF) & TICKS_MAX) - TICKS_HALF

    def idle(self, until_ticks):
        """Let virtual time pass until until_ticks, or less if the host has sent something."""
        now = self._in[ch.IN_NOW_MS]
        wait = self.ticks_diff(until_ticks, now & TICKS_MAX)
        if wait < 0:
            wait = 0
        self._exchange(now + wait)

    def cpu_us(self):
        """A microsecond counter of real processor time, for measuring the firmware's own cost."""
        return time.ticks_us()

    def cpu_us_diff(self, end, start):
        return time.ticks_diff(end, start)

    def reset_cause(self):
        return self._reset_cause

    def boot_id(self):
        """A number that differs from one boot to the next (the launcher counts its boots)."""
        return int(os.getenv("HIPEC_BOOT_ID") or "1")

    def unique_id(self):
        """The emulated board's identity, kept by the launcher beside its settings file."""
        return os.getenv("HIPEC_BOARD_ID") or "emulated"

    def maintenance_boot(self):
        """The emulated board hands the link back without a reset (enter_repl): never a maintenance boot."""
        return False

    def enter_repl(self):
        """The firmware has made its outputs safe and hands the link to the REPL: tell the launcher."""
        self._out[ch.OUT_MODE] = ch.MODE_REPL
        self._exchange(self._in[ch.IN_NOW_MS])

    def report_crash(self, exc):
        # stdout is the link; the launcher keeps stderr as the board's debug log.
        sys.print_exception(exc, sys.stderr)  # type: ignore[arg-type]  # stubs type stderr as TextIO
        # Real pins change the moment they are written; here outputs reach the plant at the next
        # exchange, so push the safe state out before the interpreter exits.
        self._exchange(self._in[ch.IN_NOW_MS])

    # ---------------------------------------------------------------- outputs

    def heater_set(self, permille):
        if permille < 0:
            permille = 0
        elif permille > 1000:
            permille = 1000
        self._out[ch.OUT_HEATER_PM] = 0 if self.cutout.tripped else permille
        self._heater_written_ms = self._in[ch.IN_NOW_MS]

    def heater_enable(self, closed):
        """The safety relay in series with the heater switch: open, no duty can heat."""
        self._out[ch.OUT_HEATER_RELAY] = 1 if closed and not self.cutout.tripped else 0

    def pump_set(self, milli_steps_per_s):
        self._out[ch.OUT_PUMP_MSPS] = milli_steps_per_s if milli_steps_per_s > 0 else 0

    def pump_steps(self):
        return self._in[ch.IN_PUMP_STEPS]

    def bypass_set(self, is_open):
        self._out[ch.OUT_BYPASS] = 1 if is_open else 0

    # ---------------------------------------------------------------- inputs

    def read_rtd(self, codes):
        for i in range(ch.N_RTD):
            codes[i] = self._in[ch.IN_RTD + i]

    def pressure_mmhg(self):
        return self._in[ch.IN_PRESSURE_MMHG]

    def reservoir_low(self):
        return self._in[ch.IN_RESERVOIR_LOW] != 0

    def air_in_line(self):
        return self._in[ch.IN_AIR] != 0

    def flow_sensor_ma(self):
        ua = self._in[ch.IN_FLOW_UA]
        return ua / 1000.0 if ua >= 0 else -1.0

    def heater_current_ma(self):
        ua = self._in[ch.IN_HEATER_CURRENT_UA]
        return ua / 1000.0 if ua >= 0 else -1.0

    # ---------------------------------------------------------------- watchdog

    def wdt_start(self, timeout_ms):
        self._out[ch.OUT_WDT_TIMEOUT_MS] = timeout_ms

    def wdt_feed(self):
        self._out[ch.OUT_WDT_FEEDS] += 1

    # ---------------------------------------------------------------- non-volatile settings

    def settings_read_into(self, buf):
        """The stored settings record into buf (the launcher keeps the file across emulated resets, as
        flash keeps it across a real board's)."""
        path = os.getenv("HIPEC_SETTINGS_FILE")
        if not path:
            return 0
        try:
            with open(path, "rb") as f:
                n = f.readinto(buf)
                return -1 if n == len(buf) and f.read(1) else n
        except OSError:
            return 0

    def settings_write(self, data):
        """Replace the record whole: written beside it, then renamed over it (a reset mid-write leaves
        the old record, never half of the new one)."""
        path = os.getenv("HIPEC_SETTINGS_FILE")
        if not path:
            return
        with open(path + ".new", "wb") as f:
            f.write(data)
        os.rename(path + ".new", path)

    def reset_count_read(self):
        """The boot-loop guard's count, kept by the launcher's flash beside the settings file."""
        path = os.getenv("HIPEC_SETTINGS_FILE")
        if not path:
            return 0
        try:
            with open(path + ".resets", "r") as f:
                return int(f.read().strip() or "0")
        except (OSError, ValueError):
            return 0

    def reset_count_write(self, count):
        path = os.getenv("HIPEC_SETTINGS_FILE")
        if not path:
            return
        with open(path + ".resets.new", "w") as f:
            f.write("%d\n" % count)
        os.rename(path + ".resets.new", path + ".resets")

    # ---------------------------------------------------------------- serial link

    def link_read(self, buf):
        """Read what the link has, up to len(buf) bytes, without blocking; return the count."""
        if not self._link_open:
            return 0
        n = 0
        one = self._one
        size = len(buf)
        while n < size:
            ready = False
            for _obj, event in self._poll.ipoll(0):
                ready = event & select.POLLIN
            if not ready:
                break
            if self._stdin.readinto(one) != 1:
                self._link_open = False  # the launcher closed our end
                break
            buf[n] = one[0]
            n += 1
        return n

    def link_write(self, data):
        self._stdout.write(data)
