"""The controller application: the fixed-rate control loop.

Each tick: read the probes, let the supervisor judge every alarm condition, apply the reactions of
active alarms (heater off first), advance the session, compute the heater and pump outputs, drive them,
record telemetry, send events, collect garbage, and only then feed the watchdog. Between ticks the link
is serviced (commands.py answers the requests). Nothing received from the link can raise out of run().
"""
import gc
from array import array

from controller import (alarms, autotune, cascade, eventlog, heater, heater_output, probes, safety, session,
                        settings, telemetry)
from controller.commands import Commands
from controller.config import Config
from controller.errors import CommandError
from controller.plan import Plan
from controller.protocol import Link
from controller.pump import Pump

# Control period: 10 Hz is fast against the circuit's ~20 s line delay and slow for a microcontroller.
TICK_MS = 100
# Ring of records kept for a host that reconnects: 300 records = 5 min at the default 1 Hz (five times
# the link-loss grace period), 19 KiB; a larger ring left too little heap for a board that compiles
# the firmware from source.
TELEMETRY_RING_RECORDS = 300
# Watchdog timeout: several ticks, so one slow tick is tolerated but a hung loop is not.
WATCHDOG_TIMEOUT_MS = 2000
# The host is considered gone after this long without a valid request (it heartbeats every 1 s).
LINK_TIMEOUT_MS = 5000
# The board pushes a heartbeat event this often, so the host can tell a silent board from a quiet one.
HEARTBEAT_EVENT_MS = 1000
# Heap a control tick may allocate (floats are heap objects on MicroPython): it is collected at the
# end of every tick, so this bounds the garbage, not the heap's high-water mark.
TICK_ALLOC_BUDGET_BYTES = 8192

FLAG_BYPASS_OPEN = 1
FLAG_HEATER_ON = 2
FLAG_FAULT = 4
FLAG_HIGH_ALARM = 8


