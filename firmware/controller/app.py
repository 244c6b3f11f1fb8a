"""The controller application: the fixed-rate control loop.

Each tick: read the probes, check the absolute limits, advance the session, compute the heater and pump
outputs, drive them, record telemetry, collect garbage, and only then feed the watchdog. Between ticks
the link is serviced (commands.py answers the requests). Nothing received from the link can raise out
of run().
"""
import gc

from controller import heater, probes, safety, session, telemetry
from controller.commands import Commands
from controller.config import Config
from controller.plan import Plan
from controller.protocol import Link
from controller.pump import Pump

# Control period: 10 Hz is fast against the circuit's ~20 s line delay and slow for a microcontroller.
TICK_MS = 100
# Ring of records kept for a host that reconnects: 600 records = 10 min at the default 1 Hz, 36 KiB.
TELEMETRY_RING_RECORDS = 600
# Watchdog timeout: several ticks, so one slow tick is tolerated but a hung loop is not.
WATCHDOG_TIMEOUT_MS = 2000
# The host is considered gone after this long without a valid request (it heartbeats every 1 s).
LINK_TIMEOUT_MS = 5000
# The board pushes a heartbeat event this often, so the host can tell a silent board from a quiet one.
HEARTBEAT_EVENT_MS = 1000
# Heap a control tick may allocate (floats are heap objects on MicroPython): it is collected at the
# end of every tick, so this bounds the garbage, not the heap's high-water mark.
TICK_ALLOC_BUDGET_BYTES = 8192
# Probes whose failure stops heating: the inflow probe is controlled, the reservoir feeds forward.
REQUIRED_PROBES = (probes.INFLOW, probes.RESERVOIR)

FLAG_BYPASS_OPEN = 1
FLAG_HEATER_ALLOWED = 2
FLAG_FAULT = 4


