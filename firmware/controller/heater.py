"""Heater control: what power the circulating fluid needs, and how to make a lagging element deliver it.

demand = feed-forward + PID on the predicted temperature, capped:
- The fluid entering the heater now: the inlet (reservoir) reading lags it by the probe's lag and its
  filter, so it is reconstructed along the reading's filtered slope. A cold addition into the reservoir
  reaches the exchanger at once; judged on the lagged reading, the cap and the predictor held the
  heater back for those seconds.
- Feed-forward: the power that lifts that entering fluid, projected a further compensated element
  response ahead, to the setpoint at the current flow, plus the heat the heater and inflow line lose to
  the room.
- Smith predictor (predictor.py): the PID acts on the controlled temperature as it will be once the
  inflow line's transit and the probe's lag have passed, a model of the exchanger corrected by the
  exchanger-outlet probe (the inflow probe where none is fitted). Behind a circuit the runaway watch
  finds much slower than configured, led by the outlet's rate over the extra lag (outlet_lead_s).
- PID: proportional and integral on the predicted error, derivative on the prediction through a
  first-order filter (no kick on setpoint changes). Gains follow the flow (the circuit's gain and delays
  scale with 1/flow). The integrator acts wherever the output is not saturated in the direction of the
  error, and beyond the integral band not while the prediction closes on the setpoint faster than the
  integral time would; beyond the band a stiffer gain drives heat-up and upsets.
- Cap: at the entering fluid's temperature and the flow, the fluid leaving the heater cannot be heated much
  past the absolute setpoint limit (44.0 degC; the 45.0 degC cut-off is the supervisor's); where the
  exchanger-outlet probe is fitted, trimmed by what it reads (_outlet_trim), and raised while the outlet
  dips below its level under the limit (the cold return, through a slow element or a large exchanger).

command = element-lag compensation: a model of the element (first-order, element_tau_s: heater_tau_s until
the exchanger-outlet probe has shown a slower one, element_fit.py) tracks what it delivers; the command
drives the model to the demand with the faster time constant heater_response_s.
The model is fed the power the switch really gives (applied()), so clamping or SSR windows never leave
it behind. Without this, the ~8 s element lag turns every change of demand (a flow step, the first
return of fluid from the abdomen) into an energy error in the heat exchanger that the feedback then
has to undo.
"""
from micropython import const
from controller import probes, safety
from controller.fluid import MIN_FLOW_ML_MIN, Rate, carried_w_per_c
from controller.element_fit import ElementFit
from controller.predictor import Predictor


