"""The requests the host may send: one handler each checks the message's fields and calls one method
of the controller's front door (frontdoor.py), which holds the rule; every reply's fields are built here.

A handler either returns the reply's fields or raises CommandError; the protocol layer turns either
into exactly one reply. Handlers check every field before anything changes.
"""
from micropython import const
from controller import autotune, eventlog, fields, probes, safety, session, telemetry
from controller.errors import CommandError, UNKNOWN_TYPE
from controller.tables import (PROTOCOL_VERSION, PHASE_COMMANDS, ALARM_NAMES, PHASE_NAMES, FLAG_NAMES, REQUESTS,
                               REQUEST_FIELDS, PULL_MAX_RECORDS, PULL_MAX_EVENTS)
from controller.alarms import rule_index

_FIRMWARE_VERSION = const("0.2.0")
VITALS_FIELDS = REQUEST_FIELDS["set_vitals"]
ALARM_CHOICES = ALARM_NAMES + ("all",)


class Commands:
    def __init__(self, controller):
        self.ctl = controller

    def handle(self, msg_type, args):
        # Every request of tables.REQUESTS has the handler of the same name; the phase commands share
        # one. Looked up per request rather than kept in a table: a table of bound methods would hold
        # about 1.4 KB of the heap for good.
        if msg_type not in REQUESTS:
            raise CommandError(UNKNOWN_TYPE, "type", "unknown message type '%s'" % msg_type)
        handler = self.phase_command if msg_type in PHASE_COMMANDS else getattr(self, msg_type)
        known = REQUEST_FIELDS.get(msg_type, ())
        if known is not None:
            for name in args:
                if name not in known:
                    fields.unknown(name, known)
        return handler(msg_type, args)

    def _now(self):
        return self.ctl.board.ticks_ms()

    def hello(self, _type, _args):
        ctl = self.ctl
        return {
            "firmware": _FIRMWARE_VERSION,
            "protocol": PROTOCOL_VERSION,
            "board": ctl.board.name,
            "board_id": ctl.board_id,
            "reset_cause": ctl.board.reset_cause(),
            "safe_mode": ctl.guard.report(),
            "boot_id": ctl.boot_id,
            "uptime_ms": ctl.uptime_ms(self._now()),
            "tick_ms": ctl.tick_ms,
            "telemetry_period_ms": ctl.config.telemetry_period_ms,
            "telemetry_ring_records": ctl.telemetry.capacity,
            "limits": {"max_setpoint_c": safety.ABS_MAX_SETPOINT_C, "cutoff_c": safety.ABS_CUTOFF_C,
                       "max_flow_ml_min": safety.ABS_MAX_FLOW_ML_MIN,
                       "core_critical_c": safety.ABS_CORE_CRITICAL_C},
        }

    def describe(self, _type, _args):
        """The board's tables, by name and in the order the wire's numbers refer to."""
        return {
            "telemetry_fields": list(telemetry.FIELDS),
            "phases": list(PHASE_NAMES),
            "alarms": list(ALARM_NAMES),
            "probes": list(probes.PROBE_NAMES),
            "flags": list(FLAG_NAMES),
        }

    def status(self, _type, _args):
        ctl = self.ctl
        p = ctl.probes
        temps = {}
        for i in range(probes.N_PROBES):
            temps[probes.PROBE_NAMES[i]] = p.temp_c[i] if p.valid[i] else None
        sess = ctl.session
        pump = ctl.pump
        return {
            "phase": session.PHASE_NAMES[sess.phase],
            "fault": ctl.fault_name(),
            "alarms": ctl.alarms.active_names(),
            "temps_c": temps,
            "setpoint_c": ctl.setpoint_c,
            "target_c": ctl.target_c,
            "settings": ctl.settings_status,
            "safe_mode": ctl.guard.report(),
            "controlled_c": ctl.controlled_c,
            "cascade": ctl.cascade_active,
            "heater_w": ctl.heater_w,
            "flow_ml_min": pump.flow_ml_min,
            "delivered_ml": pump.delivered_ml(),
            "pressure_mmhg": ctl.board.pressure_mmhg(),
            "reservoir_low": ctl.board.reservoir_low(),
            "air_in_line": ctl.board.air_in_line(),
            "bypass_open": ctl.bypass_open,
            "treatment_s": sess.treatment_ms // 1000,
            "duration_s": int(ctl.plan.duration_min * 60.0),
            "boot_id": ctl.boot_id,
            "event_next": ctl.events.next_seq,
            "telemetry_next": ctl.telemetry.next_seq,
            "telemetry_oldest": ctl.telemetry.oldest_seq(),
            "uptime_ms": ctl.uptime_ms(self._now()),
            "core_temp_c": ctl.inputs.core_temp_c or None,
            "heart_rate_bpm": ctl.inputs.heart_rate_bpm or None,
            "calibration": pump.calibration_status(),
        }

    def diagnostics(self, _type, _args):
        """The board's own figures, apart from status so that status stays small with every alarm
        active (its reply must always fit a frame: it is asked for most when things go wrong)."""
        ctl = self.ctl
        return {
            "uptime_ms": ctl.uptime_ms(self._now()),
            "overruns": ctl.overruns,
            "heap_peak_bytes": ctl.perf.heap_peak_bytes,
            "heap_live_bytes": ctl.perf.heap_live_bytes,
            "perf": ctl.perf.as_dict(),
            "link_losses": ctl.link_losses,
            "heat_balance_residual_c": ctl.supervisor.balance.residual_c,
            "heat_balance_used_max": ctl.supervisor.balance.used_max,
            "heat_balance_extra_loss_w_per_c": ctl.supervisor.balance.extra_loss_w_per_c,
            "cap_trim_w": ctl.heater.cap_trim_w,
            "flow_sensor_ml_min": ctl.pump.sensed_ml_min,
            "flow_trim": ctl.pump.trim,
            "heater_current_a": ctl.supervisor.current.current_a,
            "runaway_excess_c": ctl.supervisor.runaway.excess_c,
            "runaway_limit_c": ctl.supervisor.runaway.limit_c,
            "outlet_noise_c": ctl.supervisor.runaway.noise_c(),
            "element_lag_s": ctl.supervisor.runaway.element_lag_s(),
            "element_fit_s": ctl.heater.fit.lag_s if ctl.heater.fit.fitted else 0.0,
            "element_compensated_s": ctl.heater.element_tau_s,
            "inflow_line_learnt_ml": ctl.line.learnt_ml,
            "inflow_line_loss_w_per_c": ctl.heater.predictor.line_loss_used(),
            "cutout": {"tripped": ctl.board.cutout.tripped, "trips": ctl.board.cutout.trips},
            "link": ctl.link.counters(),
        }

    def heartbeat(self, _type, _args):
        return {"uptime_ms": self.ctl.uptime_ms(self._now())}

    def echo(self, _type, args):
        return args

    def set_plan(self, _type, args):
        self.ctl.door.set_plan(args)  # the plan checks its own fields, all before any changes
        return self.ctl.plan.as_dict()

    def get_plan(self, _type, _args):
        return self.ctl.plan.as_dict()

    def get_config(self, _type, _args):
        return self.ctl.config.as_map()

    def set_config(self, _type, args):
        self.ctl.door.set_config(args)  # the configuration checks its own fields, all before any changes
        return self.ctl.config.as_map()

    def phase_command(self, msg_type, _args):
        ctl = self.ctl
        getattr(ctl.door, msg_type)()
        # The first record of the new phase is the next one: the host follows from there.
        return {"phase": PHASE_NAMES[ctl.session.phase], "telemetry_next": ctl.telemetry.next_seq}

    def ack_alarm(self, _type, args):
        """Acknowledge one alarm by name, or every active one with "all"."""
        name = args.get("alarm")
        if not isinstance(name, str):
            fields.unknown("alarm", ALARM_CHOICES)
        i = -1 if name == "all" else rule_index(name)
        if i < 0 and name != "all":
            fields.choice("alarm", name, ALARM_CHOICES)
        return {"alarms": self.ctl.door.acknowledge(i)}

    def get_alarms(self, _type, _args):
        return {"alarms": self.ctl.alarms.active_list()}

    def set_flow(self, _type, args):
        if "flow_ml_min" not in args:
            fields.unknown("(none)", ("flow_ml_min",))
        self.ctl.door.set_flow(args["flow_ml_min"])  # checked by the plan against the absolute limits
        return {"flow_ml_min": self.ctl.plan.flow_ml_min}

    def tune_start(self, _type, args):
        """Start the relay autotune: PRIMING only (no patient in the circuit), inflow near the target."""
        ctl = self.ctl
        amplitude_w = fields.number("amplitude_w", args.get("amplitude_w", 10.0), 5.0, 300.0, "W")
        cycles = fields.integer("cycles", args.get("cycles", 4), 2, autotune.MAX_CYCLES, "cycles")
        hysteresis_c = fields.number("hysteresis_c", args.get("hysteresis_c", 0.02), 0.0, 0.2, "degC")
        ctl.door.tune_start(amplitude_w, cycles, hysteresis_c)
        return ctl.tuner.status()

    def tune_status(self, _type, _args):
        return self.ctl.tuner.status()

    def tune_cancel(self, _type, _args):
        self.ctl.door.tune_cancel()
        return self.ctl.tuner.status()

    def set_vitals(self, _type, args):
        inp = self.ctl.inputs
        core = inp.core_temp_c
        rate = inp.heart_rate_bpm
        if not args:
            fields.unknown("(none)", VITALS_FIELDS)  # either or both, not neither
        # null clears a value the host knows to be wrong or out of date: the board then holds none.
        if "core_temp_c" in args:
            value = args["core_temp_c"]
            core = 0.0 if value is None else fields.number("core_temp_c", value, 30.0, 45.0, "degC")
        if "heart_rate_bpm" in args:
            value = args["heart_rate_bpm"]
            rate = 0 if value is None else fields.integer("heart_rate_bpm", value, 20, 250, "/min")
        self.ctl.door.set_vitals(core, rate, "core_temp_c" in args, "heart_rate_bpm" in args)
        return {"core_temp_c": core or None, "heart_rate_bpm": rate or None}  # null: not entered, as in status

    def telemetry_pull(self, _type, args):
        since = fields.integer("since", args.get("since", 0), 0, 0x7FFFFFFF, "")
        count = fields.integer("max", args.get("max", PULL_MAX_RECORDS), 1, PULL_MAX_RECORDS, "records")
        ring = self.ctl.telemetry
        return {"records": ring.since(since, count), "oldest": ring.oldest_seq(), "next": ring.next_seq,
                "event_next": self.ctl.events.next_seq, "boot_id": self.ctl.boot_id}

    def events_pull(self, _type, args):
        since = fields.integer("since", args.get("since", 0), 0, 0x7FFFFFFF, "")
        count = fields.integer("max", args.get("max", PULL_MAX_EVENTS), 1, PULL_MAX_EVENTS, "events")
        log = self.ctl.events
        events = []  # type: list
        for seq in log.since(since):
            if len(events) == count:
                break
            kind, entry = eventlog.event_fields(log, seq)
            entry["type"] = kind
            events.append(entry)
        return {"events": events, "oldest": log.oldest_seq(), "next": log.next_seq, "boot_id": log.boot_id}

    def pump_calibrate(self, _type, args):
        pump = self.ctl.pump
        if "revolutions" in args:
            if "measured_ml" in args:
                fields.unknown("measured_ml", ("revolutions",))
            self.ctl.door.calibrate_pump(fields.integer("revolutions", args["revolutions"], 1, 200, "rev"))
        elif "measured_ml" in args:
            self.ctl.door.finish_pump_calibration(fields.number("measured_ml", args["measured_ml"], 1.0, 10000.0,
                                                                "mL"))
        else:
            fields.unknown("(none)", ("revolutions", "measured_ml"))
        return pump.calibration_status()

    def leave_safe_mode(self, _type, _args):
        settings_status = self.ctl.door.leave_safe_mode()
        return {"safe_mode": None, "settings": settings_status}

    def enter_repl(self, _type, _args):
        self.ctl.door.enter_repl()
        return {"phase": PHASE_NAMES[self.ctl.session.phase]}
