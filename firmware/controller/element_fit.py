"""The heater element's lag as the circuit shows it: a bank of models, identified online from the
exchanger-outlet reading, for the heater controller's element compensation.

The configured lag (heater_tau_s) is a datasheet figure a site may not have: the plant model documents
elements of 0.5-60 s (docs/plant-model.md), and a controller that compensates an 8 s element on a 48 s
one under-drives every change of demand; on random circuits the inflow then sagged by up to 0.6 degC when
the cold return from the abdomen arrived (bench/campaign.py).

Each model is the element (a first-order lag of the power the switch gives) feeding the exchanger (a
mixed volume fed at the inlet reading and the flow). The outlet reading less each model's outlet, about
its own slow mean (which absorbs a loss or a gain the model has wrong), is squared and averaged over
FIT_S: the model that explains the outlet's moves best names the lag. The element lies only on the path
from the power to the outlet, the exchanger's mixing on that path and on the one from the inlet, so the
inlet's moves tell the two apart; the two probes' lags, on both readings, cancel on the inlet's path, and
on the power's path the outlet probe's lag is modelled as configured. Along the lags the best is refined
by a parabola through its neighbours' scores, in log lag.

An outlet probe slower than configured adds its extra lag to the element's on the power's path, and no
reading tells the two apart: the compensation takes the fit less what the slowest documented probe could
add. An element compensated as slower than it is would be given more heat than asked for; one
compensated as faster, as before, only less quickly.

Until the bank has seen the circuit move enough to tell its models apart (the heat-up is the first such
move) the configured lag stands. The safety channel keeps its own envelope (runaway.py): a fit gone
wrong changes how well the heater is controlled, not what the runaway watch allows.
"""
import math
from array import array

from controller import probes
from controller.fluid import PERFUSATE_J_PER_ML_C

# The element lags tried, log-spaced by sqrt(2) over the plant model's documented 0.5-60 s (an element
# faster than 4 s is compensated as one of 4 s at the fastest), and the exchanger volumes, by sqrt(2) over
# its 0.05-1 L (a slow element behind a small exchanger and a fast one behind a large one explain a heat-up
# alike: a coarser grid of volumes leaves the lag of the row nearest the real volume off by that row's
# mixing time): one row of lags per volume.
LAGS_S = (4.0, 5.657, 8.0, 11.31, 16.0, 22.63, 32.0, 45.25, 64.0)
VOLUMES_ML = (62.5, 88.39, 125.0, 176.8, 250.0, 353.6, 500.0, 707.1, 1000.0)
N_LAGS = 9
N_VOLUMES = 9
N_MODELS = 81
# The lags' grid in log lag: the first and the step (log sqrt(2)).
_LOG_LAG_0 = math.log(4.0)
_LOG_STEP = 0.5 * math.log(2.0)
# Models stepped per control tick, each over what the ticks since its last step gave (the bank's cost,
# floats that are heap objects on the chips, spread over the ticks): each model steps every GROUPS ticks,
# 2.7 s, shorter than the fastest lag tried (the steps are implicit: stable at any length).
MODELS_PER_TICK = 3
GROUPS = 27
# The slowest probe the plant model documents (s).
SLOWEST_PROBE_S = 10.0
# The slow mean each model's residual is taken about (long against the moves the fit is made of, short
# against the minutes in which a circuit's loss changes), and the averaging of the squared residuals
# (several heat-ups and disturbances' worth).
MEAN_S = 30.0
FIT_S = 600.0
# The models start from a guess of the element's power: they are not scored for this long after a start.
SETTLE_S = 20.0
# The fit is used once it has scored the models this long and the worst explains the outlet this many
# times worse than the best (a circuit that has not moved cannot tell its lags apart)...
FIT_MIN_S = 120.0
FIT_CONTRAST = 2.0
# ... and has named about the same lag (within this factor) for this long.
FIT_STABLE = 1.3
FIT_STABLE_S = 180.0
# Rows whose best explains the outlet within this factor of the best row's explain it as well: of them the
# one with the fastest element is taken (_choose).
FIT_TIE = 1.25
# ... and by at least this much (degC^2: a hundredth of a degree rms, a third of a converter step): models
# of a still circuit all explain it, to within the reading's noise.
FIT_SPREAD_C2 = 0.0001


