"""Board configuration: calibrations, gains and limits the host may read and change (get_config,
set_config) within ranges that keep them inside the absolute limits.

Defaults describe the reference build: PT100 probes on MAX31865 converters with a 430 ohm reference,
a 1500 W heater, a stepper peristaltic pump with 3200 microsteps per revolution and ~10 mL/rev tubing.
"""
from micropython import const
from array import array

from controller import cbor, fields, probes
from controller.tables import TICK_MS

_FLOAT = const(0)
_INT = const(1)
PER_PROBE = 2

# name: (kind, minimum, maximum, unit). Every setting the host may change, and nothing else.
SPEC = {
    "rtd_r0_ohm": (_FLOAT, 100.0, 1000.0, "ohm"),
    "rtd_ref_ohm": (_FLOAT, 300.0, 4500.0, "ohm"),
    "probe_offset_c": (PER_PROBE, -2.0, 2.0, "degC"),
    "probe_gain": (PER_PROBE, 0.95, 1.05, ""),
    "abdominal_probes": (_INT, 1, 4, ""),
    "inflow_2_fitted": (_INT, 0, 1, ""),
    "heater_outlet_fitted": (_INT, 0, 1, ""),
    "heater_rated_w": (_FLOAT, 100.0, 3000.0, "W"),
    "heater_supply_v": (_FLOAT, 12.0, 250.0, "V"),
    "heater_current_fitted": (_INT, 0, 1, ""),
    "heater_current_full_scale_a": (_FLOAT, 1.0, 100.0, "A"),
    "kp_w_per_c": (_FLOAT, 0.0, 500.0, "W/degC"),
    "ti_s": (_FLOAT, 1.0, 3600.0, "s"),
    "kp_far_w_per_c": (_FLOAT, 0.0, 1000.0, "W/degC"),
    "td_s": (_FLOAT, 0.0, 120.0, "s"),
    "d_filter_s": (_FLOAT, 0.1, 60.0, "s"),
    "integral_band_c": (_FLOAT, 0.1, 5.0, "degC"),
    "heater_tau_s": (_FLOAT, 0.5, 120.0, "s"),
    "heater_response_s": (_FLOAT, 0.5, 120.0, "s"),
    "heater_output": (_INT, 0, 1, ""),
    "heater_volume_ml": (_FLOAT, 20.0, 2000.0, "mL"),
    "smith_predictor": (_INT, 0, 1, ""),
    "smith_filter_s": (_FLOAT, 0.1, 300.0, "s"),
    "ssr_period_ms": (_INT, 200, 10000, "ms"),
    "probe_tau_s": (_FLOAT, 0.1, 20.0, "s"),
    "cascade_kp": (_FLOAT, 0.0, 50.0, "degC/degC"),
    "cascade_ti_s": (_FLOAT, 10.0, 7200.0, "s"),
    "cascade_band_c": (_FLOAT, 0.1, 5.0, "degC"),
    "cascade_slew_c_per_s": (_FLOAT, 0.001, 1.0, "degC/s"),
    "ff_slope_tau_s": (_FLOAT, 1.0, 120.0, "s"),
    "pump_ml_per_rev": (_FLOAT, 1.0, 50.0, "mL/rev"),
    "pump_steps_per_rev": (_INT, 200, 51200, "steps/rev"),
    "flow_sensor_fitted": (_INT, 0, 1, ""),
    "flow_sensor_full_scale_ml_min": (_FLOAT, 100.0, 5000.0, "mL/min"),
    "pump_accel_ml_min_per_s": (_FLOAT, 10.0, 2000.0, "mL/min/s"),
    "flow_change_ml_min_per_s": (_FLOAT, 0.5, 2000.0, "mL/min/s"),
    "circuit_prime_l": (_FLOAT, 0.2, 3.0, "L"),
    "drain_s": (_INT, 0, 3600, "s"),
    "cooldown_end_c": (_FLOAT, 30.0, 43.0, "degC"),
    "cooldown_max_s": (_INT, 0, 3600, "s"),
    "prime_stable_s": (_INT, 0, 600, "s"),
    "band_c": (_FLOAT, 0.05, 0.5, "degC"),
    "telemetry_period_ms": (_INT, 100, 60000, "ms"),
    "alarm_band_c": (_FLOAT, 0.1, 1.0, "degC"),
    "circuit_loss_w_per_c": (_FLOAT, 0.0, 20.0, "W/degC"),
    "room_temp_c": (_FLOAT, 10.0, 35.0, "degC"),
    "heater_lag_s": (_FLOAT, 5.0, 300.0, "s"),
    "inflow_line_ml": (_FLOAT, 10.0, 1000.0, "mL"),
    "temp_low_delay_s": (_INT, 10, 600, "s"),
    "pressure_high_mmhg": (_INT, 100, 600, "mmHg"),
    "core_alarm_c": (_FLOAT, 37.5, 39.5, "degC"),
    "link_grace_s": (_INT, 10, 600, "s"),
    "telemetry_stream": (_INT, 0, 1, ""),
}


