"""The controller application: the fixed-rate control loop and the commands the host may send.

Each tick: read the probes, check the absolute limits, advance the session, compute the heater and pump
outputs, drive them, record telemetry, collect garbage, and only then feed the watchdog. Between ticks
the link is serviced. Nothing received from the link can raise out of run().
"""
import gc

from controller import heater, probes, safety, session, telemetry
from controller.config import Config
from controller.errors import CommandError, BAD_FIELD, UNKNOWN_TYPE
from controller.plan import Plan
from controller.protocol import Link, PROTOCOL_VERSION
from controller.pump import Pump

FIRMWARE_VERSION = "0.1.0"
# Control period: 10 Hz is fast against the circuit's ~20 s line delay and slow for a microcontroller.
TICK_MS = 100
# One telemetry record per second: 60 min of treatment is 3600 records.
TELEMETRY_PERIOD_MS = 1000
# Ring of records kept for a host that reconnects: 600 records = 10 min at 1 Hz, 36 KiB of heap.
TELEMETRY_RING_RECORDS = 600
# Watchdog timeout: several ticks, so one slow tick is tolerated but a hung loop is not.
WATCHDOG_TIMEOUT_MS = 2000
# Most records in one telemetry_pull reply, so the reply stays under the frame size limit.
PULL_MAX_RECORDS = 12
# Heap a control tick may allocate (floats are heap objects on MicroPython): it is collected at the
# end of every tick, so this bounds the garbage, not the heap's high-water mark.
TICK_ALLOC_BUDGET_BYTES = 8192
# Probes whose failure stops heating: the inflow probe is controlled, the reservoir feeds forward.
REQUIRED_PROBES = (probes.INFLOW, probes.RESERVOIR)

FLAG_BYPASS_OPEN = 1
FLAG_HEATER_ALLOWED = 2
FLAG_FAULT = 4