class ElementFit:
    """Preallocated; restart() when heating starts, update() once a tick while it heats."""

    def __init__(self, config):
        self.config = config
        self.element_w = array("f", bytes(4 * N_MODELS))
        self.exchanger_c = array("f", bytes(4 * N_MODELS))
        self.mean_c = array("f", bytes(4 * N_MODELS))
        self.score = array("f", bytes(4 * N_MODELS))
        # The power the switch gave, seen through the outlet probe's configured lag (one lag for every
        # model: linear lags commute), summed since each group's last step.
        self.sensed_w = 0.0
        self.energy_j = 0.0
        self.elapsed_s = 0.0
        self.group_energy_j = array("f", bytes(4 * GROUPS))
        self.group_elapsed_s = array("f", bytes(4 * GROUPS))
        self.group = 0
        self.since_s = 0.0   # since the last restart
        self.scored_s = 0.0  # scoring, in all
        self.lag_s = config.heater_tau_s
        self.volume_row = 0
        self.candidate_s = 0.0  # the lag the fit names now, and for how long it has named about that
        self.stable_s = 0.0
        self.step_s = 0.1
        self.row_lag = array("f", bytes(4 * N_VOLUMES))  # log lag
        self.row_score = array("f", bytes(4 * N_VOLUMES))
        self.fitted = False

    def restart(self, outlet_c, element_w):
        """Heating (re)starts: every model at the outlet's reading, its element at element_w. What the
        scores learnt of the circuit is kept."""
        for i in range(N_MODELS):
            self.element_w[i] = element_w
            self.exchanger_c[i] = outlet_c
            self.mean_c[i] = 0.0
        for g in range(GROUPS):
            self.group_energy_j[g] = 0.0
            self.group_elapsed_s[g] = 0.0
        self.sensed_w = element_w
        self.energy_j = 0.0
        self.elapsed_s = 0.0
        self.group = 0
        self.since_s = 0.0

    def forget(self):
        """A new session: the circuit may not be the one learnt."""
        if self.scored_s == 0.0 and not self.fitted:
            return
        for i in range(N_MODELS):
            self.score[i] = 0.0
        self.scored_s = 0.0
        self.candidate_s = 0.0
        self.lag_s = self.config.heater_tau_s
        self.fitted = False

    def update(self, outlet_c, inlet_c, flow_ml_min, applied_w, dt_s):
        """One tick: applied_w the power the switch gave over the last tick."""
        cfg = self.config
        self.sensed_w += (applied_w - self.sensed_w) * dt_s / (cfg.probe_tau_s + probes.FILTER_TAU_S + dt_s)
        self.energy_j += self.sensed_w * dt_s
        self.elapsed_s += dt_s
        self.since_s += dt_s
        g = self.group
        self.group = (g + 1) % GROUPS
        d = self.elapsed_s - self.group_elapsed_s[g]
        power_w = (self.energy_j - self.group_energy_j[g]) / d if d > 0.0 else 0.0
        self.group_energy_j[g] = self.energy_j
        self.group_elapsed_s[g] = self.elapsed_s
        if self.group == 0:  # every group has stepped: the sums start again (float32 keeps them fine)
            for k in range(GROUPS):
                self.group_energy_j[k] -= self.energy_j
                self.group_elapsed_s[k] -= self.elapsed_s
            self.energy_j = 0.0
            self.elapsed_s = 0.0
        if d <= 0.0 or flow_ml_min <= 0.0:
            return
        first = g * MODELS_PER_TICK
        volume = VOLUMES_ML[first // N_LAGS]
        moved = flow_ml_min * d / 60.0
        mix = 1.0 / (volume + moved)
        heat = d / PERFUSATE_J_PER_ML_C
        mean = d / (MEAN_S + d)
        fit = d / (FIT_S + d)
        loss = cfg.circuit_loss_w_per_c
        room = cfg.room_temp_c
        scoring = self.since_s >= SETTLE_S
        for i in range(first, first + MODELS_PER_TICK):
            e = self.element_w[i] + (power_w - self.element_w[i]) * d / (LAGS_S[i % N_LAGS] + d)
            self.element_w[i] = e
            # The step's fluid, heat and loss spread over the volume and what entered (of which as much
            # leaves): the exchanger's gain stays right however long the step against the volume.
            t = self.exchanger_c[i]
            t = (t * volume + inlet_c * moved + (e - loss * (t - room)) * heat) * mix
            self.exchanger_c[i] = t
            residual = outlet_c - t
            m = self.mean_c[i] + (residual - self.mean_c[i]) * mean
            self.mean_c[i] = m
            if scoring:
                residual -= m
                self.score[i] += (residual * residual - self.score[i]) * fit
        if scoring and self.group == 0:
            self.scored_s += GROUPS * dt_s
            self.step_s = dt_s
            self._choose()

    def _choose(self):
        """The element lag, taken once the scores tell the models apart: along each volume's row the lag
        that explains the outlet best, refined by a parabola through its neighbours' scores (in log lag);
        of the rows that explain it about as well as the best (FIT_TIE), the fastest element. Until the
        inlet has moved, a slow element behind a small exchanger and a fast one behind a large exchanger
        explain a heat-up alike (a valley of near-equal scores across the rows; on the reference circuit a
        21 s element behind 88 mL came out best by a few per cent): compensated as slower than it is, an
        element would be given more heat than asked for."""
        score = self.score
        worst = 0.0
        best = 1e30
        for i in range(N_MODELS):
            if score[i] > worst:
                worst = score[i]
            if score[i] < best:
                best = score[i]
        if self.scored_s < FIT_MIN_S or worst < FIT_CONTRAST * best or worst - best < FIT_SPREAD_C2:
            return
        row_lag = self.row_lag
        row_score = self.row_score
        slowest = 0  # the row whose best is the slowest element of the grid, if any
        for r in range(N_VOLUMES):
            first = r * N_LAGS
            k = 0
            for j in range(1, N_LAGS):
                if score[first + j] < score[first + k]:
                    k = j
            row_score[r] = score[first + k]
            row_lag[r] = _LOG_LAG_0 + (k + _vertex(score, first, k)) * _LOG_STEP
            if r == 0 and k == N_LAGS - 1:
                slowest = 1
        r = 0
        for j in range(1, N_VOLUMES):
            if row_score[j] < row_score[r]:
                r = j
        tie = FIT_TIE * row_score[r]
        for j in range(N_VOLUMES):
            if row_score[j] <= tie and row_lag[j] < row_lag[r]:
                r = j
        lag = row_lag[r]
        # The valley's far end on the slow side (the slowest element behind the smallest exchanger) says
        # only that the truth lies further along it: no lag is named there. (Its fast end names the
        # fastest lag of the grid, which errs on the side of less heat.)
        if r == 0 and slowest:
            self.candidate_s = 0.0
            return
        # A new lag is taken once the fit has named it, within FIT_STABLE, for FIT_STABLE_S: in the first
        # minutes of a heat-up the valley's minimum wanders.
        candidate = math.exp(lag)
        if self.candidate_s > 0.0 and candidate < FIT_STABLE * self.candidate_s and \
                self.candidate_s < FIT_STABLE * candidate:
            self.stable_s += GROUPS * self.step_s
        else:
            self.candidate_s = candidate
            self.stable_s = 0.0
        if self.stable_s >= FIT_STABLE_S:
            self.lag_s = candidate
            self.volume_row = r
            self.fitted = True

    def volume_ml(self):
        """The exchanger volume of the best row (reported: the predictor keeps the configured one)."""
        return VOLUMES_ML[self.volume_row] if self.fitted else self.config.heater_volume_ml

    def element_tau_s(self):
        """The element lag the controller compensates: the fit less what the slowest probe could add where
        that is slower than configured, the fit where it finds the element faster, else the configured."""
        cfg = self.config
        if not self.fitted:
            return cfg.heater_tau_s
        slack = SLOWEST_PROBE_S - cfg.probe_tau_s
        lower = self.lag_s - (slack if slack > 0.0 else 0.0)
        if lower > cfg.heater_tau_s:
            return lower
        return self.lag_s if self.lag_s < cfg.heater_tau_s else cfg.heater_tau_s


def _vertex(values, first, k):
    """Where a parabola through values[first + k] and its two neighbours on the lags' grid has its lowest
    point, in grid steps from k (within half a step); 0 at either end of the grid."""
    if k == 0 or k == N_LAGS - 1:
        return 0.0
    below = values[first + k - 1]
    above = values[first + k + 1]
    curve = below - 2.0 * values[first + k] + above
    return 0.5 * (below - above) / curve if curve > 0.0 else 0.0