class Config:
    def __init__(self):
        # Bumped by every setting applied (apply, apply_record): what is derived from the settings and
        # kept between ticks (the probes' conversion) is derived again when it moves.
        self.revision = 0
        self.rtd_r0_ohm = 100.0
        self.rtd_ref_ohm = 430.0
        self.probe_offset_c = array("f", [0.0] * probes.N_PROBES)
        self.probe_gain = array("f", [1.0] * probes.N_PROBES)
        # Cavity probes fitted (abdominal_1 .. abdominal_N); the others are neither read nor alarmed.
        self.abdominal_probes = 2
        # The redundant inflow probe and the exchanger-outlet probe are part of the reference build;
        # 0 runs a circuit without one, with the protection it gives gone (docs/hazards.md).
        self.inflow_2_fitted = 1
        self.heater_outlet_fitted = 1
        # Heater rated power: the feed-forward and the gains are in watts, the output is a duty.
        self.heater_rated_w = 1500.0
        # The element's supply (mains, or the DC supply of a PWM heater): its rated current is the rated
        # power over this. A current transducer on that supply (4-20 mA over its full scale) sees a
        # switch failed closed the moment the drive falls (heater_current.py); without one the
        # exchanger-outlet probe's runaway watch does, seconds later.
        self.heater_supply_v = 230.0
        self.heater_current_fitted = 0
        self.heater_current_full_scale_a = 10.0
        # PID gains at the reference flow, on the Smith predictor's estimate (heater-to-outlet gain
        # 1/(flow*c_p), heat exchanger lag ~30 s at 500 mL/min); all are rescaled with flow. The in-band
        # gain is gentle (noise, model mismatch in transients); outside the band kp_far drives heat-up.
        # At 10 W/degC (under a third of the heat 500 mL/min carries per degC, 35 W) circuits unlike the
        # configured one crept the last tenth into the band and sagged 0.1 degC when the abdomen's cold
        # return came: 15 brought 31 of the campaign's 73 reachable plants within 0.10 degC instead of 29
        # (with heater.py's outlet-dip gain at 12), the reference plants as well held; 20 brought 34, but
        # heated an untold 0.55 L inflow line at 400 mL/min to 0.1001 degC over the target (benchmarks.md).
        self.kp_w_per_c = 15.0
        self.ti_s = 30.0
        self.kp_far_w_per_c = 60.0
        # Derivative time on the measurement, and the low-pass that keeps probe noise out of it.
        self.td_s = 0.0
        self.d_filter_s = 2.0
        self.gain_ref_flow_ml_min = 500.0
        # The integrator only acts this close to the setpoint: far from it the feed-forward leads.
        self.integral_band_c = 0.3
        # Heater element: its own first-order lag (datasheet or step test), and the faster response
        # the command compensation gives it (equal values switch the compensation off).
        self.heater_tau_s = 8.0
        self.heater_response_s = 2.0
        # Cascade (plan controlled_point "abdominal"): degC of inflow setpoint per degC of cavity error,
        # the integral time (the filled cavity's time constant: ~3.5 L x c_p over flow x c_p plus the
        # patient's uptake, 200-250 s) and the integrator's band.
        self.cascade_kp = 10.0
        self.cascade_ti_s = 200.0
        self.cascade_band_c = 2.0
        # How fast the cascade may move the inflow setpoint (the heat exchanger cools ~0.3 degC/s at most).
        self.cascade_slew_c_per_s = 0.05
        # Fluid volume of the heat exchanger, and whether the controller acts on the Smith predictor's
        # estimate (the heater outlet carried through the line and probe lag) instead of the probe alone.
        self.heater_volume_ml = 250.0
        self.smith_predictor = 1
        # Low-pass on the predictor's correction (measurement minus delayed model).
        self.smith_filter_s = 10.0
        # 0 = DC heater on hardware PWM (duty every tick); 1 = SSR switched whole periods by
        # time-proportioning over ssr_period_ms (zero-cross SSRs switch at mains half-cycles).
        self.heater_output = 0
        self.ssr_period_ms = 2000
        # Thermal lag of the probes in the fluid (datasheet, or a step test): the feed-forward leads the
        # reservoir reading by it, by the probe filter and by the compensated element response.
        self.probe_tau_s = 2.0
        # Smoothing of the inlet slope behind the lead. Short on purpose: the first return from the
        # abdomen (a cold slug, then warm fluid) lasts seconds; 1 s beat 2, 3, 5 and 10 s on every
        # benchmark plant, noisy probes included (docs/benchmarks.md).
        self.ff_slope_tau_s = 1.0
        self.pump_ml_per_rev = 10.0
        self.pump_steps_per_rev = 3200
        # An inline flow sensor (clamp-on ultrasonic, 4-20 mA over its full scale) closes the flow loop
        # where fitted (pump.py); without one the flow is as right as the tubing calibration.
        self.flow_sensor_fitted = 0
        self.flow_sensor_full_scale_ml_min = 1000.0
        # Pump acceleration limit: avoids pressure spikes in the lines when flow changes.
        self.pump_accel_ml_min_per_s = 200.0
        # A running flow changes this gently: the inflow line's heat loss per mL depends on the flow,
        # so a fast change brings fluid heated for the old flow to the patient (0.1 degC at 400 -> 600).
        self.flow_change_ml_min_per_s = 3.0
        # Extracorporeal volume (reservoir floor, heater, lines) not sent into the abdomen.
        self.circuit_prime_l = 1.5
        self.drain_s = 420
        self.cooldown_end_c = 40.0
        self.cooldown_max_s = 300
        # Inflow must stay in band this long before the abdomen is filled (net of five times the time
        # out of it: a noisy reading's ticks out of band do not start it again; session.py).
        self.prime_stable_s = 30
        self.band_c = 0.1
        # One record a second: the ring then holds 10 minutes (rounded up to whole control ticks).
        self.telemetry_period_ms = 1000
        # 1 = also push every new record as a telemetry event; 0 = the host pulls only.
        self.telemetry_stream = 0
        # Alarm limits, inside the absolute limits of safety.py.
        # Controlled temperature this far from the setpoint is an alarm (above: heater off).
        self.alarm_band_c = 0.5
        # Below the band this long during treatment: the treatment is not working.
        self.temp_low_delay_s = 60
        # Line pressure at which the line is taken as occluded (normal is ~110 mmHg at 500 mL/min).
        self.pressure_high_mmhg = 300
        # Patient core temperature alarm: the consensus watches for > 38.5 degC.
        self.core_alarm_c = 38.5
        # Heat the heater and inflow line lose to the room, per degC above it (heat-balance check).
        self.circuit_loss_w_per_c = 1.5
        self.room_temp_c = 22.0
        # The circuit as the heat balance models it: heater response (element ~8 s + heat exchanger
        # ~30 s at 500 mL/min) and the inflow line volume that delays it to the inflow probe.
        self.heater_lag_s = 38.0
        self.inflow_line_ml = 150.0
        # Therapy continues this long without a host (a replugged cable, a restarted bridge).
        self.link_grace_s = 60

    def value(self, name):
        """A setting as the wire carries it (a per-probe array as a list)."""
        value = getattr(self, name)
        return [v for v in value] if SPEC[name][0] == PER_PROBE else value

    def as_map(self):
        """Every setting, for cbor.encode to write one by one (replies, the stored record)."""
        return cbor.LazyMap(SPEC, self.value)

    def as_dict(self):
        return {name: self.value(name) for name in SPEC}

    def apply(self, changes):
        """Check every field first, then apply them all: a refused change alters nothing."""
        for name in changes:
            if name not in SPEC:
                fields.unknown(name, SPEC, "get_config")
        for name in changes:
            changes[name] = self._check(name, changes[name])  # the checked value, in place: no second table
        self._check_together(changes.get("rtd_r0_ohm", self.rtd_r0_ohm), changes.get("rtd_ref_ohm", self.rtd_ref_ohm),
                             changes.get("telemetry_period_ms", TICK_MS))
        for name in changes:
            self._set(name, changes[name])

    def apply_record(self, reader, count, upgrade):
        """The same, for a stored record's map of count settings read from reader (cbor.Reader), taken
        apart pair by pair in two passes, never built as a dict: a setting this firmware no longer has
        is dropped; upgrade(config, name, value) turns an older record's value into today's."""
        start = reader.pos
        r0_ohm = self.rtd_r0_ohm
        rref_ohm = self.rtd_ref_ohm
        period_ms = TICK_MS
        for _ in range(count):
            name = reader.value()
            value = reader.value()
            if name in SPEC:
                value = self._check(name, upgrade(self, name, value))
                if name == "rtd_r0_ohm":
                    r0_ohm = value
                elif name == "rtd_ref_ohm":
                    rref_ohm = value
                elif name == "telemetry_period_ms":
                    period_ms = value
        self._check_together(r0_ohm, rref_ohm, period_ms)
        reader.pos = start
        for _ in range(count):
            name = reader.value()
            value = reader.value()
            if name in SPEC:
                self._set(name, self._check(name, upgrade(self, name, value)))

    def _check(self, name, value):
        kind, low, high, unit = SPEC[name]
        if kind == _FLOAT:
            return fields.number(name, value, low, high, unit)
        if kind == _INT:
            return fields.integer(name, value, low, high, unit)
        return fields.numbers(name, value, probes.N_PROBES, low, high, unit)

    @staticmethod
    def _check_together(r0_ohm, rref_ohm, period_ms):
        probes.check_converter(r0_ohm, rref_ohm)
        if period_ms % TICK_MS:  # records are made at ticks: 150 would silently be 200
            fields.refuse("telemetry_period_ms", "telemetry_period_ms = %d is not a whole number of %d ms control ticks"
                          % (period_ms, TICK_MS))

    def _set(self, name, value):
        self.revision += 1
        if SPEC[name][0] == PER_PROBE:
            target = getattr(self, name)
            for i in range(probes.N_PROBES):
                target[i] = value[i]
        else:
            setattr(self, name, value)