class Controller:
    def __init__(self, board, ring_records=TELEMETRY_RING_RECORDS):
        gc.collect()  # the compiler's garbage from importing us, before the long-lived buffers
        self.board = board
        self.config = Config()
        self.plan = Plan()
        self.probes = probes.Probes(self.config)
        self.heater = heater.HeaterController(self.config)
        self.pump = Pump(board, self.config)
        self.session = session.Session()
        self.safety = safety.Safety()
        self.telemetry = telemetry.TelemetryRing(ring_records)
        self.commands = Commands(self)
        self.link = Link(board, self.commands)
        self.fault = safety.OK
        self.heater_w = 0.0
        self.setpoint_c = 0.0
        self.bypass_open = True
        self.patient_start_ml = 0.0
        self.since_telemetry_ms = 0
        self.since_heartbeat_ms = 0
        self.stream_pending = False
        self.link_ok = False
        self.link_was_ok = False
        self.link_losses = 0
        self.repl_requested = False
        self.tick_ms = TICK_MS
        self.ticks = 0
        self.overruns = 0
        self.started_ms = board.ticks_ms()
        # Heap figures (MicroPython only): the peak before each collection and what survives it.
        self.mem_alloc = getattr(gc, "mem_alloc", None)
        self.heap_peak_bytes = 0
        self.heap_live_bytes = 0

    # ------------------------------------------------------------ loop

    def run(self):
        board = self.board
        self.make_safe()
        board.wdt_start(WATCHDOG_TIMEOUT_MS)
        gc.collect()  # the compiler's garbage from boot; the peak is tracked from the first tick on
        next_tick = board.ticks_ms()
        while not self.repl_requested:
            board.idle(next_tick)
            if self.link.service():
                # Replies allocate; collect now rather than let a full heap collect during control.
                self.collect_garbage()
            now = board.ticks_ms()
            if board.ticks_diff(now, next_tick) < 0:
                continue
            self.tick(now, TICK_MS)
            next_tick = board.ticks_add(next_tick, TICK_MS)
            if board.ticks_diff(now, next_tick) >= 0:
                self.overruns += 1
                next_tick = board.ticks_add(now, TICK_MS)
            self.after_tick(now)
            self.collect_garbage()
            board.wdt_feed()
        self.make_safe()  # enter_repl: the link goes back to the REPL with every output off

    def collect_garbage(self):
        """Collect at the same point of every tick, so collection never interrupts the control step."""
        mem_alloc = self.mem_alloc
        if mem_alloc is not None:
            used = mem_alloc()
            if used > self.heap_peak_bytes:
                self.heap_peak_bytes = used
        gc.collect()
        if mem_alloc is not None:
            self.heap_live_bytes = mem_alloc()

    def make_safe(self):
        self.board.heater_set(0)
        self.board.pump_set(0)
        self.board.bypass_set(True)

    def tick(self, now, dt_ms):
        board = self.board
        dt_s = dt_ms / 1000.0
        sess = self.session
        self.ticks += 1
        board.read_rtd(self.probes.codes)
        self.probes.update(dt_s)
        temps = self.probes.temp_c

        fault = self.safety.check(self.probes, REQUIRED_PROBES)
        if fault != safety.OK:
            board.heater_set(0)  # first, before anything else is decided
            if self.fault == safety.OK:
                self.fault = fault
            if sess.phase in session.RUNNING or sess.phase == session.PAUSED:
                sess.enter(session.FAULT, now)
        phase = sess.phase

        # Session transitions.
        plan = self.plan
        self.link_ok = self.link.last_request_ms is not None and board.ticks_diff(
            now, self.link.last_request_ms) < LINK_TIMEOUT_MS
        target = plan.target_temp_c
        if target > safety.ABS_MAX_SETPOINT_C:
            target = safety.ABS_MAX_SETPOINT_C
        controlled = temps[probes.INFLOW]
        in_band = self.probes.valid[probes.INFLOW] and -self.config.band_c <= controlled - target <= self.config.band_c
        delivered = self.pump.delivered_ml()
        if phase == session.PRIMING:
            self.patient_start_ml = delivered  # the abdomen fills from the moment HEATING begins
        fill_ml = plan.volume_l * 1000.0 - self.config.circuit_prime_l * 1000.0
        filled = delivered - self.patient_start_ml >= fill_ml
        cooled = temps[probes.INFLOW] <= self.config.cooldown_end_c
        sess.advance(now, dt_ms, in_band, filled, cooled, board.ticks_diff, self.config,
                     int(plan.duration_min * 60000.0))
        phase = sess.phase

        # Outputs.
        heated = phase in session.HEATED and self.fault == safety.OK
        circulating = phase in session.RUNNING or phase == session.PAUSED or phase == session.FAULT
        self.bypass_open = phase not in session.PERFUSING and not (
            phase == session.PAUSED and sess.paused_from in session.PERFUSING)
        flow = plan.flow_ml_min if circulating else 0.0
        if self.pump.calibrating:
            flow = self.pump.calibration_tick(phase == session.IDLE)
        self.pump.set_flow(flow)
        if heated:
            self.setpoint_c = target
            self.heater_w = self.heater.update(target, controlled, temps[probes.RESERVOIR],
                                               self.pump.flow_ml_min, dt_s)
        else:
            self.setpoint_c = 0.0
            self.heater.reset()
            self.heater_w = 0.0
        if fault == safety.OVER_TEMPERATURE:
            self.heater_w = 0.0
        board.heater_set(int(self.heater_w * 1000.0 / self.config.heater_rated_w))
        board.bypass_set(self.bypass_open)
        self.pump.tick(dt_s)

        # Telemetry.
        self.since_telemetry_ms += dt_ms
        if self.since_telemetry_ms >= self.config.telemetry_period_ms:
            self.since_telemetry_ms = 0
            self.record(now)
            self.stream_pending = self.config.telemetry_stream != 0

    def record(self, now):
        row = self.telemetry.row
        p = self.probes
        row[telemetry.T_MS] = self.uptime_ms(now)
        row[telemetry.PHASE] = self.session.phase
        for i in range(probes.N_PROBES):
            row[telemetry.TEMPS + i] = int(p.temp_c[i] * 1000.0) if p.valid[i] else telemetry.NO_READING
        row[telemetry.SETPOINT] = int(self.setpoint_c * 1000.0)
        row[telemetry.HEATER] = int(self.heater_w * 1000.0 / self.config.heater_rated_w)
        row[telemetry.FLOW] = int(self.pump.flow_ml_min)
        row[telemetry.VOLUME] = int(self.pump.delivered_ml())
        row[telemetry.PRESSURE] = self.board.pressure_mmhg()
        row[telemetry.TREATMENT] = self.session.treatment_ms // 1000
        flags = 0
        if self.bypass_open:
            flags |= FLAG_BYPASS_OPEN
        if self.heater_w > 0.0:
            flags |= FLAG_HEATER_ALLOWED
        if self.fault:
            flags |= FLAG_FAULT
        row[telemetry.FLAGS] = flags
        self.telemetry.commit()

    def after_tick(self, now):
        """Work that may allocate, kept out of the control computation: events for the host."""
        sess = self.session
        if sess.changed:
            sess.changed = False
            self.link.event("state", {"phase": session.PHASE_NAMES[sess.phase],
                                      "fault": safety.FAULT_NAMES[self.fault]})
        if self.stream_pending:
            self.stream_pending = False
            self.link.event("telemetry", {"record": self.telemetry.latest()})
        self.since_heartbeat_ms += TICK_MS
        if self.since_heartbeat_ms >= HEARTBEAT_EVENT_MS:
            self.since_heartbeat_ms = 0
            self.link.event("heartbeat", {"uptime_ms": self.uptime_ms(now),
                                          "phase": session.PHASE_NAMES[sess.phase],
                                          "link_ok": self.link_ok})
        if self.link_was_ok and not self.link_ok:
            self.link_losses += 1
        self.link_was_ok = self.link_ok

    def uptime_ms(self, now):
        return self.board.ticks_diff(now, self.started_ms)


def run(board):
    Controller(board).run()
