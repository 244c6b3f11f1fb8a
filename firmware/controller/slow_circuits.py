"""The slower circuits the runaway watch may be attached to: a few models of the exchanger outlet behind an
element slower or an exchanger larger than configured, and which of them explains the outlet better
than the configured model.

The plant model documents elements of up to 60 s and exchangers of up to 1 L (docs/plant-model.md)
where a site configures 8 s and 0.25 L. Behind either, the outlet lags the configured model: it climbs
for minutes after the configured model has settled at the end of a heat-up, and gives heat for a minute
after the drive falls, so it reads above the configured model although nothing is stuck (random
circuits with 0.64-0.95 L exchangers faulted `heater_runaway` at the end of their first heat-up). Each
candidate is the slowest corner of the documented space in one direction or both; fed the same drive,
inlet and flow as the configured model, it reads where such a circuit's outlet would. The candidates
are scored against the configured model, each error about its own slow mean (the correction that
absorbs a loss or a flow the model has wrong), squared and averaged over minutes (_FIT_S): a positive
score is a candidate that explains the outlet better; as far as it does, the watch may judge the outlet
by it.
"""
from micropython import const
from array import array

from controller.fluid import MIN_FLOW_ML_MIN, exchanger_step

# The slowest element and the largest exchanger the plant model documents.
SLOWEST_ELEMENT_S = 60.0
LARGEST_EXCHANGER_ML = 1000.0
# The candidates, (element lag, exchanger volume): 0 is as configured. The corners: slow element, large
# exchanger, both. A circuit between them is explained best by the nearest, which reads at least as far
# above the configured model as the circuit does after a fall of the drive.
_CANDIDATES = ((SLOWEST_ELEMENT_S, 0.0), (0.0, LARGEST_EXCHANGER_ML), (SLOWEST_ELEMENT_S, LARGEST_EXCHANGER_ML))
N_CANDIDATES = const(3)
# Time constant of each model's slow mean (the runaway watch's correction's) and of the scores: long
# against a heat-up's last minutes, where the candidates tell themselves apart first.
_CORRECTION_S = const(30.0)
_FIT_S = const(300.0)


class SlowCircuits:
    """Preallocated; update() once a tick after the configured model's."""

    def __init__(self, config):
        self.config = config
        self.element_w = array("f", [0.0] * N_CANDIDATES)
        self.exchanger_c = array("f", [0.0] * N_CANDIDATES)
        self.reading_c = array("f", [0.0] * N_CANDIDATES)
        self.correction_c = array("f", [0.0] * N_CANDIDATES)
        # Mean of (configured model's error)^2 - (candidate's error)^2, degC^2: a property of the circuit,
        # kept across restarts.
        self.fit = array("f", [0.0] * N_CANDIDATES)
        self.best = 0  # the candidate with the highest score

    def restart(self, outlet_c, written_w):
        """Every candidate's exchanger settled at the outlet's reading, its element at the drive."""
        for k in range(N_CANDIDATES):
            self.element_w[k] = written_w
            self.exchanger_c[k] = outlet_c
            self.reading_c[k] = outlet_c
            self.correction_c[k] = 0.0

    def update(self, outlet_c, inlet_c, flow_ml_min, written_w, configured_error_c, scoring, dt_s):
        """One tick of every candidate; configured_error_c is the configured model's error about its slow
        mean, scored against theirs while scoring (once both start from more than a guess)."""
        cfg = self.config
        fit_step = dt_s / (_FIT_S + dt_s)
        correction_step = dt_s / (_CORRECTION_S + dt_s)
        configured_sq = configured_error_c * configured_error_c
        best = self.best
        for k in range(N_CANDIDATES):
            lag_s, volume_ml = _CANDIDATES[k]
            if lag_s < cfg.heater_tau_s:
                lag_s = cfg.heater_tau_s
            if volume_ml < cfg.heater_volume_ml:
                volume_ml = cfg.heater_volume_ml
            t = exchanger_step(self.exchanger_c[k], inlet_c, flow_ml_min, self.element_w[k], volume_ml, cfg, dt_s)
            self.exchanger_c[k] = t
            self.element_w[k] += (written_w - self.element_w[k]) * dt_s / (lag_s + dt_s)
            reading_c = self.reading_c[k] + (t - self.reading_c[k]) * dt_s / (cfg.probe_tau_s + dt_s)
            self.reading_c[k] = reading_c
            raw_c = outlet_c - reading_c
            self.correction_c[k] += (raw_c - self.correction_c[k]) * correction_step
            if scoring:
                error_c = raw_c - self.correction_c[k]
                self.fit[k] += (configured_sq - error_c * error_c - self.fit[k]) * fit_step
                if self.fit[k] > self.fit[best]:
                    best = k
        self.best = best

    def explained_c(self, excess_c, outlet_c, noise_var):
        """How much of the configured model's excess_c the candidates explain: the most any one of them
        takes off, weighted by how much better it has explained the outlet. Each candidate's own excess is
        the outlet reading (smoothed) above what it expects, less the steady error its correction has
        learnt where that makes the outlet read high (as the runaway watch takes its own)."""
        explained_c = 0.0
        for k in range(N_CANDIDATES):
            score = self.fit[k]
            if score <= 0.0:
                continue
            own_c = outlet_c - self.reading_c[k]
            correction_c = self.correction_c[k]
            if correction_c > 0.0:
                own_c -= correction_c
            took_c = (excess_c - own_c) * score / (score + noise_var)
            if took_c > explained_c:
                explained_c = took_c
        return explained_c

    def extra_lag_s(self, flow_ml_min, noise_var):
        """How much slower than the configured model the best candidate answers a change of drive: its
        element's extra lag and its exchanger's extra transit at this flow (s), weighted by how much better
        it explains the outlet."""
        cfg = self.config
        score = self.fit[self.best]
        if score <= 0.0 or flow_ml_min < MIN_FLOW_ML_MIN:
            return 0.0
        lag_s, volume_ml = _CANDIDATES[self.best]
        extra_s = lag_s - cfg.heater_tau_s if lag_s > cfg.heater_tau_s else 0.0
        if volume_ml > cfg.heater_volume_ml:
            extra_s += (volume_ml - cfg.heater_volume_ml) * 60.0 / flow_ml_min
        return extra_s * score / (score + noise_var)

    def element_lag_s(self, noise_var):
        """The element's lag as the fit finds it: the configured one, moved toward the best candidate's
        as far as that candidate explains the outlet better."""
        lag_s = self.config.heater_tau_s
        candidate_s = _CANDIDATES[self.best][0]
        score = self.fit[self.best]
        if candidate_s <= lag_s or score <= 0.0:
            return lag_s
        return lag_s + (candidate_s - lag_s) * score / (score + noise_var)
