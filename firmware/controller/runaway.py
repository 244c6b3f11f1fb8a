"""Heater runaway watch: does the heat exchanger's outlet heat faster than the power the heater switch
was driven with can explain?

A switch failed closed (a welded SSR, a shorted MOSFET) delivers full power whatever the duty. The
inflow probe shows it only after the line's transport delay, and the heat balance after a minute; the
exchanger-outlet probe shows it within seconds. The watch keeps its own model of the element and the
exchanger (the physics the controller's predictor uses, none of its state), driven by the duty the
interlock wrote, fed at the reservoir reading, and seen through the probe's lag:

    excess = outlet reading - modelled reading - slow correction

The slow correction absorbs a steady model error that makes the outlet read high (the exchanger's loss,
an uncalibrated flow); one that makes it read low is left standing, so that a model that ran ahead in a
transient does not count as runaway when it comes back. While the model itself moves (heat-up, a power
or flow change), lags and gains the configuration has wrong (the element's, the exchanger's, the
probe's, an uncalibrated flow) show as excess too, so the tolerance widens by a share of the modelled
reading's excursion from its slow mean (an error of gain), by _RUNAWAY_LAG_S times the rate at which
it moves and _RUNAWAY_INLET_LAG_S times the rate the inlet reading moves (errors of lag); in a steady
treatment, where a stuck switch is otherwise hidden, the probe's noise alone sets it. An element much
slower or an exchanger much larger than configured is learnt from the circuit's own heat-up (the
slower candidates, below).
A pump that stops moving fluid while the heater works (a stall) heats the outlet beyond the model as
well, and is caught here first.
"""
from micropython import const
from array import array
import math

from controller.fluid import MIN_FLOW_ML_MIN, carried_w_per_c, exchanger_step

# Excess of the outlet over the model that counts as runaway: _RUNAWAY_SIGMAS standard deviations of the
# smoothed residual's noise as measured on this circuit, and never less than RUNAWAY_MIN_C (seven
# converter steps of a PT100 on 430 ohm). A quiet probe sees a stuck switch sooner; a noisy one (an
# electrosurgical unit nearby) does not raise false alarms.
RUNAWAY_MIN_C = 0.25
_RUNAWAY_SIGMAS = const(6.0)
# Smoothing of the residual against converter noise (adds about this much to the detection time).
_RUNAWAY_SMOOTH_S = const(0.3)
# Time constant of the noise estimate: a minute of samples. Until it has seen the probe, the estimate
# starts from the noisiest converter the plant model allows (0.2 degC per sample).
_RUNAWAY_NOISE_S = const(60.0)
_RUNAWAY_NOISE_START_C = const(0.2)
# Time constant of the correction and of the model's slow mean: long against the seconds a stuck
# switch takes to show, short against the minutes in which a circuit's losses change.
_RUNAWAY_CORRECTION_S = const(30.0)
# How far the configured lags may be off in all: a reading moving at r degC/s leaves up to this many
# seconds times r between model and probe (an element or probe lag set a few times too short).
_RUNAWAY_LAG_S = const(20.0)
# Smoothing of the modelled reading's rate of change, and of the inlet's.
_RUNAWAY_SLOPE_S = const(2.0)
# The model is fed the reservoir probe's reading: a probe slower than configured leaves the model's inlet
# behind a moving reservoir (the first warm return from the abdomen), and the outlet ahead of the model.
# The tolerance widens by this many seconds times the rate the inlet moves: what a 10 s probe configured
# as 2 s needed (bench/runaway.py, tests/firmware/fw_safety_channel.py), with the exchanger's mixing and
# the controller's answer to the warm inlet taking most of the lag's error away; each second more costs
# about half a second of detection early in a treatment, while the reservoir still warms.
_RUNAWAY_INLET_LAG_S = const(2.0)
# Share of the modelled reading's excursion from its slow mean that an error of gain (a flow or heater
# rating off by up to a quarter) may leave between model and probe before the correction has learnt it.
_RUNAWAY_GAIN_SHARE = const(0.25)
# A circuit much slower than configured climbs for minutes after a heat-up and gives heat for a minute
# after the drive falls, and the outlet reads above the model (random circuits with 0.64-0.95 L
# exchangers where 0.25 L is configured faulted at the end of their first heat-up). The plant model
# documents elements of up to 60 s and exchangers of up to 1 L: the watch also models the slower circuits
# at that space's corners (candidate 0 the slowest element behind the configured exchanger, 1 the
# configured element before the largest exchanger, 2 both), fed the same drive, inlet and flow, and
# scores each against the configured model, every error about its own slow mean, squared and averaged
# over _SLOWER_FIT_S. As far as one explains the outlet better, the excess is taken against it where
# smaller. On a circuit as configured, once the fit has seen it heat, nothing changes: a stuck switch
# there is seen as fast as without it.
SLOWEST_ELEMENT_S = 60.0
LARGEST_EXCHANGER_ML = 1000.0
_SLOWER_FIT_S = const(300.0)
# The candidates' state, one array: element power, exchanger, reading, slow mean, score (degC^2: a
# property of the circuit, kept across restarts), _N_SLOWER of each.
_N_SLOWER = const(3)
_S_ELEMENT = const(0)
_S_EXCHANGER = const(3)
_S_READING = const(6)
_S_CORRECTION = const(9)
SLOWER_FIT = 12
# While no fluid goes to the patient (PRIMING, a flush: the bypass returns it to the reservoir) the
# tolerance also takes what an exchanger losing nothing to the room would read above the model, where the
# correction has not yet learnt it: the model loses the whole configured circuit loss there, and a
# well-insulated exchanger reads up to a degree above it at the end of the first heat-up, when a lag's
# excursion still hides it from the correction (random plant 178: 0.045 W/degC where 1.5 is configured).
# A switch stuck then is the outlet limit's and the cut-out's (hazards.md H8: in PRIMING over_temperature
# caught it first, in 19 s, before this).

