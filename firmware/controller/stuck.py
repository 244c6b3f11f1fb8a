"""Stuck probes: a converter whose code has not moved by one step in PROBE_STUCK_MS while the fluid at it
moved.

A live converter's code moves when the fluid crosses a code boundary, or with its noise when the noise is
a fair share of a step. A converter much quieter than a step (a MAX31865 on a good PT100 is) holds its
code as long as the fluid holds still, and a well controlled inflow holds within a code for minutes: the
reference circuit with 0.001 degC of noise faulted in HEATING two minutes after reaching the target, and
the plant campaign's seed 10 from its exchanger outlet. So for the probes a witness can vouch for, a
frozen code counts only once the witness has seen the fluid there move by _PROBE_MOVED_C:

- an inflow probe: the other inflow probe (the same fluid), else the exchanger outlet (the same fluid,
  a line earlier);
- the exchanger outlet: an inflow probe (the same fluid, a line later), else the runaway watch's model of
  it while the heater may heat (the element's power and the inlet it is fed), else the reservoir (the
  fluid it is fed). The model strays from the outlet by tenths as the circuit departs from the
  configuration: a quiet converter held within one code by good control (the outlet steady within
  0.01 degC for minutes) was called stuck when the model swung by 0.5 degC (campaign seed 139 with the
  in-band gain at 20 W/degC, 0.0002 degC of noise: control_probe_failed in TREATMENT). Without the
  redundant inflow probe the inflow and the outlet witness each other: both frozen together go unseen here;
- the reservoir: while the runaway watch runs, the outlet's departure from that model, which is fed the
  reservoir's reading: a reservoir that moves under a frozen reading moves the outlet away from it;
- a cavity probe: another cavity probe (the same abdomen), else the outflow (the abdomen's fluid leaving);
  the outflow: a cavity probe. Judged only while the abdomen is perfused, and the outflow only once the
  abdomen is filled: while it fills nothing leaves it, and a quiet converter in the still outflow line kept
  its code as the cavity warmed (campaign seed 139, 0.0002 degC of noise, monitor_probe_failed).

A probe whose witness is not fitted or not valid keeps the plain rule: a code frozen while the fluid at it
circulates.
"""
from micropython import const
from array import array

from controller import probes

# A converter code that has not moved by one step in this long, with the fluid at it moving, is stuck.
PROBE_STUCK_MS = 120000
# The witness's span since the code last moved that says the fluid moved: three steps of a PT100 on a
# 430 ohm reference (0.034 degC each), so a live probe's code must have moved at least twice.
_PROBE_MOVED_C = const(0.1)
# The same said by the runaway watch's model of the outlet, or by the outlet's departure from it: the
# model strays from the outlet by up to the watch's own tolerance (0.25-0.5 degC) as the circuit departs
# from the configuration.
_PROBE_MOVED_MODEL_C = const(0.5)
# No witness (a probe without one, or whose witness is not fitted): the plain rule.
_NONE = -1
# The witness is the runaway watch's model of the exchanger outlet, or the outlet's departure from it.
_MODEL = -2
_DEPARTURE = -3
# Not looked at since the code last moved.
_UNSEEN = -4
# The witnesses are looked at this often: their readings are filtered over a second or more, and a span
# gathered over two minutes needs no finer sampling (a float per look is heap on the chips).
_LOOK_MS = const(1000)


class StuckProbes:
    """Preallocated; update() once a tick."""

    def __init__(self):
        self.last_code = array("H", [0] * probes.N_PROBES)
        self.unchanged_ms = array("i", [0] * probes.N_PROBES)
        # Each probe's witness, and the lowest and highest it read since the probe's code last moved.
        self.witness = array("b", [_UNSEEN] * probes.N_PROBES)
        self.seen_low_c = array("f", [0.0] * probes.N_PROBES)
        self.seen_high_c = array("f", [0.0] * probes.N_PROBES)
        self.since_look_ms = 0

    def update(self, p, circulating, perfusing, outflowing, runaway, dt_ms):
        """One tick with the probes p, whether the pump moves fluid, whether the abdomen is perfused and
        whether fluid leaves it by the outflow, and the runaway watch (runaway.py: its model of the outlet,
        while it runs)."""
        self.since_look_ms += dt_ms
        look = self.since_look_ms >= _LOOK_MS
        outlet_model_c = None
        if look:
            self.since_look_ms = 0
            if runaway.started:
                outlet_model_c = runaway.expected_c()
        for i in range(probes.N_PROBES):
            code = p.codes[i]
            moving = outflowing if i == probes.OUTFLOW else perfusing if i in probes.ABDOMINAL else circulating
            if code != self.last_code[i] or not moving:
                self.last_code[i] = code
                self.unchanged_ms[i] = 0
                self.witness[i] = _UNSEEN
                continue
            if self.unchanged_ms[i] < PROBE_STUCK_MS:
                self.unchanged_ms[i] += dt_ms
            if look:
                self._look(p, i, outlet_model_c)

    def _look(self, p, i, outlet_model_c):
        """Widen probe i's witnessed span by what its witness reads now; another witness than the last
        look's (one fitted or valid again, the watch started or stopped) starts the evidence again."""
        witness = self._witness(p, i, outlet_model_c)
        if witness == _NONE:
            seen_c = 0.0
        elif witness == _MODEL:
            seen_c = outlet_model_c
        elif witness == _DEPARTURE:
            seen_c = p.temp_c[probes.HEATER_OUTLET] - outlet_model_c
        else:
            seen_c = p.temp_c[witness]
        if witness != self.witness[i]:
            if self.witness[i] != _UNSEEN:
                self.unchanged_ms[i] = 0
            self.witness[i] = witness
            self.seen_low_c[i] = seen_c
            self.seen_high_c[i] = seen_c
        elif seen_c < self.seen_low_c[i]:
            self.seen_low_c[i] = seen_c
        elif seen_c > self.seen_high_c[i]:
            self.seen_high_c[i] = seen_c

    def stuck(self, i):
        """True while probe i's code has been frozen long enough with the fluid at it moving."""
        if self.unchanged_ms[i] < PROBE_STUCK_MS:
            return False
        witness = self.witness[i]
        moved_c = _PROBE_MOVED_C if witness >= 0 else _PROBE_MOVED_MODEL_C
        return witness == _NONE or self.seen_high_c[i] - self.seen_low_c[i] >= moved_c

    def _witness(self, p, i, outlet_model_c):
        if i == probes.INFLOW or i == probes.INFLOW_2:
            # (Tests in turn rather than a loop over a tuple: the tuple would be built on the heap every tick.)
            other = probes.INFLOW_2 if i == probes.INFLOW else probes.INFLOW
            if p.valid[other]:
                return other
            return probes.HEATER_OUTLET if p.valid[probes.HEATER_OUTLET] else _NONE
        if i == probes.HEATER_OUTLET:
            if p.valid[probes.INFLOW]:
                return probes.INFLOW
            if p.valid[probes.INFLOW_2]:
                return probes.INFLOW_2
            if outlet_model_c is not None:
                return _MODEL
            return probes.RESERVOIR if p.valid[probes.RESERVOIR] else _NONE
        if i == probes.RESERVOIR and outlet_model_c is not None and p.valid[probes.HEATER_OUTLET]:
            return _DEPARTURE
        if i == probes.OUTFLOW or i in probes.ABDOMINAL:
            for w in probes.ABDOMINAL:
                if w != i and p.valid[w]:
                    return w
            if i != probes.OUTFLOW and p.valid[probes.OUTFLOW]:
                return probes.OUTFLOW
        return _NONE