class Controller:
    def __init__(self, board, ring_records=TELEMETRY_RING_RECORDS):
        gc.collect()  # the compiler's garbage from importing us, before the long-lived buffers
        self.board = board
        self.config = Config()
        self.settings_status = settings.load(board, self.config)
        self.plan = Plan()
        self.probes = probes.Probes(self.config)
        self.heater = heater.HeaterController(self.config)
        self.heater_output = heater_output.HeaterOutput(self.config)
        self.cascade = cascade.CavityController(self.config)
        self.tuner = autotune.RelayTune(self.config)
        self.pump = Pump(board, self.config)
        self.session = session.Session()
        self.alarms = alarms.Alarms()
        self.supervisor = safety.Supervisor(self.config, self.alarms)
        self.supervisor.last_steps = board.pump_steps()
        self.supervisor.reset_by_watchdog = board.reset_cause() == "watchdog"
        # Sequence numbers restart at every boot; (boot_id, seq) names a record for good.
        self.boot_id = board.boot_id()
        self.telemetry = telemetry.TelemetryRing(ring_records)
        self.events = eventlog.EventLog()
        self.commands = Commands(self)
        self.link = Link(board, self.commands, self.collect_garbage)
        self.reactions = 0
        self.fault_alarm = -1  # the alarm that put the session into FAULT
        self.heater_w = 0.0
        self.setpoint_c = 0.0   # the inflow setpoint (the target, or the cascade's demand)
        self.target_c = 0.0     # the plan's target while heating, else 0
        self.controlled_c = 0.0  # the temperature judged against the target: inflow, or cavity mean
        self.cascade_active = False
        self.abdomen_filled = False
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
        self.overruns = 0
        self.now_ms = board.ticks_ms()
        self.started_ms = self.now_ms
        # Heap figures (MicroPython only): the peak before each collection and what survives it.
        self.mem_alloc = getattr(gc, "mem_alloc", None)
        self.heap_peak_bytes = 0
        self.heap_live_bytes = 0
        self.perf = Perf()

    # ------------------------------------------------------------ loop

    def run(self):
        board = self.board
        self.make_safe()
        board.wdt_start(WATCHDOG_TIMEOUT_MS)
        gc.collect()  # the compiler's garbage from boot; the peak is tracked from the first tick on
        next_tick = board.ticks_ms()
        while not self.repl_requested:
            board.idle(next_tick)
            # Replies allocate: the link collects after each one (collect_garbage), rather than let a
            # full heap collect during control.
            self.link.service()
            now = board.ticks_ms()
            if board.ticks_diff(now, next_tick) < 0:
                continue
            perf = self.perf
            started_us = board.cpu_us()
            alloc_before = self.mem_alloc() if self.mem_alloc is not None else 0
            self.tick(now, TICK_MS)
            tick_us = board.cpu_us_diff(board.cpu_us(), started_us)
            alloc = self.mem_alloc() - alloc_before if self.mem_alloc is not None else 0
            next_tick = board.ticks_add(next_tick, TICK_MS)
            if board.ticks_diff(now, next_tick) >= 0:
                self.overruns += 1
                next_tick = board.ticks_add(now, TICK_MS)
            self.after_tick(now)
            gc_started_us = board.cpu_us()
            self.collect_garbage()
            perf.add(tick_us, board.cpu_us_diff(board.cpu_us(), gc_started_us), alloc)
            board.wdt_feed()
        self.make_safe()  # enter_repl: the link goes back to the REPL with every output off

    def collect_garbage(self):
        """Collect at the same point of every tick (and after every reply), so collection never
        interrupts the control step. Only MicroPython's heap needs it: CPython, which runs the same
        code in tests and benchmarks, frees by reference counting and has no heap cap."""
        mem_alloc = self.mem_alloc
        if mem_alloc is None:
            return
        used = mem_alloc()
        if used > self.heap_peak_bytes:
            self.heap_peak_bytes = used
        gc.collect()
        self.heap_live_bytes = mem_alloc()

    def make_safe(self):
        self.board.heater_set(0)
        self.board.heater_enable(False)
        self.board.pump_set(0)
        self.board.bypass_set(True)

    # ------------------------------------------------------------ what the supervisor asks

    def uptime_ms(self, now):
        return self.board.ticks_diff(now, self.started_ms)

    def session_running(self):
        phase = self.session.phase
        return phase in session.RUNNING or phase == session.PAUSED

    def session_in_treatment(self):
        return self.session.phase == session.TREATMENT

    def treatment_phase_ms(self):
        if self.session.phase != session.TREATMENT:
            return 0
        return self.board.ticks_diff(self.now_ms, self.session.phase_since_ms)

    def perfusing(self):
        return not self.bypass_open and self.pump.flow_ml_min > 0.0

    def link_silent_ms(self):
        last = self.link.last_request_ms
        if last is None:
            return self.uptime_ms(self.now_ms)
        return self.board.ticks_diff(self.now_ms, last)

    # ------------------------------------------------------------ one control step

    def tick(self, now, dt_ms):
        board = self.board
        dt_s = dt_ms / 1000.0
        sess = self.session
        cfg = self.config
        self.now_ms = now
        self.link_ok = self.link_silent_ms() < LINK_TIMEOUT_MS
        board.read_rtd(self.probes.codes)
        self.probes.update(dt_s)
        temps = self.probes.temp_c

        # Supervision first: an alarm's reactions override everything below, in this same tick.
        self.supervisor.check(self, dt_ms)
        reactions = self.alarms.update(self.uptime_ms(now))
        self.reactions = reactions
        if reactions & alarms.HEATER_OFF:
            board.heater_set(0)
            board.heater_enable(False)  # the relay in series: cuts even a switch that failed closed
        if reactions & alarms.FAULT and self.session_running() and sess.phase != session.FAULT:
            self.fault_alarm = self._first_active(alarms.FAULT)
            sess.hold(session.FAULT, now)
        elif reactions & alarms.HOLD and sess.phase in session.RUNNING:
            sess.hold(session.PAUSED, now)

        # Session transitions, judged on the controlled point.
        plan = self.plan
        target = plan.target_temp_c
        if target > safety.ABS_MAX_SETPOINT_C:
            target = safety.ABS_MAX_SETPOINT_C
        cavity_plan = plan.controlled_point == "abdominal"
        cavity_c = self.cavity_c() if cavity_plan else 0.0  # (float work only where it is used)
        # A cascade plan is judged on the cavity whenever fluid goes into the abdomen. The outer loop
        # takes over once the abdomen is filled: while it fills, the cavity probes read the first fluid to
        # reach them and a small, fast-changing volume, so the inflow is held at the target.
        judge_cavity = cavity_plan and cavity_c > 0.0 and self._perfusing_phase(sess.phase)
        self.cascade_active = judge_cavity and self.abdomen_filled
        if judge_cavity:
            controlled = cavity_c
            controlled_ok = True
        else:
            controlled = temps[probes.INFLOW]
            controlled_ok = self.probes.valid[probes.INFLOW] != 0
        tuning = self.tuner.state == autotune.RUNNING
        # While the autotune runs, priming holds: the relay keeps the inflow off the band on purpose.
        in_band = controlled_ok and -cfg.band_c <= controlled - target <= cfg.band_c and not tuning
        delivered = self.pump.delivered_ml()
        if sess.phase == session.PRIMING:
            self.patient_start_ml = delivered  # the abdomen fills from the moment HEATING begins
        filled = delivered - self.patient_start_ml >= plan.volume_l * 1000.0 - cfg.circuit_prime_l * 1000.0
        self.abdomen_filled = filled and sess.phase != session.PRIMING
        cooled = temps[probes.INFLOW] <= cfg.cooldown_end_c
        sess.advance(now, dt_ms, in_band, filled, cooled, board.ticks_diff, cfg,
                     int(plan.duration_min * 60000.0))
        phase = sess.phase

        # Outputs.
        heated = phase in session.HEATED and not reactions & alarms.HEATER_OFF
        circulating = (phase in session.RUNNING or phase == session.PAUSED or phase == session.FAULT) \
            and not reactions & alarms.PUMP_STOP
        self.bypass_open = not self._perfusing_phase(phase) or (reactions & alarms.BYPASS) != 0
        flow = plan.flow_ml_min if circulating else 0.0
        if self.pump.calibrating:
            flow = self.pump.calibration_tick(phase == session.IDLE and not reactions & alarms.PUMP_STOP)
        self.pump.set_flow(flow)
        if heated:
            self.target_c = target
            self.controlled_c = controlled
            if self.cascade_active:
                self.setpoint_c = self.cascade.update(target, cavity_c, dt_s)
            else:
                self.cascade.reset()
                self.setpoint_c = target
            if tuning and phase == session.PRIMING:
                base_w = self.heater.feed_forward_w(target, temps[probes.RESERVOIR], self.pump.flow_ml_min)
                relay_w = self.tuner.update(temps[probes.INFLOW], base_w, self.pump.flow_ml_min, dt_ms)
                self.heater_w = self.heater.drive(relay_w, dt_s)
            else:
                if tuning:
                    self.tuner.cancel("the session left PRIMING")
                self.heater_w = self.heater.update(self.setpoint_c, temps[probes.INFLOW],
                                                   temps[probes.RESERVOIR], self.pump.flow_ml_min, dt_s)
        else:
            if tuning:
                self.tuner.cancel("the heater was switched off (phase or alarm)")
            self.setpoint_c = 0.0
            self.target_c = 0.0
            self.controlled_c = controlled
            self.cascade_active = False
            self.cascade.reset()
            self.heater.reset()
            self.heater_output.reset()
            self.heater_w = 0.0
        board.heater_enable(heated)
        duty_pm = self.heater_output.duty_pm(self.heater_w, dt_ms)
        board.heater_set(duty_pm)
        if heated:
            self.heater.applied(self.heater_output.average_pm(duty_pm) * cfg.heater_rated_w / 1000.0, dt_s)
        board.bypass_set(self.bypass_open)
        if reactions & alarms.PUMP_STOP:
            self.pump.stop()
        else:
            self.pump.tick(dt_s)

        # Telemetry.
        self.since_telemetry_ms += dt_ms
        if self.since_telemetry_ms >= cfg.telemetry_period_ms:
            self.since_telemetry_ms = 0
            self.record(now)
            self.stream_pending = cfg.telemetry_stream != 0

    def _perfusing_phase(self, phase):
        """Fluid goes into the abdomen in this phase (or would, once a pause or fault is resumed)."""
        return phase in session.PERFUSING or (
            (phase == session.PAUSED or phase == session.FAULT) and self.session.resume_to in session.PERFUSING)

    def cavity_c(self):
        """Mean of the abdominal probes that read, or 0.0 if none does."""
        p = self.probes
        total = 0.0
        n = 0
        for i in probes.ABDOMINAL:
            if p.fitted[i] and p.valid[i] and not p.failed[i]:
                total += p.temp_c[i]
                n += 1
        return total / n if n else 0.0

    def _first_active(self, reaction):
        for i in range(alarms.N_ALARMS):
            if self.alarms.active[i] and alarms.RULES[i][2] & reaction:
                return i
        return -1

    def fault_name(self):
        if self.session.phase != session.FAULT or self.fault_alarm < 0:
            return "none"
        return alarms.RULES[self.fault_alarm][0]

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
            flags |= FLAG_HEATER_ON
        if self.session.phase == session.FAULT:
            flags |= FLAG_FAULT
        if self.alarms.highest() == alarms.HIGH:
            flags |= FLAG_HIGH_ALARM
        row[telemetry.FLAGS] = flags
        row[telemetry.ALARMS] = self.alarms.bits()
        self.telemetry.commit()

    def after_tick(self, now):
        """Work that may allocate, kept out of the control computation: events for the host, the
        autotune's arithmetic."""
        sess = self.session
        if self.tuner.state == autotune.DONE and self.tuner.result is None:
            self.finish_tune()
        self.log_alarm_events()
        if sess.changed:
            sess.changed = False
            fault = self.fault_alarm + 1 if sess.phase == session.FAULT else 0
            seq = self.events.add(self.uptime_ms(now), eventlog.STATE, sess.phase, fault, 0.0)
            self.push_event(seq)
        if self.stream_pending:
            self.stream_pending = False
            self.link.event("telemetry", {"record": self.telemetry.latest()})
        self.since_heartbeat_ms += TICK_MS
        if self.since_heartbeat_ms >= HEARTBEAT_EVENT_MS:
            self.since_heartbeat_ms = 0
            self.link.event("heartbeat", {"uptime_ms": self.uptime_ms(now),
                                          "phase": session.PHASE_NAMES[sess.phase],
                                          "link_ok": self.link_ok,
                                          "event_next": self.events.next_seq})
        if self.link_was_ok and not self.link_ok:
            self.link_losses += 1
        self.link_was_ok = self.link_ok

    def finish_tune(self):
        """Store the settings a finished relay experiment derived; the loop restarts on them."""
        tuner = self.tuner
        result = tuner.finish(self.config.gain_ref_flow_ml_min)
        if result is None:
            return
        try:
            self.config.apply(result["proposed"])
        except CommandError as exc:
            tuner.state = autotune.FAILED
            tuner.message = "derived settings refused: " + exc.message
            return
        settings.save(self.board, self.config)
        self.settings_status = "saved"
        self.heater.reset()

    def log_alarm_events(self):
        """Move the alarms' queued changes into the event log and push each to the host."""
        a = self.alarms
        for n in range(a.queued):
            seq = self.events.add(a.queue_ms[n], eventlog.ALARM, a.queue_alarm[n], a.queue_kind[n],
                                  a.queue_value[n])
            self.push_event(seq)
        a.queued = 0

    def event_fields(self, seq):
        """An event log entry as the host sees it: pushed, and again in events_pull replies."""
        t_ms, kind, code, detail, value = self.events.entry(seq)
        if kind == eventlog.STATE:
            fault = alarms.RULES[detail - 1][0] if detail else "none"
            return "state", {"seq": seq, "t_ms": t_ms, "phase": session.PHASE_NAMES[code], "fault": fault}
        return "alarm", {"seq": seq, "t_ms": t_ms, "alarm": alarms.RULES[code][0],
                         "priority": alarms.PRIORITY_NAMES[alarms.RULES[code][1]],
                         "state": alarms.EVENT_NAMES[detail], "value": value}

    def push_event(self, seq):
        kind, fields = self.event_fields(seq)
        self.link.event(kind, fields)


