"""The inflow line's transport delay, as the exchanger-outlet and inflow probes show it.

The fluid read at the exchanger outlet is read again at the inflow probe one line transit later, less
the line's loss; the two probes are alike, so their lags cancel. The delay is the one that best lines
up the changes the two readings make over _CHANGE_SAMPLES (10 s): for each candidate delay the squared difference
between the inflow's change now and the outlet's change that long ago is summed over the last couple
of minutes (integers, hundredths of a degree: nothing allocated per candidate). A candidate is taken
only where the inflow has moved enough to say anything (_MIN_MOVED_C) and the best candidate explains
most of that movement (_MAX_RESIDUAL_SHARE); it is kept as a volume (delay times flow), so a flow change
carries it, and the sums start again at the new flow.

A site configures `inflow_line_ml`; a circuit whose line is longer than that (longer tubing, a
different set) delays the inflow more than the predictor, the heat balance and the flush assume. An
untold 0.55 L line overshot the heat-up by 0.6 degC.
"""
from micropython import const
from array import array

from controller.fluid import MIN_FLOW_ML_MIN, centi_c

# A sample of both readings every this many seconds (the predictor's history period).
SAMPLE_PERIOD_S = 0.5
# The change compared: over 20 samples (10 s), long against the readings' noise, short against the
# delays told apart.
_CHANGE_SAMPLES = const(20)
# Candidate delays: every 4 samples (2 s; the best is refined between its neighbours) from 0 up to
# _CANDIDATES - 1 steps (112 s: 0.75 L at 400 mL/min, more than the longest line the plant model
# documents).
_STEP_SAMPLES = const(4)
_CANDIDATES = const(57)
LONGEST_S = (_CANDIDATES - 1) * _STEP_SAMPLES * SAMPLE_PERIOD_S  # the longest candidate, s
# Both readings' past (hundredths of a degree): the longest candidate and its change, and some.
HISTORY_SAMPLES = 256
# Candidates scored per control tick: a sample's whole pass is spread over the ticks until the next.
_PER_TICK = const(12)
# The sums forget with a time constant of 2**_FORGET_SHIFT samples (128 s): a heat-up or a return from
# the abdomen, not the whole session.
_FORGET_SHIFT = const(8)
# A change is clipped to 10 degC (hundredths): the sums stay small integers on a 32-bit board.
_CLIP_CC = const(1000)
# The inflow must have moved by at least this much per change (10 s), as a root mean square over the sums'
# memory (a heat-up moves it ten times as much; a steady treatment's noise a tenth).
_MIN_MOVED_C = const(0.15)
# The best delay must leave at most this share of the inflow's movement unexplained.
_MAX_RESIDUAL_SHARE = const(0.25)
# A flow that moves by more than this share starts the sums again (the delay is a volume over a flow).
_FLOW_CHANGE_SHARE = const(0.05)
# The shortest line said (the configuration's least inflow_line_ml).
_MIN_LINE_ML = const(10.0)

_MIN_ENERGY = int((_MIN_MOVED_C * 100.0) ** 2 * (1 << _FORGET_SHIFT))


def _clip(x):
    return _CLIP_CC if x > _CLIP_CC else (-_CLIP_CC if x < -_CLIP_CC else x)


