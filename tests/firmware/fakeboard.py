# A board HAL for firmware unit tests: in-memory link, a clock the test moves, outputs recorded.
# Runs under CPython and MicroPython alike.
from controller import cbor, wire
from controller.cutout import Cutout
from controller.tables import INFLOW_2, HEATER_OUTLET, MAX_PAYLOAD_BYTES

# PT100 converter codes (430 ohm reference) for a few temperatures, from R = R0(1 + A t + B t^2).
A = 3.9083e-3
B = -5.775e-7
# Ticks wrap at 2**30 as MicroPython's do (boards/interface.py); tests keep `now` unwrapped.
TICKS_PERIOD = 1 << 30
TICKS_MAX = TICKS_PERIOD - 1
TICKS_HALF = TICKS_PERIOD // 2
# The board's receive buffer: a few whole frames (a frame is at most 1,034 bytes encoded).
RX_CAPACITY = 2048
# The settings store's page: the longest record the firmware writes or reads (through its payload buffer).
SETTINGS_PAGE_BYTES = MAX_PAYLOAD_BYTES


def code_for_c(temp_c, r0=100.0, rref=430.0):
    r = r0 * (1.0 + A * temp_c + B * temp_c * temp_c)
    return int(r / rref * 32768 + 0.5)


class FakeBoard:
    name = "fake"
    cutout = None  # the independent over-temperature cut-out, made at power-on (__init__)
    # Class defaults, set on a board only by the tests that need them (the link fuzzer compiles this
    # module beside the firmware in the board's heap: every attribute counts there).
    air = False  # what the air detector reports
    lived = 0  # ticks let pass by livehost.live(): its heartbeats' ids and the converters' noise
    flow_ma = -1.0  # the flow sensor's loop current (-1: no input)
    current_ma = -1.0  # the heater current transducer's loop current (-1: no input)

    def __init__(self, temp_c=22.0):
        self.now = 0
        # Bytes from the host, rx_buf[rx_read:rx_len] not read yet, and the reader of the board's output:
        # made with the board, before the controller's buffers, as a real board's USB buffers are.
        self.rx_buf = bytearray(RX_CAPACITY)
        self.rx_len = 0
        self.rx_read = 0
        self.tx = bytearray()
        self.reader = wire.FrameReader()  # what replies() decodes the board's output with
        self.heater_pm = 0
        self.heater_relay = False
        self.pump_msps = 0
        self.bypass_open = True
        self.steps = 0
        self.cutout = Cutout()
        self.codes = [code_for_c(temp_c)] * 9
        self.wdt_timeout = 0
        self.wdt_feeds = 0
        self.crashes = []
        # The non-volatile settings record, in a page of its own as a board's store is: a write copies into
        # it, so the record costs the firmware's heap nothing here either (a kilobyte-long copy made at each
        # set_config found no block once the firmware's import had broken the heap up).
        self.settings_page = bytearray(SETTINGS_PAGE_BYTES)
        self.settings_n = 0
        self.reset_count = 0  # the boot-loop guard's count, non-volatile too

    def ticks_ms(self):
        return self.now & TICKS_MAX

    def ticks_add(self, t, d):
        return (t + d) & TICKS_MAX

    def ticks_diff(self, a, b):
        return ((a - b + TICKS_HALF) & TICKS_MAX) - TICKS_HALF

    def idle(self, until):
        if until > self.now:
            self.now = until

    def reset_cause(self):
        return "power_on"

    def unique_id(self):
        return "fake-board"

    def cpu_us(self):
        return 0

    def cpu_us_diff(self, end, start):
        return end - start

    def boot_id(self):
        return 1

    def report_crash(self, exc):
        self.crashes.append(exc)

    def heater_set(self, pm):
        self.heater_pm = 0 if self.cutout.tripped else pm

    def heater_enable(self, closed):
        self.heater_relay = closed and not self.cutout.tripped

    def pump_set(self, msps):
        self.pump_msps = msps

    def pump_steps(self):
        return self.steps

    def bypass_set(self, is_open):
        self.bypass_open = is_open

    def read_rtd(self, codes):
        """The converters, sampled by the cut-out too, as a real board's cut-out timer samples them."""
        for i in range(len(self.codes)):
            codes[i] = self.codes[i]
        if self.cutout.sample(self.codes[INFLOW_2], self.codes[HEATER_OUTLET]):
            self.heater_pm = 0
            self.heater_relay = False

    def pressure_mmhg(self):
        return 110

    def reservoir_low(self):
        return False

    def flow_sensor_ma(self):
        return self.flow_ma

    def heater_current_ma(self):
        return self.current_ma

    def air_in_line(self):
        return self.air

    def wdt_start(self, timeout_ms):
        self.wdt_timeout = timeout_ms

    def wdt_feed(self):
        self.wdt_feeds += 1

    @property
    def settings(self):
        """The record stored, as bytes (None before any); a test may replace it whole."""
        return bytes(self.settings_page[:self.settings_n]) if self.settings_n else None

    @settings.setter
    def settings(self, data):
        self.settings_write(data)

    def settings_read_into(self, buf):
        n = self.settings_n
        if n == 0:
            return 0
        if n > len(buf):
            return -1
        buf[:n] = memoryview(self.settings_page)[:n]
        return n

    def settings_write(self, data):
        n = len(data)
        self.settings_page[:n] = data  # as many bytes as it replaces: in place
        self.settings_n = n

    def reset_count_read(self):
        return self.reset_count

    def reset_count_write(self, count):
        self.reset_count = count

    def link_read(self, buf):
        start = self.rx_read
        n = min(len(buf), self.rx_len - start)
        if n <= 0:
            return 0
        rx = self.rx_buf
        for i in range(n):
            buf[i] = rx[start + i]
        self.rx_read = start + n
        return n

    def feed(self, data):
        """Bytes from the host into the board's receive buffer: a fixed one, as a USB CDC driver has, so
        the link's input costs the firmware's heap nothing (unread bytes move to the front first)."""
        if self.rx_read:
            unread = self.rx_len - self.rx_read
            self.rx_buf[0:unread] = memoryview(self.rx_buf)[self.rx_read:self.rx_len]
            self.rx_len = unread
            self.rx_read = 0
        end = self.rx_len + len(data)
        if end > len(self.rx_buf):
            raise ValueError("more than %d bytes waiting for the firmware" % len(self.rx_buf))
        self.rx_buf[self.rx_len:end] = data
        self.rx_len = end

    def link_write(self, data):
        self.tx.extend(data)

    # helpers for tests
    def run(self, ctl, ticks, after=False):
        """Let ticks control periods of 100 ms pass: the stepper turns, then the controller ticks."""
        for _ in range(ticks):
            self.steps += self.pump_msps // 10000  # milli-steps/s over 0.1 s
            self.now += 100
            ctl.tick(self.now, 100)
            if after:
                ctl.after_tick(self.now)

    def send(self, msg):
        out = bytearray()
        wire.encode_frame(cbor.dumps(msg), out)
        self.feed(out)

    def discard(self):
        """Drop what the board wrote since the last call, undecoded."""
        self.tx = bytearray()

    def replies(self):
        """Decode every frame the board wrote since the last call."""
        reader = self.reader
        found = []
        for byte in self.tx:
            n = reader.push(byte)
            if n > 0:
                found.append(cbor.loads(reader.view[:n]))  # decoded in place: no copy of a kilobyte
        self.tx = bytearray()
        return found
