"""The controller's front door: every request that changes the therapy (start, pause, resume, stop,
abort, reset, acknowledge, plan, configuration, flow, vitals, the way back to the REPL) as one method
holding the whole rule of that request. commands.py checks a message's fields and calls exactly one
of these; nothing else changes the session from outside the control tick.

FrontDoor is the half of app.Controller that the link drives; it uses the parts the controller owns.
"""
from controller import interlock, session, settings
from controller.autotune import FAILED
from controller.errors import CommandError, BAD_STATE
from controller.tables import N_ALARMS, WATCHDOG_RESET, ALARM_RULES, RULE_NAME


class FrontDoor:
    def finish_tune(self):
        """Store the settings a finished relay experiment derived; the loop restarts on them."""
        tuner = self.tuner
        result = tuner.finish(self.config.gain_ref_flow_ml_min)
        if result is None:
            return
        try:
            self.config.apply(result["proposed"])
        except CommandError as exc:
            tuner.state = FAILED
            tuner.message = "derived settings refused: " + exc.message
            return
        self.save_settings()
        self.heater.reset()

    def save_settings(self):
        settings.save(self.board, self.config)
        self.settings_status = "saved"

    def start(self):
        if self.pump.calibrating:
            raise CommandError(BAD_STATE, "type", "start is not allowed while the pump calibration runs")
        self.session.command("start", self.board.ticks_ms())
        self._fresh_session()

    def pause(self):
        self.session.command("pause", self.board.ticks_ms())

    def resume(self):
        blocking = self.alarms.resume_blockers()
        if blocking:
            raise CommandError(BAD_STATE, "type",
                               "resume is not allowed while these alarms are active: %s (acknowledge "
                               "each once its cause is gone)" % ", ".join(blocking))
        self.session.command("resume", self.board.ticks_ms())

    def stop(self):
        self.session.command("stop", self.board.ticks_ms())

    def abort(self):
        """Abort ends heating at once, not at the next tick."""
        self.session.command("abort", self.board.ticks_ms())
        self.heater_w = 0.0
        self.asked.heater_pm = 0
        interlock.drive(self.board, self.asked, self.reactions)

    def reset(self):
        self.session.command("reset", self.board.ticks_ms())
        self._fresh_session()

    def _fresh_session(self):
        self.fault_alarm = -1
        self.heater.reset()
        self.pump.steps_at_start = self.board.pump_steps()
        self.patient_start_ml = 0.0

    def acknowledge(self, i):
        """Acknowledge alarm i (or every active one with -1); returns the names still active."""
        a = self.alarms
        now = self.uptime_ms(self.board.ticks_ms())
        if i >= 0 and not a.active[i]:
            raise CommandError(BAD_STATE, "alarm", "alarm %s is not active" % ALARM_RULES[i][RULE_NAME])
        for n in range(N_ALARMS):
            if (n == i or i < 0) and a.active[n]:
                if n == WATCHDOG_RESET:
                    self.inputs.reset_by_watchdog = False  # acknowledging it is its only clearing cause
                    a.condition_gone(n)
                a.acknowledge(n, now)
        return a.active_names()

    def require(self, request):
        """Refuse a request in a phase tables.REQUESTS does not allow it in."""
        session.require(request, self.session.phase)

    def set_plan(self, changes):
        self.require("set_plan")
        self.plan.apply(changes)

    def set_config(self, changes):
        self.require("set_config")
        self.config.apply(changes)
        self.save_settings()

    def set_flow(self, flow_ml_min):
        """The operator changes the flow, also during a session; a running pump ramps to it."""
        self.plan.apply({"flow_ml_min": flow_ml_min})

    def set_vitals(self, core_temp_c, heart_rate_bpm):
        """Patient values the host has (operator entry or a monitor): the supervisor alarms on them."""
        self.inputs.core_temp_c = core_temp_c
        self.inputs.heart_rate_bpm = heart_rate_bpm

    def enter_repl(self):
        self.require("enter_repl")
        self.repl_requested = True