class Controller:
    def __init__(self, board):
        self.board = board
        self.config = Config()
        self.plan = Plan()
        self.probes = probes.Probes(self.config)
        self.heater = heater.HeaterController(self.config)
        self.pump = Pump(board, self.config)
        self.session = session.Session()
        self.safety = safety.Safety()
        self.telemetry = telemetry.TelemetryRing(TELEMETRY_RING_RECORDS)
        self.link = Link(board, self)
        self.fault = safety.OK
        self.heater_w = 0.0
        self.setpoint_c = 0.0
        self.bypass_open = True
        self.patient_start_ml = 0.0
        self.since_telemetry_ms = 0
        self.ticks = 0
        self.overruns = 0
        self.started_ms = board.ticks_ms()
        # Heap figures (MicroPython only): the peak before each collection and what survives it.
        self.mem_alloc = getattr(gc, "mem_alloc", None)
        self.heap_peak_bytes = 0
        self.heap_live_bytes = 0
        self.commands = {
            "hello": self.cmd_hello,
            "status": self.cmd_status,
            "heartbeat": self.cmd_heartbeat,
            "echo": self.cmd_echo,
            "set_plan": self.cmd_set_plan,
            "get_plan": self.cmd_get_plan,
            "start": self.cmd_phase,
            "pause": self.cmd_phase,
            "resume": self.cmd_phase,
            "stop": self.cmd_phase,
            "abort": self.cmd_phase,
            "reset": self.cmd_phase,
            "telemetry_pull": self.cmd_telemetry_pull,
        }

    # ------------------------------------------------------------ loop

    def run(self):
        board = self.board
        self.make_safe()
        board.wdt_start(WATCHDOG_TIMEOUT_MS)
        gc.collect()  # the compiler's garbage from boot; the peak is tracked from the first tick on
        next_tick = board.ticks_ms()
        while True:
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
            self.after_tick()
            self.collect_garbage()
            board.wdt_feed()

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
        if self.since_telemetry_ms >= TELEMETRY_PERIOD_MS:
            self.since_telemetry_ms -= TELEMETRY_PERIOD_MS
            self.record(now)

    def record(self, now):
        row = self.telemetry.row
        p = self.probes
        row[telemetry.T_MS] = self.board.ticks_diff(now, self.started_ms)
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

    def after_tick(self):
        """Work that may allocate, kept out of the control computation: phase-change events."""
        sess = self.session
        if sess.changed:
            sess.changed = False
            self.link.event("state", {"phase": session.PHASE_NAMES[sess.phase],
                                      "fault": safety.FAULT_NAMES[self.fault]})

    # ------------------------------------------------------------ commands

    def handle(self, msg_type, fields):
        command = self.commands.get(msg_type)
        if command is None:
            raise CommandError(UNKNOWN_TYPE, "type", "unknown message type '%s'" % msg_type)
        return command(msg_type, fields)

    def cmd_hello(self, _type, _fields):
        return {
            "firmware": FIRMWARE_VERSION,
            "protocol": PROTOCOL_VERSION,
            "board": self.board.name,
            "reset_cause": self.board.reset_cause(),
            "uptime_ms": self.board.ticks_diff(self.board.ticks_ms(), self.started_ms),
            "tick_ms": TICK_MS,
            "telemetry_period_ms": TELEMETRY_PERIOD_MS,
            "telemetry_fields": list(telemetry.FIELDS),
            "phases": list(session.PHASE_NAMES),
            "capabilities": sorted(self.commands),
        }

    def cmd_status(self, _type, _fields):
        p = self.probes
        temps = {}
        for i in range(probes.N_PROBES):
            temps[probes.PROBE_NAMES[i]] = p.temp_c[i] if p.valid[i] else None
        sess = self.session
        return {
            "phase": session.PHASE_NAMES[sess.phase],
            "fault": safety.FAULT_NAMES[self.fault],
            "temps_c": temps,
            "setpoint_c": self.setpoint_c,
            "heater_w": self.heater_w,
            "flow_ml_min": self.pump.flow_ml_min,
            "delivered_ml": self.pump.delivered_ml(),
            "treatment_s": sess.treatment_ms // 1000,
            "duration_s": int(self.plan.duration_min * 60.0),
            "bypass_open": self.bypass_open,
            "telemetry_next": self.telemetry.next_seq,
            "uptime_ms": self.board.ticks_diff(self.board.ticks_ms(), self.started_ms),
            "overruns": self.overruns,
            "heap_peak_bytes": self.heap_peak_bytes,
            "heap_live_bytes": self.heap_live_bytes,
            "link": self.link.counters(),
        }

    def cmd_heartbeat(self, _type, _fields):
        return {"uptime_ms": self.board.ticks_diff(self.board.ticks_ms(), self.started_ms)}

    def cmd_echo(self, _type, fields):
        return fields

    def cmd_set_plan(self, _type, fields):
        if self.session.phase in session.RUNNING or self.session.phase == session.PAUSED:
            raise CommandError("bad_state", "type", "set_plan is not allowed while a session runs")
        self.plan.apply(fields)
        return self.plan.as_dict()

    def cmd_get_plan(self, _type, _fields):
        return self.plan.as_dict()

    def cmd_phase(self, msg_type, _fields):
        now = self.board.ticks_ms()
        self.session.command(msg_type, now)
        if msg_type == "start" or msg_type == "reset":
            self.fault = safety.OK
            self.heater.reset()
            self.pump.steps_at_start = self.board.pump_steps()
            self.patient_start_ml = 0.0
        if msg_type == "abort":
            self.board.heater_set(0)
            self.heater_w = 0.0
        # The first record of the new phase is the next one: the host follows from there.
        return {"phase": session.PHASE_NAMES[self.session.phase], "telemetry_next": self.telemetry.next_seq}

    def cmd_telemetry_pull(self, _type, fields):
        since = fields.get("since", 0)
        count = fields.get("max", PULL_MAX_RECORDS)
        if not isinstance(since, int) or isinstance(since, bool) or since < 0:
            raise CommandError(BAD_FIELD, "since", "since must be an integer >= 0")
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= PULL_MAX_RECORDS:
            raise CommandError(BAD_FIELD, "max", "max must be an integer 1..%d" % PULL_MAX_RECORDS)
        ring = self.telemetry
        return {
            "records": ring.since(since, count),
            "oldest": ring.oldest_seq(),
            "next": ring.next_seq,
        }


def run(board):
    Controller(board).run()