class LineDelay:
    """Preallocated; update() once a tick with the two readings."""

    def __init__(self):
        self.outlet_cc = array("h", bytes(2 * HISTORY_SAMPLES))
        self.inflow_cc = array("h", bytes(2 * HISTORY_SAMPLES))
        self.sums = array("i", bytes(4 * _CANDIDATES))
        self.energy = 0
        self.next = 0
        self.filled = 0
        self.since_sample_s = 0.0
        self.flow_ml_min = 0.0
        # The pass in progress: the sample it compares, the inflow's change there, the next candidate.
        self.pass_at = 0
        self.pass_change = 0
        self.pass_next = _CANDIDATES
        self.learnt_ml = 0.0  # 0 until a delay has been found
        self.delay_s = 0.0

    def forget(self):
        """A new circuit (a new session): nothing learnt."""
        if self.filled or self.learnt_ml > 0.0:
            self.restart()
            self.learnt_ml = 0.0
            self.delay_s = 0.0

    def restart(self):
        """The sums start again (the flow changed or stopped); what was learnt is kept."""
        for i in range(_CANDIDATES):
            self.sums[i] = 0
        self.energy = 0
        self.filled = 0
        self.pass_next = _CANDIDATES

    def gap(self):
        """The readings stop for a while (heating held, the outlet probe invalid): what comes after does
        not follow what came before."""
        if self.filled:
            self.restart()

    def seen_s(self):
        """How far back the history holds readings of the present stretch."""
        return self.filled * SAMPLE_PERIOD_S

    def known(self):
        return self.learnt_ml > 0.0

    def outlet_c_before(self, delay_s):
        """The outlet reading delay_s ago (to the sample; at most the history's length)."""
        back = int(delay_s / SAMPLE_PERIOD_S + 0.5)
        if back >= HISTORY_SAMPLES:
            back = HISTORY_SAMPLES - 1
        return self.outlet_cc[(self.next - 1 - back) % HISTORY_SAMPLES] / 100.0

    def volume_ml(self, configured_ml):
        """The line volume to use: what was learnt, else the configured one."""
        return self.learnt_ml if self.learnt_ml > 0.0 else configured_ml

    def flush_ml(self, configured_ml):
        """The line volume a flush must move: a line longer than configured needs more, never less."""
        return self.learnt_ml if self.learnt_ml > configured_ml else configured_ml

    def update(self, outlet_c, inflow_c, flow_ml_min, dt_s):
        if flow_ml_min < MIN_FLOW_ML_MIN:
            self.gap()
            return
        if self.flow_ml_min <= 0.0 or not (1.0 - _FLOW_CHANGE_SHARE) * self.flow_ml_min < flow_ml_min < (
                1.0 + _FLOW_CHANGE_SHARE) * self.flow_ml_min:
            self.flow_ml_min = flow_ml_min
            self.restart()
        self.since_sample_s += dt_s
        if self.since_sample_s >= SAMPLE_PERIOD_S:
            self.since_sample_s -= SAMPLE_PERIOD_S
            self._sample(outlet_c, inflow_c)
        self._score()

    def _sample(self, outlet_c, inflow_c):
        at = self.next
        self.outlet_cc[at] = centi_c(outlet_c)
        self.inflow_cc[at] = centi_c(inflow_c)
        self.next = (at + 1) % HISTORY_SAMPLES
        if self.filled < HISTORY_SAMPLES:
            self.filled += 1
        if self.pass_next < _CANDIDATES:
            self._finish_pass()
        if self.filled <= _CHANGE_SAMPLES:
            return
        change = _clip(self.inflow_cc[at] - self.inflow_cc[(at - _CHANGE_SAMPLES) % HISTORY_SAMPLES])
        self.energy += change * change - (self.energy >> _FORGET_SHIFT)
        self.pass_at = at
        self.pass_change = change
        self.pass_next = 0

    def _score(self):
        k = self.pass_next
        if k >= _CANDIDATES:
            return
        end = k + _PER_TICK
        if end > _CANDIDATES:
            end = _CANDIDATES
        at = self.pass_at
        change = self.pass_change
        outlet = self.outlet_cc
        sums = self.sums
        seen = self.filled - _CHANGE_SAMPLES
        while k < end:
            then = at - k * _STEP_SAMPLES
            # A delay longer than the readings seen so far explains nothing yet.
            error = change if k * _STEP_SAMPLES >= seen else _clip(
                change - (outlet[then % HISTORY_SAMPLES] - outlet[(then - _CHANGE_SAMPLES) % HISTORY_SAMPLES]))
            sums[k] += error * error - (sums[k] >> _FORGET_SHIFT)
            k += 1
        self.pass_next = k
        if k >= _CANDIDATES:
            self._decide()

    def _finish_pass(self):
        while self.pass_next < _CANDIDATES:
            self._score()

    def _decide(self):
        # Only once every candidate has been scored on readings of this stretch: after a restart (a
        # flow change, a stop, a gap in the readings) the short delays alone have been, and taken then
        # a short one that fits a ramp replaced a 36 s line learnt before with 0 s.
        if self.energy < _MIN_ENERGY or self.filled < HISTORY_SAMPLES:
            return
        sums = self.sums
        best = 0
        for k in range(1, _CANDIDATES):
            if sums[k] < sums[best]:
                best = k
        if sums[best] > _MAX_RESIDUAL_SHARE * self.energy:
            return
        # The minimum between its neighbours (a parabola through the three).
        shift = 0.0
        if 0 < best < _CANDIDATES - 1:
            left = sums[best - 1]
            right = sums[best + 1]
            curve = left - 2 * sums[best] + right
            if curve > 0:
                shift = 0.5 * (left - right) / curve
        self.delay_s = (best + shift) * _STEP_SAMPLES * SAMPLE_PERIOD_S
        volume_ml = self.delay_s * self.flow_ml_min / 60.0
        self.learnt_ml = volume_ml if volume_ml > _MIN_LINE_ML else _MIN_LINE_ML