class Perf:
    """What the control tick costs on this processor: histograms (50 us buckets) of the tick alone and
    of the tick plus its collection, the longest of each, and the most bytes one tick allocated. No
    allocation."""

    BUCKET_US = 50
    BUCKETS = 200  # the last bucket holds everything from 9.95 ms up

    def __init__(self):
        self.histogram = array("i", [0] * self.BUCKETS)
        self.with_gc = array("i", [0] * self.BUCKETS)
        self.ticks = 0
        self.tick_us_max = 0
        self.gc_us_max = 0
        self.alloc_bytes_max = 0

    def add(self, tick_us, gc_us, alloc_bytes):
        bucket = tick_us // self.BUCKET_US
        if bucket >= self.BUCKETS:
            bucket = self.BUCKETS - 1
        self.histogram[bucket] += 1
        bucket = (tick_us + gc_us) // self.BUCKET_US
        if bucket >= self.BUCKETS:
            bucket = self.BUCKETS - 1
        self.with_gc[bucket] += 1
        self.ticks += 1
        if tick_us > self.tick_us_max:
            self.tick_us_max = tick_us
        if gc_us > self.gc_us_max:
            self.gc_us_max = gc_us
        if alloc_bytes > self.alloc_bytes_max:
            self.alloc_bytes_max = alloc_bytes

    def percentile_us(self, histogram, share_pct):
        """Upper edge of the bucket holding this share of the ticks."""
        wanted = (self.ticks * share_pct + 99) // 100
        seen = 0
        for i in range(self.BUCKETS):
            seen += histogram[i]
            if seen >= wanted and self.ticks:
                return (i + 1) * self.BUCKET_US
        return 0

    def as_dict(self):
        return {"ticks": self.ticks,
                "tick_us_median": self.percentile_us(self.histogram, 50),
                "tick_us_p99": self.percentile_us(self.histogram, 99),
                "tick_us_max": self.tick_us_max,
                "tick_gc_us_median": self.percentile_us(self.with_gc, 50),
                "tick_gc_us_p99": self.percentile_us(self.with_gc, 99),
                "gc_us_max": self.gc_us_max, "alloc_bytes_per_tick_max": self.alloc_bytes_max}


def run(board):
    Controller(board).run()
