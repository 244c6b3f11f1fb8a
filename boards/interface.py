"""The board contract: every method and attribute the firmware (firmware/main.py and the controller
package) uses on the board object it is handed, with its units and meaning. This class is that list.

The boards do not inherit from it (a base class would only cost heap on the board); they implement it:
boards/emulated/board.py, boards/common/mcu_board.py with boards/rp2040 and boards/esp32, and the
boards of the tests and benches that hand themselves straight to the controller
(tests/firmware/fakeboard.py, bench/inprocess.py), which need not have what only main.py calls
(maintenance_boot, enter_repl, report_crash). tests/host/test_board_contract.py checks every board
against this class, and that the firmware uses nothing on its board that is not here.

Ticks are milliseconds that wrap at 2**30 like MicroPython's time.ticks_*: only ticks_add and
ticks_diff may do arithmetic on them. Valid MicroPython and CPython alike.
"""


class BoardInterface:
    name = ""
    """A short name of the board, reported to the host by hello ("emulated", "rp2040-pico", ...)."""

    # ------------------------------------------------------------ clock

    def ticks_ms(self):
        """The board's clock in milliseconds, 0 .. 2**30 - 1, wrapping at 2**30. All firmware time
        comes from here (on the emulated board it is virtual time)."""
        raise NotImplementedError

    def ticks_add(self, ticks, delta):
        """ticks + delta milliseconds (delta may be negative), wrapped at 2**30."""
        raise NotImplementedError

    def ticks_diff(self, end, start):
        """end - start in milliseconds, signed, correct across the wrap while |end - start| < 2**29."""
        raise NotImplementedError

    def idle(self, until_ticks):
        """Wait until the clock reaches until_ticks (a tick from ticks_add), returning earlier when link
        input arrives; returns at once if that time has passed. The emulated board's time only moves
        here."""
        raise NotImplementedError

    def cpu_us(self):
        """A microsecond counter of real processor time (wrapping like time.ticks_us), for measuring
        the firmware's own cost; never used for control."""
        raise NotImplementedError

    def cpu_us_diff(self, end, start):
        """end - start of two cpu_us() readings, in microseconds, signed, across the wrap."""
        raise NotImplementedError

    cutout = None
    """The independent over-temperature cut-out (controller/cutout.py), made by the board at power-on
    and sampled by it on its own (a timer on the real boards, every exchange with the plant on the
    emulated one), never by the controller's loop. The controller only arms it with the converter
    settings, releases it once over_temperature is acknowledged, and reports it; while it is tripped
    heater_set and heater_enable drive nothing."""

    # ------------------------------------------------------------ identity and boot (main.py)

    def reset_cause(self):
        """Why the board last started: "power_on" or "watchdog"."""
        raise NotImplementedError

    def boot_id(self):
        """A positive integer that differs from one boot to the next; names telemetry records across
        reboots."""
        raise NotImplementedError

    def unique_id(self):
        """A text that names this board for good, the same on every boot (the chip's
        machine.unique_id() in hex on the real boards): the host checks it on every connect so that it
        never merges another board's records into a session."""
        raise NotImplementedError

    def maintenance_boot(self):
        """True on the one boot after enter_repl reset the board: main.py then leaves every output off
        and starts neither the watchdog nor the loop, so the REPL is the host's (hipec flash). False
        otherwise. Called only by main.py."""
        raise NotImplementedError

    def enter_repl(self):
        """Hand the link back to the REPL, the outputs already safe (main.py calls it when the host
        asked for the REPL and the controller returned). Real boards reset with a maintenance flag set
        (an armed watchdog cannot be stopped); the emulated board tells its launcher. Called only by
        main.py."""
        raise NotImplementedError

    def report_crash(self, exc):
        """Keep the exception that escaped the firmware (a crash file in flash, or the emulated board's
        stderr), after main.py has turned the heater off. Called only by main.py."""
        raise NotImplementedError

    # ------------------------------------------------------------ outputs

    def heater_set(self, permille):
        """The heater switch's duty, 0..1000 per mille (a PWM duty, or on/off for an SSR, which the
        controller switches in whole ticks). A hardware dead-man drops a duty not rewritten within
        0.5 s to 0, so a loop that stops refreshing the heater turns it off."""
        raise NotImplementedError

    def heater_enable(self, closed):
        """The safety relay in series with the heater switch: closed (True) lets a duty heat; open
        (False), no duty can."""
        raise NotImplementedError

    def pump_set(self, milli_steps_per_s):
        """The peristaltic pump's stepper rate in milli-steps per second (1000 = one step per
        second); 0 or less stops it."""
        raise NotImplementedError

    def pump_steps(self):
        """Stepper steps actually executed since boot (an integer that only grows): the controller
        checks the pump against it and integrates the delivered volume."""
        raise NotImplementedError

    def bypass_set(self, is_open):
        """The bypass valve: open (True, its rest position) returns the heated fluid to the reservoir;
        closed (False) sends it into the abdomen."""
        raise NotImplementedError

    # ------------------------------------------------------------ inputs

    def read_rtd(self, codes):
        """Fill codes[0..6] with seven 15-bit MAX31865 converter codes (0..32767, R / R_ref * 32768)
        in probe order: inflow, outflow, abdominal 1, abdominal 2, reservoir, abdominal 3,
        abdominal 4. An open probe reads 32767 and a shorted one 0. Allocates nothing."""
        raise NotImplementedError

    def pressure_mmhg(self):
        """Line pressure after the pump, an integer in mmHg, never below 0."""
        raise NotImplementedError

    def reservoir_low(self):
        """True when the reservoir's level switch reads low."""
        raise NotImplementedError

    def air_in_line(self):
        """True when the bubble detector on the inflow line sees air."""
        raise NotImplementedError

    def flow_sensor_ma(self):
        """The inline flow sensor's 4-20 mA loop current in mA (4 at no flow, 20 at its full scale), or
        -1.0 on a board with no input for one. Read only where the configuration says a sensor is
        fitted (pump.py)."""
        raise NotImplementedError

    def heater_current_ma(self):
        """The heater current transducer's 4-20 mA loop current in mA (4 at no current, 20 at its full
        scale, averaged over its response), or -1.0 on a board with no input for one. Read only where
        the configuration says a transducer is fitted (heater_current.py)."""
        raise NotImplementedError

    # ------------------------------------------------------------ watchdog

    def wdt_start(self, timeout_ms):
        """Arm the hardware watchdog with timeout_ms milliseconds; once armed it cannot be stopped, and
        the board resets (reset_cause "watchdog") unless wdt_feed is called within every timeout."""
        raise NotImplementedError

    def wdt_feed(self):
        """Feed the watchdog (the loop does it once per healthy tick)."""
        raise NotImplementedError

    # ------------------------------------------------------------ stored settings

    def settings_read_into(self, buf):
        """Read the stored settings record, as settings_write last wrote it, into the bytearray buf
        (made at boot: reading allocates nothing); return its length, 0 if there is none, or -1 if it
        is longer than buf. Kept across resets and power loss, as flash is."""
        raise NotImplementedError

    def settings_write(self, data):
        """Replace the stored record whole with data (bytes, or a memoryview of a buffer the firmware
        reuses: copy it, do not keep it): a reset mid-write leaves the old record,
        never half of the new one."""
        raise NotImplementedError

    def reset_count_read(self):
        """The count of consecutive watchdog resets kept in non-volatile memory beside the settings
        (0 when none is stored): the boot-loop guard's (controller/bootguard.py)."""
        raise NotImplementedError

    def reset_count_write(self, count):
        """Keep the count of consecutive watchdog resets across resets and power cycles."""
        raise NotImplementedError

    # ------------------------------------------------------------ serial link

    def link_read(self, buf):
        """Copy what the host link has received, up to len(buf) bytes, into buf without blocking;
        return the count (0 when nothing is waiting)."""
        raise NotImplementedError

    def link_write(self, data):
        """Send data (bytes or a buffer) to the host over the link."""
        raise NotImplementedError
