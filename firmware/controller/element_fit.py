"""The heater element's lag as the circuit shows it: a bank of models, identified online from the
exchanger-outlet reading, for the heater controller's element compensation.

The configured lag (heater_tau_s) is a datasheet figure a site may not have: the plant model documents
elements of 0.5-60 s (docs/plant-model.md), and a controller that compensates an 8 s element on a 48 s
one under-drives every change of demand; on random circuits the inflow then sagged by up to 0.6 degC when
the cold return from the abdomen arrived (bench/campaign.py).

Each model is the element (a first-order lag of the power the switch gives) feeding the exchanger (a
mixed volume fed at the inlet reading and the flow). The outlet reading less each model's outlet, about
its own slow mean (which absorbs a loss or a gain the model has wrong), is squared and averaged over
five minutes (_FIT_S): the model that explains the outlet's moves best names the lag. The element lies
only on the path from the power to the outlet, the exchanger's mixing on that path and on the one from
the inlet, so the inlet's moves tell the two apart; the two probes' lags, on both readings, cancel on the
inlet's path, and on the power's path the outlet probe's lag is modelled as configured. Along the lags
the best is refined by a parabola through its neighbours' scores, in log lag.

An outlet probe slower than configured adds its extra lag to the element's on the power's path, and no
reading tells the two apart: the compensation takes the fit less what a probe PROBE_ALLOWANCE_S slow could
add. An element compensated as slower than it is would be given more heat than asked for; one
compensated as faster, as before, only less quickly.

The models are scored only while the controlled temperature is within the integral band of its setpoint,
where the feed-forward answers each move of the inlet with a move of the power: the net heat into the
exchanger then hardly moves, its volume hardly shows, and what the outlet does that a model does not is
that model's element lag. In a heat-up at the cap or a crawl up to the target the power's moves are the
whole signal, and a slow element behind a small exchanger and a fast one behind a large one explain them
alike (scored there, the fit named a 56 s element behind 75 mL for a 33 s one behind 373 mL, and a 2 s
element behind 0.7 L for a 48 s one; scored within 2 degC of the target, it named 22 s for the reference
circuit's 8 s element on a warm start, and the inflow overshot by 0.13 degC).

Until the bank has told its models apart the configured lag stands, and the compensation never takes an
element faster than configured (on the reference circuits the fit names 4-7 s for their 8 s element, and
compensated as that, their control error doubled). The safety channel keeps its own envelope
(runaway.py): a fit gone wrong changes how well the heater is controlled, not what the runaway watch
allows.
"""
from micropython import const
import math
from array import array

from controller import probes
from controller.fluid import PERFUSATE_J_PER_ML_C

# The element lags tried, log-spaced by sqrt(2) over the plant model's documented 0.5-60 s (an element
# faster than 4 s is compensated as one of 4 s at the fastest), and the exchanger volumes, by sqrt(2) over
# its 0.05-1 L (a slow element behind a small exchanger and a fast one behind a large one explain a heat-up
# alike: a coarser grid of volumes leaves the lag of the row nearest the real volume off by that row's
# mixing time): one row of lags per volume.
_LAGS_S = const((4.0, 5.657, 8.0, 11.31, 16.0, 22.63, 32.0, 45.25, 64.0))
_VOLUMES_ML = const((62.5, 88.39, 125.0, 176.8, 250.0, 353.6, 500.0, 707.1, 1000.0))
_N_LAGS = const(9)
_N_VOLUMES = const(9)
_N_MODELS = const(81)
# The lags' grid in log lag: the first and the step (log sqrt(2)).
_LOG_LAG_0 = const(1.3862943611198906)  # log(4.0)
_LOG_STEP = const(0.34657359027997264)  # log(sqrt(2))
# Models stepped per control tick, each over what the ticks since its last step gave (the bank's cost,
# floats that are heap objects on the chips, spread over the ticks): each model steps every _GROUPS ticks,
# 2.7 s, shorter than the fastest lag tried (the steps are implicit: stable at any length).
_MODELS_PER_TICK = const(3)
_GROUPS = const(27)
# The outlet probe's lag the compensation allows for (s): the fit less what a probe this slow adds beyond
# the configured probe_tau_s. At the slowest the plant model documents (10 s) every element behind a probe
# as configured was compensated 8 s faster than it is, and on random circuits the inflow sagged at the cold
# return from the abdomen (31 of 73 within 0.10 degC; 40 at 5 s and at 2 s; at 5 s none worse by more than
# 0.02 degC but one behind a 9.9 s probe, 0.25 -> 0.33 degC; benchmarks.md).
PROBE_ALLOWANCE_S = 5.0
# The slow mean each model's residual is taken about (long against the moves the fit is made of, short
# against the minutes in which a circuit's loss changes), and the averaging of the squared residuals
# (a few disturbances' worth: the first minutes in band come before the cold return from the abdomen,
# which the fit is there for).
_MEAN_S = const(30.0)
_FIT_S = const(300.0)
# The models start from a guess of the element's power: they are not scored for this long after a start.
_SETTLE_MS = const(20000)
# The fit is used once it has scored the models this long and the worst explains the outlet this many
# times worse than the best (a circuit that has not moved cannot tell its lags apart)...
FIT_MIN_S = 120.0
_FIT_CONTRAST = const(2.0)
# ... and has named about the same lag (within this factor) for this long.
_FIT_STABLE = const(1.3)
_FIT_STABLE_S = const(60.0)
# Rows whose best explains the outlet within this factor of the best row's explain it as well: of them the
# one with the fastest element is taken (_choose).
_FIT_TIE = const(1.25)
# ... and by at least this much (degC^2: a hundredth of a degree rms, a third of a converter step): models
# of a still circuit all explain it, to within the reading's noise.
_FIT_SPREAD_C2 = const(0.0001)