# The outlet cap's trim (HeaterController._outlet_trim): W per second per degC the outlet reads below
# the limit, a loop about ten times slower than the slowest element the plant model documents (60 s);
# at most the loss, per degC of the limit over the room, of the lossiest exchanger and inflow line it
# documents beyond the configured loss.
OUTLET_TRIM_W_PER_C_S = 0.25
OUTLET_TRIM_MAX_W_PER_C = 15.0
# The trim lowers the cap only for an outlet reading more than this over the limit: halfway to the
# 45.0 degC cut-off.
OUTLET_TRIM_OVER_C = 0.5
# The trim takes the cap as holding the demand also while the demand sits within the heat the flow carries
# for this many degC under it: an inflow crawling up to the target under a cap set too low keeps its demand
# just under the cap, where a trim that learnt only at the cap never moved (two random circuits held their
# inflow 0.12-0.16 degC short for over ten minutes, no_progress). At 0.2 one of them overshot to temp_high when
# the cold return came (benchmarks.md).
OUTLET_TRIM_NEAR_C = 0.1
# On a noisy converter a single raw sample of the outlet at the 45.0 degC cut-off is over_temperature:
# the dead band narrows so that the outlet is held this many standard deviations of its reading's noise
# below the cut-off (a sample 5 deviations over the mean is one in 3.5 million: a 1 % chance in an hour
# of ticks). A circuit with 0.19 degC of noise held its outlet at 44.45 degC and faulted in HEATING.
# Until the watch has measured the noise (a minute or two of heating) it takes the noisiest converter's,
# so the ceiling starts at the limit itself.
_OUTLET_NOISE_SIGMAS = const(5.0)
# Above that ceiling the cap falls at once by this share of the heat the flow carries per degC of the
# excess (the trim alone, slow against the element, left the outlet there for minutes): the outlet then
# falls by about as much as it is over, through the element's and the exchanger's lags; below 1, so the
# loop through them stays stable.
OUTLET_CEILING_GAIN = 0.8
# The cap is the heat that puts the outlet at the limit once the element and the exchanger have caught
# up. When the cold return from the abdomen drops the inlet, a slow element or a large exchanger leaves
# the outlet below that for a minute or more while the cap binds, and the inflow fell 0.2-1.1 degC short
# (random plants 85, 88, 137, 141). Where the outlet reads below its own level (smoothed over
# _OUTLET_LEVEL_S, longer than the slowest documented element and exchanger together), the cap rises by
# OUTLET_DIP_GAIN times the heat the flow carries per degC of that dip, never by more than the outlet lies
# under the limit: nothing in a steady state, where the trim learns. At 2.5 the large exchangers still
# sagged (random plant 88: 0.77 degC short; 0.51 at 12).
OUTLET_DIP_GAIN = 12.0
_OUTLET_LEVEL_S = const(300.0)
# An element slower than it is compensated as (the runaway watch learns its lag, element_lag_s; the
# compensation's is element_tau_s) goes on giving the heat it was driven for long after the cap fell:
# when warm fluid returns and the inlet rises, the outlet overshoots by the inlet's rise over the extra
# lag. The cap then leads a rising inlet by that extra lag, on the inlet's slope smoothed over
# _ELEMENT_LEAD_SLOPE_S (short against a warm return, long against the reading's noise times the lead).
_ELEMENT_LEAD_SLOPE_S = const(5.0)
# The outlet counts as settled under the cap when its reading, and the inlet's, move slower than this
# (the readings smoothed over _OUTLET_SMOOTH_S, their rates over OUTLET_SLOPE_TAU_S): a heat-up's outlet
# rises ten times as fast.
_OUTLET_SETTLED_C_PER_S = const(0.005)
# ... and the inlet slower than this: a reservoir warming while priming (0.01-0.03 degC/s) leaves the
# outlet settled under the cap; the cold return from the abdomen (0.05 degC/s and more) does not. At 0.02
# a lossy exchanger (7.6 W/degC where 1.5 is configured) held its outlet at 40.6 degC under a cap never
# trimmed while its reservoir warmed at 0.02 degC/s, and the heating watch faulted (random plant 88).
_OUTLET_INLET_STILL_C_PER_S = const(0.03)
_OUTLET_SMOOTH_S = const(10.0)
OUTLET_SLOPE_TAU_S = 30.0


