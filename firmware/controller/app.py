"""The controller: the fixed-rate control loop; its front door (frontdoor.py) carries out the requests
that change the therapy.

Each tick: sense (probes and the supervisor's inputs), let the supervisor judge every alarm condition,
hold the session where the active alarms say so, advance the session, compute what control wants of
the heater and pump, let the interlock write the outputs with the alarms' reactions applied, record
telemetry; then events, garbage collection, and only then the watchdog. Between ticks the link is
serviced: commands.py checks each request's fields and calls one method of the front door, which holds
the whole rule of that request. Nothing received from the link can raise out of run().
"""
from micropython import const
import gc

from controller import autotune, cascade, eventlog, heater, heater_output, inputs, interlock, probes, safety, \
    session, settings, telemetry
from controller.bootguard import BootGuard
from controller.alarms import Alarms
from controller.commands import Commands
from controller.config import Config
from controller.eventlog import EventLog
from controller.frontdoor import FrontDoor
from controller.line_delay import LineDelay
from controller.perf import Perf, order_modules
from controller.plan import Plan
from controller.protocol import Link
from controller.pump import Pump
from controller.tables import FAULT_HOLD, PAUSE_HOLD, HEATER_OFF, PUMP_STOP, BYPASS, ALARM_NAMES, TICK_MS, OVER_TEMPERATURE

# Watchdog timeout: several ticks, so one slow tick is tolerated but a hung loop is not.
_WATCHDOG_TIMEOUT_MS = const(2000)
# The board pushes a heartbeat event this often, so the host can tell a silent board from a quiet one.
_HEARTBEAT_EVENT_MS = const(1000)
# Safe mode holds every output off whatever a session or a calibration asks (bootguard.py).
SAFE_MODE_REACTIONS = HEATER_OFF | PUMP_STOP | BYPASS
# Heap a control tick may allocate on the chips (floats are heap objects on MicroPython, a 16-byte block
# each): perf.COLLECT_TICKS ticks' worth waits for a collection, 36 KB, well within the 93 KB an RP2040
# has free after boot; the high-water mark that leaves is measured on the emulated chip (73 % of the
# heap, target 75 %: benchmarks.md). The tests count a heated tick with every estimator at work in blocks
# on the 64-bit test interpreters, where it takes more of them than on the chip
# (tests/firmware/fw_tick_budget.py).
TICK_ALLOC_BUDGET_BYTES = 12288