class ElementFit:
    """Preallocated; restart() when heating starts, update() once a tick while it heats."""

    def __init__(self, config):
        self.config = config
        self.element_w = array("f", bytes(4 * _N_MODELS))
        self.exchanger_c = array("f", bytes(4 * _N_MODELS))
        self.mean_c = array("f", bytes(4 * _N_MODELS))
        self.score = array("f", bytes(4 * _N_MODELS))
        # The power the switch gave, seen through the outlet probe's configured lag (one lag for every
        # model: linear lags commute), summed since each group's last step.
        self.sensed_w = 0.0
        self.energy_mj = 0  # integers (mJ, ms): their sums and differences take no heap
        self.elapsed_ms = 0
        self.group_energy_mj = array("i", bytes(4 * _GROUPS))
        self.group_elapsed_ms = array("i", bytes(4 * _GROUPS))
        self.group = 0
        self.since_ms = 0   # since the last restart (an integer: no heap)
        self.scored_s = 0.0  # scoring, in all
        self.lag_s = config.heater_tau_s
        self.candidate_s = 0.0  # the lag the fit names now, and for how long it has named about that
        self.stable_s = 0.0
        self.step_s = 0.1
        self.row_lag = array("f", bytes(4 * _N_VOLUMES))  # log lag
        self.row_score = array("f", bytes(4 * _N_VOLUMES))
        # The choice is made a volume's row a tick (each read of a score is a float on the heap: all 81
        # at once made 20 KB of garbage in one tick): the row to look at next, -1 while none is due.
        self.choosing = -1
        self.scored_cycle = False  # a model was scored since the last choice
        self.slowest = False
        self.worst = 0.0
        self.best = 0.0
        self.fitted = False

    def restart(self, outlet_c, element_w):
        """Heating (re)starts: every model at the outlet's reading, its element at element_w. What the
        scores learnt of the circuit is kept."""
        for i in range(_N_MODELS):
            self.element_w[i] = element_w
            self.exchanger_c[i] = outlet_c
            self.mean_c[i] = 0.0
        for g in range(_GROUPS):
            self.group_energy_mj[g] = 0
            self.group_elapsed_ms[g] = 0
        self.sensed_w = element_w
        self.energy_mj = 0
        self.elapsed_ms = 0
        self.group = 0
        self.since_ms = 0
        self.choosing = -1
        self.scored_cycle = False

    def forget(self):
        """A new session: the circuit may not be the one learnt."""
        if self.scored_s == 0.0 and not self.fitted:
            return
        for i in range(_N_MODELS):
            self.score[i] = 0.0
        self.scored_s = 0.0
        self.candidate_s = 0.0
        self.lag_s = self.config.heater_tau_s
        self.fitted = False

    def update(self, outlet_c, inlet_c, flow_ml_min, applied_w, dt_s, near):
        """One tick: applied_w the power the switch gave over the last tick; near, the controlled
        temperature within the integral band of its setpoint (the models are scored only then)."""
        cfg = self.config
        if self.choosing >= 0:
            self._choose_row()
        self.sensed_w += (applied_w - self.sensed_w) * dt_s / (cfg.probe_tau_s + probes.FILTER_TAU_S + dt_s)
        step_ms = int(dt_s * 1000.0 + 0.5)
        self.energy_mj += int(self.sensed_w * step_ms + 0.5)
        self.elapsed_ms += step_ms
        self.since_ms += step_ms
        g = self.group
        self.group = (g + 1) % _GROUPS
        d_ms = self.elapsed_ms - self.group_elapsed_ms[g]
        power_w = (self.energy_mj - self.group_energy_mj[g]) / d_ms if d_ms > 0 else 0.0
        d = d_ms * 0.001
        self.group_energy_mj[g] = self.energy_mj
        self.group_elapsed_ms[g] = self.elapsed_ms
        if self.group == 0:  # every group has stepped: the sums start again (small integers: no heap)
            for k in range(_GROUPS):
                self.group_energy_mj[k] -= self.energy_mj
                self.group_elapsed_ms[k] -= self.elapsed_ms
            self.energy_mj = 0
            self.elapsed_ms = 0
        if d <= 0.0 or flow_ml_min <= 0.0:
            return
        first = g * _MODELS_PER_TICK
        volume = _VOLUMES_ML[first // _N_LAGS]
        moved = flow_ml_min * d / 60.0
        mix = 1.0 / (volume + moved)
        heat = d / PERFUSATE_J_PER_ML_C
        mean = d / (_MEAN_S + d)
        fit = d / (_FIT_S + d)
        loss = cfg.circuit_loss_w_per_c
        room = cfg.room_temp_c
        scoring = near and self.since_ms >= _SETTLE_MS
        if scoring:
            self.scored_s += dt_s
            self.scored_cycle = True
        entered = inlet_c * moved
        for i in range(first, first + _MODELS_PER_TICK):
            e = self.element_w[i]  # (each read of an array("f") element is a float on the heap: once each)
            e += (power_w - e) * d / (_LAGS_S[i % _N_LAGS] + d)
            self.element_w[i] = e
            # The step's fluid, heat and loss spread over the volume and what entered (of which as much
            # leaves): the exchanger's gain stays right however long the step against the volume.
            t = self.exchanger_c[i]
            t = (t * volume + entered + (e - loss * (t - room)) * heat) * mix
            self.exchanger_c[i] = t
            residual = outlet_c - t
            m = self.mean_c[i]
            m += (residual - m) * mean
            self.mean_c[i] = m
            if scoring:
                residual -= m
                score = self.score[i]
                self.score[i] = score + (residual * residual - score) * fit
        if self.group == 0 and self.scored_cycle:
            self.scored_cycle = False
            self.step_s = dt_s
            self.choosing = 0
            self.worst = 0.0
            self.best = 1e30

    def _choose_row(self):
        """One row of the choice: its best lag, refined (_vertex), and the bank's best and worst so far;
        after the last row, _choose."""
        r = self.choosing
        if r == _N_VOLUMES:
            self.choosing = -1
            self._choose()
            return
        score = self.score
        first = r * _N_LAGS
        k = 0
        for j in range(_N_LAGS):
            v = score[first + j]
            if v > self.worst:
                self.worst = v
            if v < self.best:
                self.best = v
            if j > 0 and v < score[first + k]:
                k = j
        self.row_score[r] = score[first + k]
        self.row_lag[r] = _LOG_LAG_0 + (k + _vertex(score, first, k)) * _LOG_STEP
        if r == 0:
            self.slowest = k == _N_LAGS - 1
        self.choosing = r + 1

    def _choose(self):
        """The element lag, taken once the scores tell the models apart: along each volume's row the lag
        that explains the outlet best, refined by a parabola through its neighbours' scores (in log lag);
        of the rows that explain it about as well as the best (_FIT_TIE), the fastest element. Until the
        inlet has moved, a slow element behind a small exchanger and a fast one behind a large exchanger
        explain a heat-up alike (a valley of near-equal scores across the rows; on the reference circuit a
        21 s element behind 88 mL came out best by a few per cent): compensated as slower than it is, an
        element would be given more heat than asked for."""
        worst = self.worst
        best = self.best
        if self.scored_s < FIT_MIN_S or worst < _FIT_CONTRAST * best or worst - best < _FIT_SPREAD_C2:
            return
        row_lag = self.row_lag
        row_score = self.row_score
        r = 0
        for j in range(1, _N_VOLUMES):
            if row_score[j] < row_score[r]:
                r = j
        tie = _FIT_TIE * row_score[r]
        for j in range(_N_VOLUMES):
            if row_score[j] <= tie and row_lag[j] < row_lag[r]:
                r = j
        lag = row_lag[r]
        # The valley's far end on the slow side (the slowest element behind the smallest exchanger) says
        # only that the truth lies further along it: no lag is named there. (Its fast end names the
        # fastest lag of the grid, which errs on the side of less heat.)
        if r == 0 and self.slowest:
            self.candidate_s = 0.0
            return
        # A new lag is taken once the fit has named it, within _FIT_STABLE, for _FIT_STABLE_S: in the first
        # minutes of a heat-up the valley's minimum wanders.
        candidate = math.exp(lag)
        if self.candidate_s > 0.0 and candidate < _FIT_STABLE * self.candidate_s and \
                self.candidate_s < _FIT_STABLE * candidate:
            self.stable_s += _GROUPS * self.step_s
        else:
            self.candidate_s = candidate
            self.stable_s = 0.0
        if self.stable_s >= _FIT_STABLE_S:
            self.lag_s = candidate
            self.fitted = True

    def element_tau_s(self):
        """The element lag the controller compensates: the fit less what a probe PROBE_ALLOWANCE_S slow could
        add beyond the configured, else the configured."""
        cfg = self.config
        if not self.fitted:
            return cfg.heater_tau_s
        slack = PROBE_ALLOWANCE_S - cfg.probe_tau_s
        lower = self.lag_s - (slack if slack > 0.0 else 0.0)
        return lower if lower > cfg.heater_tau_s else cfg.heater_tau_s


def _vertex(values, first, k):
    """Where a parabola through values[first + k] and its two neighbours on the lags' grid has its lowest
    point, in grid steps from k (within half a step); 0 at either end of the grid."""
    if k == 0 or k == _N_LAGS - 1:
        return 0.0
    below = values[first + k - 1]
    above = values[first + k + 1]
    curve = below - 2.0 * values[first + k] + above
    return 0.5 * (below - above) / curve if curve > 0.0 else 0.0
