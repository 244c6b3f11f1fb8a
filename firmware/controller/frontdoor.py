"""The controller's front door: every request that changes the therapy (start, pause, resume, stop,
abort, reset, acknowledge, plan, configuration, flow, vitals, the way back to the REPL), one method
each, holding the whole rule of that request. commands.py checks a message's fields and calls exactly
one of these; nothing else changes the session from outside the control tick.

Safe mode (bootguard.py) refuses every request that would drive an output.

The controller owns one FrontDoor and hands it itself; the methods act on the controller's parts.
"""
from micropython import const
from controller import fields, interlock, session, settings
from controller.loop import LOOP_MIN_MA
from controller.errors import CommandError, BAD_STATE, NOT_READY
from controller.autotune import RUNNING
from controller.safety import ABS_MAX_SETPOINT_C
from controller.tables import N_ALARMS, WATCHDOG_RESET, ALARM_NAMES, INFLOW, HEATER_OUTLET

# The autotune starts only this close to the target: its relay swings the inflow around it on purpose.
_TUNE_READY_C = const(0.2)


class FrontDoor:
    def __init__(self, controller):
        self.ctl = controller

    def _now(self):
        return self.ctl.board.ticks_ms()

    def require(self, request):
        """Refuse a request in a phase tables.REQUESTS does not allow it in."""
        session.require(request, self.ctl.session.phase)

    def refuse_in_safe_mode(self, request):
        guard = self.ctl.guard
        if guard.safe_mode:
            raise CommandError(BAD_STATE, "type",
                               "%s is refused in safe mode (%d watchdog resets in a row; stored settings not "
                               "applied): leave_safe_mode ends it" % (request, guard.resets))

    def leave_safe_mode(self):
        """The host ends safe mode: the count restarts and the stored settings are loaded again."""
        ctl = self.ctl
        self.require("leave_safe_mode")
        if not ctl.guard.safe_mode:
            raise CommandError(BAD_STATE, "type", "the board is not in safe mode")
        ctl.guard.leave()
        ctl.settings_status = settings.load(ctl.board, ctl.config, ctl.link.payload)
        settings.arm_cutout(ctl.board, ctl.config)
        return ctl.settings_status

    def start(self):
        ctl = self.ctl
        self.refuse_in_safe_mode("start")
        if ctl.pump.calibrating:
            raise CommandError(BAD_STATE, "type", "start is not allowed while the pump calibration runs")
        self.require("start")
        # Fluid left standing in the exchanger when the pump stopped (a reset, a power loss) goes on
        # warming from the element's stored heat for about twenty seconds (43.3 to 45.5 degC after a
        # power loss in treatment on the default circuit); pumped while it warms, the slug passes the
        # outlet probe at the cut-off. Once it reads above the highest setpoint the start waits until it
        # reads below it again, the element's heat spent (about 95 s after that power loss).
        p = ctl.probes
        if p.valid[HEATER_OUTLET] and p.raw_c[HEATER_OUTLET] > ABS_MAX_SETPOINT_C:
            raise CommandError(NOT_READY, "heater_outlet",
                               "start waits for the fluid standing in the heat exchanger to cool: its outlet "
                               "reads %.1f degC, above the highest setpoint (%.1f degC)"
                               % (p.raw_c[HEATER_OUTLET], ABS_MAX_SETPOINT_C))
        self._refuse_while_blocked("start")
        ctl.session.command("start", self._now())
        self._fresh_session()

    def pause(self):
        self.ctl.session.command("pause", self._now())

    def _refuse_while_blocked(self, request):
        """A session started or resumed under an alarm that holds sessions would be held at once."""
        blocking = self.ctl.alarms.resume_blockers()
        if blocking:
            raise CommandError(BAD_STATE, "type",
                               "%s is not allowed while these alarms are active: %s (acknowledge "
                               "each once its cause is gone)" % (request, ", ".join(blocking)))

    def resume(self):
        self._refuse_while_blocked("resume")
        ctl = self.ctl
        sess = ctl.session
        # A treatment held out of its band (the fluid cooled while the heater was off) comes back through
        # HEATING: the fluid is heated back up as heating, not judged as a treatment far off its target
        # (temp_low, a record's deviation), and TREATMENT resumes once the controlled value is in band.
        if sess.resume_to == session.TREATMENT and not ctl.in_band:
            sess.resume_to = session.HEATING
        sess.command("resume", self._now())

    def stop(self):
        self.ctl.session.command("stop", self._now())

    def abort(self):
        """Abort ends heating at once, not at the next tick."""
        ctl = self.ctl
        ctl.session.command("abort", self._now())
        ctl.heater_w = 0.0
        ctl.asked.heater_pm = 0
        interlock.drive(ctl.board, ctl.asked, ctl.alarms.reactions)

    def reset(self):
        self.ctl.session.command("reset", self._now())
        self._fresh_session()

    def _fresh_session(self):
        ctl = self.ctl
        ctl.fault_alarm = -1
        # Patient values belong to the session they were entered in: a new one starts with none, so a
        # value entered for the last one (a slip among them) cannot hold the next.
        ctl.door.set_vitals(0.0, 0)
        ctl.heater.reset()
        ctl.line.forget()  # the circuit may not be the one learnt
        ctl.heater.fit.forget()
        ctl.pump.restart_count()
        ctl.patient_start_ml = 0.0

    def acknowledge(self, i):
        """Acknowledge alarm i (or every active one with -1); returns the names still active."""
        ctl = self.ctl
        a = ctl.alarms
        now = ctl.uptime_ms(self._now())
        if i >= 0 and not a.active[i]:
            raise CommandError(BAD_STATE, "alarm", "alarm %s is not active" % ALARM_NAMES[i])
        for n in range(N_ALARMS):
            if (n == i or i < 0) and a.active[n]:
                if n == WATCHDOG_RESET:
                    ctl.inputs.reset_by_watchdog = False  # acknowledging it is its only clearing cause
                    a.condition_gone(n)
                a.acknowledge(n, now)
        return a.active_names()

    def set_plan(self, changes):
        self.require("set_plan")
        self.ctl.plan.apply(changes)  # the plan checks every field before it changes any

    def set_config(self, changes):
        self.require("set_config")
        # A loop input said to be fitted must have its transmitter on the loop: otherwise the configuration
        # would say closed loop (the flow) or protected (the heater's current) while nothing is read.
        board = self.ctl.board
        if changes.get("flow_sensor_fitted") == 1:
            _refuse_without_loop("flow_sensor_fitted", "flow sensor", "sensor", board.flow_sensor_ma())
        if changes.get("heater_current_fitted") == 1:
            _refuse_without_loop("heater_current_fitted", "heater current", "transducer",
                                 board.heater_current_ma())
        self.ctl.config.apply(changes)  # likewise, all or nothing
        settings.store(self.ctl)

    def set_flow(self, flow_ml_min):
        """The operator changes the flow, also during a session; a running pump ramps to it."""
        self.ctl.plan.apply({"flow_ml_min": flow_ml_min})

    def set_vitals(self, core_temp_c, heart_rate_bpm, core_given=True, heart_rate_given=True):
        """Patient values the host has (operator entry or a monitor): the supervisor alarms on them. A value
        given now starts its age again; one not given keeps its age (it expires on its own time)."""
        inputs = self.ctl.inputs
        inputs.core_temp_c = core_temp_c
        inputs.heart_rate_bpm = heart_rate_bpm
        if core_given:
            inputs.core_age_ms = 0
        if heart_rate_given:
            inputs.heart_rate_age_ms = 0

    def calibrate_pump(self, revolutions):
        """Start a tubing calibration run: at rest, like any change of the settings."""
        session.require("pump_calibrate", self.ctl.session.phase, session.AT_REST)
        self.refuse_in_safe_mode("pump_calibrate")
        self.ctl.pump.start_calibration(revolutions)

    def finish_pump_calibration(self, measured_ml):
        """The volume the operator measured after a run: the tubing's mL/rev, stored."""
        pump = self.ctl.pump
        if pump.calibrating or pump.calibration_revolutions == 0.0:
            raise CommandError(BAD_STATE, "measured_ml",
                               "measured_ml needs a finished calibration run (send revolutions first)")
        pump.finish_calibration(measured_ml)
        settings.store(self.ctl)

    def tune_start(self, amplitude_w, cycles, hysteresis_c):
        """The relay autotune: PRIMING only (no patient in the circuit), with the inflow near the target."""
        ctl = self.ctl
        self.require("tune_start")
        if ctl.tuner.state == RUNNING:
            raise CommandError(BAD_STATE, "type", "the autotune is already running")
        target = ctl.target_c
        inflow = ctl.probes.temp_c[INFLOW]
        if target <= 0.0 or not -_TUNE_READY_C <= inflow - target <= _TUNE_READY_C:
            raise CommandError(BAD_STATE, "type",
                               "tune_start needs the inflow within %s degC of the target (now %.2f, target %.1f)"
                               % (_TUNE_READY_C, inflow, target))
        ctl.tuner.start(target, amplitude_w, cycles, hysteresis_c)

    def tune_cancel(self):
        self.ctl.tuner.cancel("cancelled by the operator")

    def enter_repl(self):
        self.require("enter_repl")
        self.ctl.repl_requested = True


def _refuse_without_loop(name, what, device, loop_ma):
    if loop_ma < 0.0:  # the board's way of saying it has no such input (boards/interface.py)
        fields.refuse(name, "%s = 1 refused: this board has no %s input" % (name, what))
    if loop_ma < LOOP_MIN_MA:
        fields.refuse(name, "%s = 1 refused: the %s input reads %.1f mA (at least %.1f expected): no %s on "
                      "its loop" % (name, what, loop_ma, LOOP_MIN_MA, device))