# After a (re)start the element's power is not known (after a power loss its stored heat still warms the
# standing exchanger): the watch models but does not judge for this many element lags.
_RUNAWAY_SETTLE_LAGS = const(3.0)


class RunawayWatch:
    """Preallocated; update() once a tick, before the outputs are decided."""

    def __init__(self, config):
        self.config = config
        self.started = False
        self.settle_s = 0.0
        self.element_w = 0.0
        self.exchanger_c = 0.0
        self.reading_c = 0.0   # the outlet probe as the model says it reads
        self.slower = array("f", [0.0] * (SLOWER_FIT + _N_SLOWER))
        self.slower_best = 0  # the candidate with the highest score
        self.slower_c = 0.0  # what the slower circuits took off the excess this tick
        self.slow_c = 0.0      # the modelled reading, slowly averaged
        self.slope_c_per_s = 0.0  # how fast the modelled reading moves, smoothed
        self.inlet_c = 0.0
        self.inlet_slope_c_per_s = 0.0  # how fast the inlet reading moves, smoothed
        self.residual_c = 0.0  # smoothed measured minus modelled reading
        self.correction_c = 0.0
        # The correction the excess is taken against: the same mean, but never left below both the
        # residual and zero. A negative correction is never taken off the excess (a model that ran ahead
        # must not count as runaway when it comes back), so there is nothing to wait for while it
        # recovers: a steady error that makes the outlet read high, hidden under a lag's negative
        # excursion (a circuit losing less heat than configured, at the end of its first heat-up), is
        # learnt from where the residual crosses zero instead of from the excursion's depth.
        self.excess_correction_c = 0.0
        # Variance of the raw residual about the smoothed one, degC^2: a property of the circuit, kept
        # across restarts.
        self.noise_var = _RUNAWAY_NOISE_START_C * _RUNAWAY_NOISE_START_C
        self.excess_c = 0.0
        self.limit_c = RUNAWAY_MIN_C  # the excess that counts as runaway this tick
        self.excess_max_c = 0.0  # largest excess seen since boot (benchmarks: the margin left)

    def restart(self, outlet_c, written_w):
        """Take the exchanger as settled at what the outlet reads, the element at what it is driven."""
        self.started = True
        self.settle_s = _RUNAWAY_SETTLE_LAGS * self.config.heater_tau_s
        self.element_w = written_w
        self.exchanger_c = outlet_c
        self.reading_c = outlet_c
        slower = self.slower
        for k in range(_N_SLOWER):
            slower[_S_ELEMENT + k] = written_w
            slower[_S_EXCHANGER + k] = outlet_c
            slower[_S_READING + k] = outlet_c
            slower[_S_CORRECTION + k] = 0.0
        self.slow_c = outlet_c
        self.slope_c_per_s = 0.0
        self.inlet_c = -1000.0  # not read yet: the first update takes it
        self.inlet_slope_c_per_s = 0.0
        self.residual_c = 0.0
        self.correction_c = 0.0
        self.excess_correction_c = 0.0
        self.excess_c = 0.0

    def stop(self):
        self.started = False
        self.excess_c = 0.0

    def update(self, outlet_c, inlet_c, flow_ml_min, written_w, dt_s, to_patient=True):
        """One tick with the outlet's raw reading, the exchanger's inlet (reservoir) reading, the flow
        commanded and the power the switch was driven with in the last tick (to_patient: the fluid heated
        goes on to the patient); True while the outlet runs away."""
        cfg = self.config
        if not self.started:
            self.restart(outlet_c, written_w)
            return False
        t = exchanger_step(self.exchanger_c, inlet_c, flow_ml_min, self.element_w, cfg.heater_volume_ml, cfg, dt_s)
        self.exchanger_c = t
        element = dt_s / (cfg.heater_tau_s + dt_s)  # (each weight worked out once: floats are heap objects)
        self.element_w += (written_w - self.element_w) * element
        probe = dt_s / (cfg.probe_tau_s + dt_s)
        step_c = (t - self.reading_c) * probe
        self.reading_c += step_c
        slope = dt_s / (_RUNAWAY_SLOPE_S + dt_s)
        self.slope_c_per_s += (step_c / dt_s - self.slope_c_per_s) * slope
        if self.inlet_c > -1000.0:
            self.inlet_slope_c_per_s += ((inlet_c - self.inlet_c) / dt_s - self.inlet_slope_c_per_s) * slope
        self.inlet_c = inlet_c
        correction = dt_s / (_RUNAWAY_CORRECTION_S + dt_s)
        self.slow_c += (self.reading_c - self.slow_c) * correction
        raw = outlet_c - self.reading_c
        alpha = dt_s / (_RUNAWAY_SMOOTH_S + dt_s)
        spread = raw - self.residual_c
        self.noise_var += (spread * spread - self.noise_var) * dt_s / (_RUNAWAY_NOISE_S + dt_s)
        self.residual_c += (raw - self.residual_c) * alpha
        self.correction_c += (self.residual_c - self.correction_c) * correction
        taken = self.excess_correction_c + (self.residual_c - self.excess_correction_c) * correction
        floor = self.residual_c if self.residual_c < 0.0 else 0.0
        self.excess_correction_c = floor if taken < floor else taken
        excess = self.residual_c
        if self.excess_correction_c > 0.0:
            excess -= self.excess_correction_c
        self.slower_c = self._slower_circuit(excess, raw, inlet_c, flow_ml_min, written_w, dt_s, outlet_c, element,
                                             probe, correction)
        excess -= self.slower_c
        self.excess_c = excess
        if excess > self.excess_max_c:
            self.excess_max_c = excess
        moving = self.slope_c_per_s if self.slope_c_per_s > 0.0 else -self.slope_c_per_s
        away = self.reading_c - self.slow_c
        if away < 0.0:
            away = -away
        # The smoothed residual's standard deviation is the raw one's times sqrt(alpha / (2 - alpha)).
        limit = _RUNAWAY_SIGMAS * math.sqrt(self.noise_var * alpha / (2.0 - alpha))
        if limit < RUNAWAY_MIN_C:
            limit = RUNAWAY_MIN_C
        inlet_moving = self.inlet_slope_c_per_s if self.inlet_slope_c_per_s > 0.0 else -self.inlet_slope_c_per_s
        if not to_patient:
            limit += self._lossless_c(flow_ml_min)
        limit += _RUNAWAY_GAIN_SHARE * away + _RUNAWAY_LAG_S * moving + _RUNAWAY_INLET_LAG_S * inlet_moving
        self.limit_c = limit
        if self.settle_s > 0.0:
            self.settle_s -= dt_s
            return False
        return excess > limit

    def _lossless_c(self, flow_ml_min):
        """How far above the model an exchanger that loses nothing would read, less what the correction
        has learnt of it (degC, at least 0)."""
        cfg = self.config
        flow = flow_ml_min if flow_ml_min > MIN_FLOW_ML_MIN else MIN_FLOW_ML_MIN
        lossless_c = cfg.circuit_loss_w_per_c * (self.reading_c - cfg.room_temp_c) / carried_w_per_c(flow)
        if self.excess_correction_c > 0.0:
            lossless_c -= self.excess_correction_c
        return lossless_c if lossless_c > 0.0 else 0.0

    def noise_c(self):
        """The outlet reading's noise as measured (one standard deviation, degC)."""
        return math.sqrt(self.noise_var)

    def element_lag_s(self):
        """The element's lag as the fit finds it: the configured one, moved toward the best slower
        candidate's as far as it explains the outlet better."""
        cfg = self.config
        lag_s = cfg.heater_tau_s
        k = self.slower_best
        score = self.slower[SLOWER_FIT + k]
        if k == 1 or score <= 0.0 or lag_s >= SLOWEST_ELEMENT_S:
            return lag_s
        return lag_s + (SLOWEST_ELEMENT_S - lag_s) * score / (score + self.noise_var)

    def slower_lag_s(self, flow_ml_min):
        """How much slower than configured the circuit answers a change of drive (s): the best candidate's
        extra element lag and extra exchanger transit at this flow, as far as it explains the outlet
        better."""
        cfg = self.config
        k = self.slower_best
        score = self.slower[SLOWER_FIT + k]
        if score <= 0.0 or flow_ml_min < MIN_FLOW_ML_MIN:
            return 0.0
        extra_s = 0.0
        if k != 1 and cfg.heater_tau_s < SLOWEST_ELEMENT_S:
            extra_s = SLOWEST_ELEMENT_S - cfg.heater_tau_s
        if k != 0 and cfg.heater_volume_ml < LARGEST_EXCHANGER_ML:
            extra_s += (LARGEST_EXCHANGER_ML - cfg.heater_volume_ml) * 60.0 / flow_ml_min
        return extra_s * score / (score + self.noise_var)

    def expected_c(self):
        """The outlet reading the model expects: the model's own, with the steady error the correction has
        learnt (so it follows the outlet's moves of the last minute or so, not the model's slow drift)."""
        return self.reading_c + self.correction_c

    def _slower_circuit(self, excess_c, raw_c, inlet_c, flow_ml_min, written_w, dt_s, outlet_c, element_step,
                        probe_step, mean_step):
        """One tick of the slower candidates; how much (degC) of the configured model's excess_c they
        explain: the most any one takes off, weighted by how much better it has explained the outlet.
        A candidate's own excess is the outlet (smoothed) above what it expects, less the steady error its
        slow mean has learnt where that makes the outlet read high (as the configured model's)."""
        cfg = self.config
        slower = self.slower
        scoring = self.settle_s <= 0.0  # both models start from a guess of the element's power till then
        configured_c = raw_c - self.correction_c
        configured_sq = configured_c * configured_c
        smoothed_c = self.reading_c + self.residual_c
        fit_step = dt_s / (_SLOWER_FIT_S + dt_s)
        slowest_step = dt_s / (SLOWEST_ELEMENT_S + dt_s)
        best = self.slower_best
        explained_c = 0.0
        for k in range(_N_SLOWER):
            volume_ml = cfg.heater_volume_ml
            if k != 0 and volume_ml < LARGEST_EXCHANGER_ML:
                volume_ml = LARGEST_EXCHANGER_ML
            element_w = slower[_S_ELEMENT + k]  # (each read of an array("f") element is a float on the heap)
            t = exchanger_step(slower[_S_EXCHANGER + k], inlet_c, flow_ml_min, element_w, volume_ml, cfg, dt_s)
            slower[_S_EXCHANGER + k] = t
            if k != 1 and cfg.heater_tau_s < SLOWEST_ELEMENT_S:
                slower[_S_ELEMENT + k] = element_w + (written_w - element_w) * slowest_step
            else:
                slower[_S_ELEMENT + k] = element_w + (written_w - element_w) * element_step
            reading_c = slower[_S_READING + k]
            reading_c += (t - reading_c) * probe_step
            slower[_S_READING + k] = reading_c
            own_c = outlet_c - reading_c
            mean_c = slower[_S_CORRECTION + k]
            mean_c += (own_c - mean_c) * mean_step
            slower[_S_CORRECTION + k] = mean_c
            score = slower[SLOWER_FIT + k]
            if scoring:
                error_c = own_c - mean_c
                score += (configured_sq - error_c * error_c - score) * fit_step
                slower[SLOWER_FIT + k] = score
                if score > slower[SLOWER_FIT + best]:
                    best = k
            if score > 0.0:
                own_c = smoothed_c - reading_c
                if mean_c > 0.0:
                    own_c -= mean_c
                took_c = (excess_c - own_c) * score / (score + self.noise_var)
                if took_c > explained_c:
                    explained_c = took_c
        self.slower_best = best
        return explained_c