class HeaterController:
    def __init__(self, config, line=None):
        self.config = config
        self.integral_w = 0.0
        self.demand_w = 0.0   # the power the fluid needs (feed-forward + PID, capped)
        self.capped_w = 0.0   # the cap last applied to it
        self.output_w = 0.0   # the power commanded to the element this tick
        self.element_w = 0.0  # what the element model says it is delivering
        self.inlet_prev_c = 0.0
        self.inlet_slope_c_per_s = 0.0
        self.measured_prev_c = 0.0
        self.derivative_c_per_s = 0.0
        self.primed = False
        self.predictor = Predictor(config, line)
        self.predicted_c = 0.0
        # The outlet reading's noise, one standard deviation (degC), and the element's lag (s), as the
        # safety channel measures them (the lag: where the element is slower than configured).
        self.outlet_noise_c = 0.0
        self.element_lag_s = 0.0
        self.outlet_lead_s = 0.0  # how much slower than configured the circuit answers (the watch's fit)
        self.lead_slope_c_per_s = 0.0  # the inlet's slope over _ELEMENT_LEAD_SLOPE_S
        # The outlet cap's correction from the exchanger-outlet probe (outlet_trim): W, + where the
        # exchanger loses more than configured, - where the outlet reads above what the cap allows.
        self.cap_trim_w = 0.0
        # Its readings' rates, smoothed twice (the value, then its rate): a noisy converter's rate of
        # change smoothed once still swings by more than a settled circuit's.
        self.outlet_rate = Rate(_OUTLET_SMOOTH_S, OUTLET_SLOPE_TAU_S)
        self.inlet_rate = Rate(_OUTLET_SMOOTH_S, OUTLET_SLOPE_TAU_S)
        self.outlet_seen_s = 0.0
        self.outlet_level_c = 0.0  # the outlet reading's level over _OUTLET_LEVEL_S
        # The element's lag as the outlet shows it (element_fit.py): the compensation and the element model
        # use element_tau_s, the configured lag until the fit has found a slower one.
        self.fit = ElementFit(config)
        self.element_tau_s = config.heater_tau_s
        self.applied_w = 0.0  # what the switch gave over the last tick

    def reset(self):
        """Heating stopped: the loop starts afresh next time. The element model is kept and, fed
        applied(0), cools as the element does: heating that resumes while the element still holds heat
        (a pause, a fault acknowledged) must not drive it as if it were cold."""
        self.integral_w = 0.0
        self.demand_w = 0.0
        self.output_w = 0.0
        self.cap_trim_w = 0.0  # learnt again: the circuit may not be the same when heating resumes
        self.inlet_slope_c_per_s = 0.0
        self.lead_slope_c_per_s = 0.0
        self.derivative_c_per_s = 0.0
        self.primed = False

    def _start_model(self, measured_c, inlet_c, outlet_c):
        """Heating starts: the exchanger at what its outlet reads (the reservoir where no outlet probe is
        fitted), the inflow line at what the inflow reads. After a stop the exchanger may be far hotter
        than the reservoir (the element's stored heat): taken as cold, it would be heated at the cap.
        The outlet trim's rates start at rest."""
        self.outlet_rate.restart(outlet_c)
        self.outlet_level_c = outlet_c
        self.inlet_rate.restart(inlet_c)
        self.outlet_seen_s = 0.0
        self.predictor.start(measured_c, outlet_c)
        self.fit.restart(outlet_c, self.element_w)

    def _inlet_slope(self, inlet_c, dt_s):
        """Filter the inlet slope (what the inlet probe's lag hides, and the feed-forward's lead)."""
        if self.primed:
            raw = (inlet_c - self.inlet_prev_c) / dt_s
            self.inlet_slope_c_per_s += (raw - self.inlet_slope_c_per_s) * dt_s / (self.config.ff_slope_tau_s + dt_s)
            self.lead_slope_c_per_s += (raw - self.lead_slope_c_per_s) * dt_s / (_ELEMENT_LEAD_SLOPE_S + dt_s)
        self.inlet_prev_c = inlet_c

    def _derivative(self, measured_c, dt_s):
        """Filter the controlled slope (derivative term)."""
        if self.primed:
            raw = (measured_c - self.measured_prev_c) / dt_s
            self.derivative_c_per_s += (raw - self.derivative_c_per_s) * dt_s / (self.config.d_filter_s + dt_s)
        self.measured_prev_c = measured_c
        self.primed = True

    def _outlet_trim(self, outlet_c, inlet_c, at_cap, ceiling_c, dt_s):
        """Where the exchanger-outlet probe is fitted, the cap follows what it reads: an exchanger that
        loses more heat than configured holds its outlet below the limit at the modelled cap, and the
        inflow stalls short of the target; one whose outlet reads more than OUTLET_TRIM_OVER_C above the
        limit gets less. Moved at a rate that falls to nothing at the limit, slow against the slowest
        element (no overshoot through its lag), and only while the cap holds the demand (at_cap: at it or
        within OUTLET_TRIM_NEAR_C under it) or the outlet is over the limit."""
        slope = self.outlet_rate.update(outlet_c, dt_s)
        inlet = self.inlet_rate.update(inlet_c, dt_s)
        self.outlet_seen_s += dt_s
        error = safety.ABS_MAX_SETPOINT_C - outlet_c
        # Below the limit only where the outlet has settled under the cap with the inlet steady (and the
        # rates have seen enough of the readings to say so): while it still rises towards it (a heat-up)
        # or the inlet moves (the cold return from the abdomen) its distance says nothing yet of the
        # exchanger's loss.
        if error > 0.0 and (not at_cap or self.outlet_seen_s < 2.0 * OUTLET_SLOPE_TAU_S
                            or slope > _OUTLET_SETTLED_C_PER_S or slope < -_OUTLET_SETTLED_C_PER_S
                            or inlet > _OUTLET_INLET_STILL_C_PER_S or inlet < -_OUTLET_INLET_STILL_C_PER_S):
            return
        if error < 0.0:
            # Above the limit: only past the dead band, and by how far past it. The cap's model lets the
            # outlet read up to a few tenths over 44.0 degC by design (the configured circuit loss is
            # the exchanger's and the inflow line's together, and the line's happens after the outlet).
            over = ceiling_c - safety.ABS_MAX_SETPOINT_C
            if error > -over:
                return
            error += over
        trim = self.cap_trim_w + OUTLET_TRIM_W_PER_C_S * error * dt_s
        most = OUTLET_TRIM_MAX_W_PER_C * (safety.ABS_MAX_SETPOINT_C - self.config.room_temp_c)
        self.cap_trim_w = most if trim > most else (-most if trim < -most else trim)

    def outlet_ceiling_c(self):
        """Where the outlet reading may sit: OUTLET_TRIM_OVER_C over the limit, or on a noisy converter
        _OUTLET_NOISE_SIGMAS of its noise below the cut-off, whichever is lower (never below the limit)."""
        ceiling = safety.ABS_CUTOFF_C - _OUTLET_NOISE_SIGMAS * self.outlet_noise_c
        if ceiling > safety.ABS_MAX_SETPOINT_C + OUTLET_TRIM_OVER_C:
            return safety.ABS_MAX_SETPOINT_C + OUTLET_TRIM_OVER_C
        return ceiling if ceiling > safety.ABS_MAX_SETPOINT_C else safety.ABS_MAX_SETPOINT_C

    def cap_w(self, inlet_c, flow_ml_min):
        """Most power the fluid may take: the outlet at the absolute limit, plus the heat exchanger's
        own loss to the room (it leaves before the outlet)."""
        cfg = self.config
        cap = carried_w_per_c(flow_ml_min) * (safety.ABS_MAX_SETPOINT_C - inlet_c) + cfg.circuit_loss_w_per_c * (
            safety.ABS_MAX_SETPOINT_C - cfg.room_temp_c) + self.cap_trim_w
        if cap > cfg.heater_rated_w:
            return cfg.heater_rated_w
        return cap if cap > 0.0 else 0.0

    def feed_forward_w(self, setpoint_c, inlet_c, flow_ml_min):
        """Power that lifts fluid entering at inlet_c to the setpoint at this flow, plus the circuit's loss."""
        cfg = self.config
        ff = carried_w_per_c(flow_ml_min) * (setpoint_c - inlet_c) + cfg.circuit_loss_w_per_c * (
            setpoint_c - cfg.room_temp_c)
        return ff if ff > 0.0 else 0.0

    def update(self, setpoint_c, measured_c, inlet_c, flow_ml_min, dt_s, outlet_c=None):
        """Return the power in W to command this tick, between 0 and the rated power (outlet_c: the
        exchanger outlet's reading, where one is fitted)."""
        cfg = self.config
        read_c = measured_c
        if not self.primed:
            self._start_model(measured_c, inlet_c, inlet_c if outlet_c is None else outlet_c)
        self._inlet_slope(inlet_c, dt_s)
        # The fluid entering the exchanger now: the inlet reading leads it by the probe's lag and filter.
        sensed_s = cfg.probe_tau_s + probes.FILTER_TAU_S
        entering_c = inlet_c + sensed_s * self.inlet_slope_c_per_s
        if cfg.smith_predictor:
            measured_c = self.predictor.update(measured_c, entering_c, flow_ml_min, self.element_w, dt_s, outlet_c)
        if outlet_c is not None:
            # Behind a circuit that answers the drive much slower than configured (the runaway watch's fit,
            # outlet_lead_s) the outlet goes on moving for about that extra lag after the drive changes: a
            # 38 s element behind 0.59 L overshot the target by 0.93 degC (random plant 91). The prediction,
            # and the ceiling below, take the outlet where its rate (smoothed as the trim's) carries it.
            measured_c += self.outlet_lead_s * self.outlet_rate.c_per_s
        self.predicted_c = measured_c
        self._derivative(measured_c, dt_s)
        ff = self.feed_forward_w(setpoint_c, entering_c + cfg.heater_response_s * self.inlet_slope_c_per_s,
                                 flow_ml_min)
        scale = flow_ml_min if flow_ml_min > MIN_FLOW_ML_MIN else MIN_FLOW_ML_MIN
        scale = scale / cfg.gain_ref_flow_ml_min
        kp = cfg.kp_w_per_c * scale
        ti = cfg.ti_s / scale
        td = cfg.td_s / scale
        error = setpoint_c - measured_c
        self.element_tau_s = self.fit.element_tau_s()  # the configured lag again after a new session's forget()
        extra_lag_s = self.element_lag_s - self.element_tau_s
        if extra_lag_s > 0.0 and self.lead_slope_c_per_s > 0.0:
            max_w = self.cap_w(entering_c + extra_lag_s * self.lead_slope_c_per_s, flow_ml_min)
        else:
            max_w = self.cap_w(entering_c, flow_ml_min)
        if outlet_c is not None:
            band = cfg.integral_band_c
            self.fit.update(outlet_c, inlet_c, flow_ml_min, self.applied_w, dt_s,
                            -band < setpoint_c - read_c < band)
            ceiling_c = self.outlet_ceiling_c()
            carried = carried_w_per_c(flow_ml_min)
            near_cap_w = self.capped_w - OUTLET_TRIM_NEAR_C * carried
            self._outlet_trim(outlet_c, inlet_c, self.demand_w >= near_cap_w, ceiling_c, dt_s)
            # The dip, on the higher of the reading and its smoothed value: noise never raises the cap.
            smoothed = self.outlet_rate.value_c
            self.outlet_level_c += (smoothed - self.outlet_level_c) * dt_s / (_OUTLET_LEVEL_S + dt_s)
            seen = outlet_c if outlet_c > smoothed else smoothed
            dip = self.outlet_level_c - seen
            if dip > safety.ABS_MAX_SETPOINT_C - seen:
                dip = safety.ABS_MAX_SETPOINT_C - seen
            if dip > 0.0:
                max_w += OUTLET_DIP_GAIN * carried * dip
            above = outlet_c - ceiling_c
            rising = self.outlet_rate.c_per_s
            if rising > 0.0:  # (a 44 s element behind 0.71 L rose 0.5 degC past it: random plant 127)
                above += self.outlet_lead_s * rising
            if above > 0.0:
                max_w -= OUTLET_CEILING_GAIN * carried * above
                if max_w < 0.0:
                    max_w = 0.0
        pd = kp * (error - td * self.derivative_c_per_s)
        # Outside the integral band (heat-up, a large upset) the error beyond the band gets a stiffer
        # gain: on the predicted temperature it drives the heater outlet to the setpoint quickly
        # without the line delay's overshoot, and the gentle in-band gain keeps noise out of treatment.
        band = cfg.integral_band_c
        if error > band:
            pd += cfg.kp_far_w_per_c * scale * (error - band)
        elif error < -band:
            pd += cfg.kp_far_w_per_c * scale * (error + band)
        unclamped = ff + pd + self.integral_w
        # Integral action wherever the output is not saturated in the error's direction (clamping
        # anti-windup): a steady offset the feed-forward leaves beyond the band is removed. Beyond the
        # band, not while the prediction closes on the setpoint faster than the integral time would:
        # the stiff gain is doing the work, and what the integrator took then would overshoot. A stall or
        # a crawl is integrated on its whole error: on the error clipped to the band (0.1 W/s) a circuit
        # losing 130 W more than configured crawled its last degree for 18 min (random plant 192).
        slope = self.derivative_c_per_s
        closing = (error > 0.0 and slope > 0.0) or (error < 0.0 and slope < 0.0)
        rate = slope if slope > 0.0 else -slope
        far = error > band or error < -band
        if (not far or not closing or rate * ti < (error if error > 0.0 else -error)) and \
                (unclamped < max_w or error < 0.0) and (unclamped > 0.0 or error > 0.0):
            self.integral_w += kp * error * dt_s / ti
        demand = ff + pd + self.integral_w
        self.capped_w = max_w
        if demand > max_w:
            demand = max_w
        elif demand < 0.0:
            demand = 0.0
        self.demand_w = demand
        return self.drive(demand, dt_s)

    def drive(self, demand_w, dt_s):
        """The command that brings the element to demand_w with the compensated response."""
        cfg = self.config
        out = self.element_w + (demand_w - self.element_w) * (self.element_tau_s / cfg.heater_response_s)
        if out > cfg.heater_rated_w:
            out = cfg.heater_rated_w
        elif out < 0.0:
            out = 0.0
        self.output_w = out
        return out

    def applied(self, power_w, dt_s):
        """The power the switch really gives the element (a whole SSR window is decided at its start,
        not by each tick's command): the element model follows it, so compensation and predictor see
        the true element."""
        self.applied_w = power_w
        self.element_w += (power_w - self.element_w) * dt_s / (self.element_tau_s + dt_s)