class Controller:
    def __init__(self, board, ring_records=telemetry.RING_RECORDS):
        gc.collect()  # the compiler's garbage from importing us, before the long-lived buffers
        # The objects holding the largest blocks first, while the heap left by the import still has
        # blocks of their size: the configuration (its table of fifty settings), the link's frame
        # buffers, the predictor's history, the tick histograms, then the telemetry ring's chunks.
        # Made after the small objects and the stored settings' decoding have broken those blocks up,
        # they find none (the board then fails to boot: tests/e2e/test_emulator.py boots it with a
        # stored record, 2 KiB below its heap).
        self.board = board
        # The plain state first: the controller's own table of attributes grows to most of its size
        # while the heap still has blocks for it.
        self.fault_alarm = -1  # the alarm that put the session into FAULT
        self.heater_w = 0.0
        self.setpoint_c = 0.0   # the inflow setpoint (the target, or the cascade's demand)
        self.target_c = 0.0     # the plan's target while heating, else 0
        self.controlled_c = 0.0  # the temperature judged against the target: inflow, or cavity mean
        self.in_band = False    # the controlled value in the band, as the treatment timer counts it
        self.filling = False    # a cascade plan's abdomen fills: the inflow is held at the target meanwhile
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
        self.config = Config()
        self.link = Link(board, None)
        self.line = LineDelay()  # the inflow line's transit as the probes show it
        self.heater = heater.HeaterController(self.config, self.line)
        self.perf = Perf()
        self.telemetry = telemetry.TelemetryRing(ring_records)
        self.guard = BootGuard(board)
        if self.guard.safe_mode:
            self.settings_status = "not applied: safe mode"
        else:
            self.settings_status = settings.load(board, self.config, self.link.payload)
            gc.collect()  # the record's decoding, before the objects that live for good fill its holes
        settings.arm_cutout(board, self.config)
        self.plan = Plan()
        self.probes = probes.Probes(self.config)
        self.heater_output = heater_output.HeaterOutput(self.config)
        self.cascade = cascade.CavityController(self.config)
        self.tuner = autotune.RelayTune(self.config)
        self.pump = Pump(board, self.config)
        self.session = session.Session()
        self.alarms = Alarms()
        self.supervisor = safety.Supervisor(self.config, self.alarms)
        self.supervisor.last_steps = board.pump_steps()
        self.inputs = inputs.Inputs()
        self.inputs.reset_by_watchdog = board.reset_cause() == "watchdog"
        self.asked = interlock.Outputs()
        # Sequence numbers restart at every boot; (boot_id, seq) names a record for good.
        self.boot_id = board.boot_id()
        self.board_id = board.unique_id()  # the host never merges another board's records
        self.events = EventLog(self.boot_id)
        self.door = FrontDoor(self)
        self.commands = Commands(self)
        self.link.handler = self.commands
        self.link.after_message = self.perf.collect

    # ------------------------------------------------------------ loop

    def run(self):
        board = self.board
        interlock.safe(board, self.asked)
        board.wdt_start(_WATCHDOG_TIMEOUT_MS)
        order_modules()
        gc.collect()  # the compiler's garbage from boot; the peak is tracked from the first tick on
        next_tick = board.ticks_ms()
        while not self.repl_requested:
            board.idle(next_tick)
            # Replies allocate: the link collects after each one (perf.collect), rather than let a
            # full heap collect during control.
            self.link.service()
            now = board.ticks_ms()
            if board.ticks_diff(now, next_tick) < 0:
                continue
            perf = self.perf
            started_us = board.cpu_us()
            alloc_before = perf.heap_used()
            self.tick(now, TICK_MS)
            tick_us = board.cpu_us_diff(board.cpu_us(), started_us)
            alloc = perf.heap_used() - alloc_before
            next_tick = board.ticks_add(next_tick, TICK_MS)
            if board.ticks_diff(now, next_tick) >= 0:
                self.overruns += 1
                next_tick = board.ticks_add(now, TICK_MS)
            self.after_tick(now)
            gc_started_us = board.cpu_us()
            perf.collect()
            perf.add(tick_us, board.cpu_us_diff(board.cpu_us(), gc_started_us), alloc)
            board.wdt_feed()
        interlock.safe(board, self.asked)  # enter_repl: the link goes back to the REPL with every output off

    def uptime_ms(self, now):
        return self.board.ticks_diff(now, self.started_ms)

    def session_running(self):
        phase = self.session.phase
        return phase in session.RUNNING or phase == session.PAUSED

    def treatment_phase_ms(self):
        if self.session.phase != session.TREATMENT:
            return 0
        return self.board.ticks_diff(self.now_ms, self.session.phase_since_ms)

    def link_silent_ms(self):
        last = self.link.last_request_ms
        if last is None:
            return self.uptime_ms(self.now_ms)
        return self.board.ticks_diff(self.now_ms, last)

    # ------------------------------------------------------------ one control step

    def tick(self, now, dt_ms):
        dt_s = dt_ms / 1000.0
        sess = self.session
        cfg = self.config
        self.now_ms = now
        inputs.sense(self, dt_s)
        temps = self.probes.temp_c

        # Supervision first: the active alarms' reactions override everything below, in this same tick.
        self.supervisor.check(self.probes, self.inputs, dt_ms)
        reactions = self.alarms.update(self.uptime_ms(now), dt_ms, cfg)
        if self.board.cutout.tripped and not self.alarms.active[OVER_TEMPERATURE]:
            self.board.cutout.release()  # over_temperature acknowledged and gone: the cut-out may let go
        if self.guard.safe_mode:
            reactions |= SAFE_MODE_REACTIONS
        if reactions & FAULT_HOLD and self.session_running() and sess.phase != session.FAULT:
            self.fault_alarm = self.alarms.first_active(FAULT_HOLD)
            sess.hold(session.FAULT, now, self.fault_alarm)
        elif reactions & PAUSE_HOLD and sess.phase in session.HEATED:
            # Only a phase that heats is held: COOLDOWN and DRAIN already run without heat, and a session the
            # returning operator stopped must go on to cool and drain, the alarm not yet acknowledged.
            sess.hold(session.PAUSED, now)
            sess.heat_held = True  # heating again takes the operator's resume, not only an acknowledgement

        # Session transitions, judged on the controlled point.
        plan = self.plan
        target = plan.target_temp_c
        if target > safety.ABS_MAX_SETPOINT_C:
            target = safety.ABS_MAX_SETPOINT_C
        cavity_plan = plan.controlled_point == "abdominal"
        cavity_c = self.probes.cavity_c() if cavity_plan else 0.0  # (float work only where it is used)
        # A cascade plan is judged on the cavity whenever fluid goes into the abdomen. The outer loop
        # takes over once the abdomen is filled: while it fills, the cavity probes read the first fluid to
        # reach them and a small, fast-changing volume, so the inflow is held at the target.
        judge_cavity = cavity_plan and cavity_c > 0.0 and self.perfusing_phase(sess.phase)
        self.cascade_active = judge_cavity and self.abdomen_filled
        self.filling = judge_cavity and not self.abdomen_filled
        if judge_cavity:
            controlled = cavity_c
            controlled_ok = True
        else:
            controlled = temps[probes.INFLOW]
            controlled_ok = self.probes.valid[probes.INFLOW] != 0
        tuning = self.tuner.state == autotune.RUNNING
        # While the autotune runs, priming holds: the relay keeps the inflow off the band on purpose.
        # Nor while a flush sends the fluid to the reservoir (pump.py): it treats no one.
        in_band = controlled_ok and -cfg.band_c <= controlled - target <= cfg.band_c and not tuning \
            and not self.pump.flushing
        self.in_band = in_band
        delivered = self.pump.delivered_ml()
        if sess.phase == session.PRIMING:
            self.patient_start_ml = delivered  # the abdomen fills from the moment HEATING begins
        filled = delivered - self.patient_start_ml >= plan.volume_l * 1000.0 - cfg.circuit_prime_l * 1000.0
        self.abdomen_filled = filled and sess.phase != session.PRIMING
        cooled = temps[probes.INFLOW] <= cfg.cooldown_end_c
        sess.advance(now, dt_ms, in_band, filled, cooled, self.board.ticks_diff, cfg, int(self.inputs.duration_ms))
        self.control(sess.phase, reactions, target, controlled, cavity_c, tuning, dt_ms, dt_s)

        self.since_telemetry_ms += dt_ms
        if self.since_telemetry_ms >= cfg.telemetry_period_ms:
            self.since_telemetry_ms = 0
            telemetry.record(self, self.uptime_ms(now))
            self.stream_pending = cfg.telemetry_stream != 0

    def control(self, phase, reactions, target, controlled, cavity_c, tuning, dt_ms, dt_s):
        """What control wants of the heater, pump and valve this tick; the interlock writes it."""
        cfg = self.config
        temps = self.probes.temp_c
        pump = self.pump
        asked = self.asked
        heated = phase in session.HEATED and not reactions & HEATER_OFF and not self.session.heat_held
        circulating = (phase in session.RUNNING or phase == session.PAUSED or phase == session.FAULT) \
            and not reactions & PUMP_STOP
        self.patient_start_ml += pump.flush(cfg.heater_volume_ml + self.line.flush_ml(cfg.inflow_line_ml),
                                            self._slug_hot(target), dt_s)
        self.bypass_open = not self.perfusing_phase(phase) or (reactions & BYPASS) != 0 or pump.flushing
        flow = self.plan.flow_ml_min if circulating else 0.0
        if pump.calibrating:
            flow = pump.calibration_tick(phase == session.IDLE and not reactions & PUMP_STOP)
        pump.set_flow(flow)
        if heated:
            self.target_c = target
            self.controlled_c = controlled
            if self.cascade_active:
                self.setpoint_c = self.cascade.update(target, cavity_c, dt_s)
            else:
                self.cascade.reset()
                self.setpoint_c = target
            if tuning and phase == session.PRIMING:
                base_w = self.heater.feed_forward_w(target, temps[probes.RESERVOIR], pump.flow_ml_min)
                relay_w = self.tuner.update(temps[probes.INFLOW], self.probes.raw_c[probes.INFLOW], base_w,
                                           pump.flow_ml_min, dt_ms)
                self.heater_w = self.heater.drive(relay_w, dt_s)
            else:
                if tuning:
                    self.tuner.cancel("the session left PRIMING")
                outlet = temps[probes.HEATER_OUTLET] if self.probes.valid[probes.HEATER_OUTLET] else None
                self.heater.outlet_noise_c = self.supervisor.runaway.noise_c()
                self.heater.element_lag_s = self.supervisor.runaway.element_lag_s()
                self.heater.outlet_lead_s = self.supervisor.runaway.slower_lag_s(pump.flow_ml_min)
                self.heater_w = self.heater.update(self.setpoint_c, temps[probes.INFLOW], temps[probes.RESERVOIR],
                                                   pump.flow_ml_min, dt_s, outlet)
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
        asked.heater_relay = heated
        asked.heater_pm = self.heater_output.duty_pm(self.heater_w, dt_ms)
        self.heater.applied(self.heater_output.average_pm(asked.heater_pm) * cfg.heater_rated_w / 1000.0
                            if heated else 0.0, dt_s)
        asked.bypass_open = self.bypass_open
        if reactions & PUMP_STOP:
            pump.stop()
        else:
            pump.tick(dt_s)
        if cfg.flow_sensor_fitted:
            pump.sense(self.board.flow_sensor_ma(), dt_s)
        asked.pump_msps = pump.msps
        interlock.drive(self.board, asked, reactions)

    def _slug_hot(self, target_c):
        """The fluid reaching the bypass reads hotter than the patient may get (pump.py's flush): either inflow
        probe above the inflow alarm's limit, or the exchanger outlet above the highest setpoint."""
        p = self.probes
        limit = (safety.ABS_MAX_SETPOINT_C if self.cascade_active else target_c) + self.config.alarm_band_c
        for i in (probes.INFLOW, probes.INFLOW_2):
            if p.valid[i] and p.raw_c[i] > limit:
                return True
        return p.valid[probes.HEATER_OUTLET] != 0 and p.raw_c[probes.HEATER_OUTLET] > safety.ABS_MAX_SETPOINT_C

    def perfusing_phase(self, phase):
        """Fluid goes into the abdomen in this phase (or would, once a pause or fault is resumed)."""
        return phase in session.PERFUSING or (
            (phase == session.PAUSED or phase == session.FAULT) and self.session.resume_to in session.PERFUSING)

    def fault_name(self):
        if self.session.phase != session.FAULT or self.fault_alarm < 0:
            return "none"
        return ALARM_NAMES[self.fault_alarm]

    def after_tick(self, now):
        """Work that may allocate, kept out of the control computation: events for the host, the
        autotune's arithmetic."""
        sess = self.session
        self.guard.tick(self.uptime_ms(now))
        if self.tuner.state == autotune.DONE and self.tuner.result is None:
            autotune.take_result(self)
        eventlog.log_changes(self.alarms, sess, self.events, self.link, self.uptime_ms)
        if self.stream_pending:
            self.stream_pending = False
            self.link.event("telemetry", {"record": self.telemetry.latest(), "boot_id": self.boot_id})
        self.since_heartbeat_ms += TICK_MS
        if self.since_heartbeat_ms >= _HEARTBEAT_EVENT_MS:
            self.since_heartbeat_ms = 0
            eventlog.heartbeat(self.link, self.events, self.uptime_ms(now), sess.phase, self.link_ok)
        if self.link_was_ok and not self.link_ok:
            self.link_losses += 1
        self.link_was_ok = self.link_ok


def run(board):
    Controller(board).run()
