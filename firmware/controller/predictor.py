"""Smith predictor: the controlled temperature as it will be once the inflow line's transit and the probe's
lag have passed, so that the heater's loop does not wait for them.

The heat exchanger is modelled as a mixed volume fed with the fluid entering it and heated by the
element model, losing circuit_loss_w_per_c to the room. The model's error is what a probe reads less
what the model says that probe reads, low-passed (smith_filter_s: the model's lumped lags differ from
the real ones in transients, not on average), and the prediction is the model's outlet now plus it:
- where the exchanger-outlet probe is fitted, that probe against the model lagged like it: an element or
  exchanger unlike the configured one shows within the probe's lag instead of a line transit later.
  Plus the inflow line's offset: its loss to the room (with whatever the two probes' calibrations
  differ by). The line's transit is learnt (line_delay.py) and, once it is, the line's loss
  from what it took off the fluid one transit ago;
- without it, the inflow probe against the model delayed by the configured line and lagged like the
  probe.
"""
from micropython import const
from array import array

from controller import line_delay, probes
from controller.fluid import MIN_FLOW_ML_MIN, carried_w_per_c, centi_c, exchanger_step
from controller.line_delay import LineDelay

# The model's outlet, one sample every 0.5 s for 128 s, longer than the configured line's transit at any
# treatment flow (300 mL at 400 mL/min is 45 s); longer transits are clamped.
_HISTORY_PERIOD_S = const(0.5)
HISTORY_SAMPLES = 256
# The line's loss is learnt the slower the more the outlet has moved over the transit: at _LINE_ALIKE_C
# half as fast (a transit a few seconds off from the learnt one, through a heat-up's steep front of
# 0.05-0.3 degC/s, would read as degrees of loss).
_LINE_ALIKE_C = const(0.2)
# Until it is learnt, the inflow line is taken to lose this share of the configured circuit loss (the
# exchanger's and the inflow line's together): the reference circuit's split (docs/plant-model.md: the
# exchanger 1 W/degC, each line 0.5). A share by volume took a 0.3 L line for 0.8 W/degC, and a
# circuit started warm at 42 degC, where the transit never shows, reached 43.11 degC at the patient.
_LINE_LOSS_SHARE = const(1.0 / 3.0)
# The learnt loss stays within the lossiest inflow line the plant model documents (docs/plant-model.md:
# line_loss_w_per_c up to 5 W/degC; 4.1 degC lost at 400 mL/min).
_LINE_LOSS_MAX_W_PER_C = const(5.0)
# Below this much over the room the line's loss is too small a share of the readings to learn it.
_LINE_LOSS_MIN_OVER_ROOM_C = const(5.0)


class Predictor:
    """Preallocated; start() when heating starts, update() once a tick while it lasts. It learns the
    inflow line's transit into line (the controller's, which the flush reads too)."""

    def __init__(self, config, line=None):
        self.config = config
        self.outlet_model_c = 0.0  # the modelled exchanger outlet now
        self.history_cc = array("h", bytes(2 * HISTORY_SAMPLES))  # its past, hundredths of a degree
        self.history_next = 0
        self.history_s = 0.0
        # Without an outlet probe: the model as the inflow probe sees it, and the correction.
        self.probe_model_c = 0.0
        self.correction_c = 0.0
        # With one: the model as the outlet probe sees it, the correction, and the line's offset.
        self.outlet_probe_model_c = 0.0
        self.outlet_correction_c = 0.0
        self.line_offset_c = 0.0
        self.line_loss_w_per_c = -1.0  # as learnt; below 0 not yet (line_loss_used())
        self.line = line if line is not None else LineDelay()  # the inflow line's transit (line_delay.py)

    def start(self, measured_c, outlet_c):
        """Heating starts: the exchanger at what its outlet reads (the reservoir where no outlet probe is
        fitted), the inflow line at what the inflow reads."""
        self.outlet_model_c = outlet_c
        measured_cc = centi_c(measured_c)
        for i in range(HISTORY_SAMPLES):
            self.history_cc[i] = measured_cc
        self.history_next = 0
        self.history_s = 0.0
        self.probe_model_c = measured_c
        self.correction_c = 0.0
        self.outlet_probe_model_c = outlet_c
        self.outlet_correction_c = 0.0
        self.line.gap()  # heating stopped for a while: the readings before do not run on into these
        if not self.line.known():
            self.line_loss_w_per_c = -1.0

    def line_loss_used(self):
        """The inflow line's loss to the room, W/degC, as learnt; until then _LINE_LOSS_SHARE of the
        configured circuit loss."""
        if self.line_loss_w_per_c >= 0.0:
            return self.line_loss_w_per_c
        return _LINE_LOSS_SHARE * self.config.circuit_loss_w_per_c

    def update(self, measured_c, entering_c, flow_ml_min, element_w, dt_s, outlet_c):
        """The prediction this tick (measured_c: the inflow reading; entering_c: the fluid entering the
        exchanger; element_w: what the element model delivers; outlet_c: the exchanger outlet's reading,
        None where none is fitted)."""
        cfg = self.config
        t = exchanger_step(self.outlet_model_c, entering_c, flow_ml_min, element_w, cfg.heater_volume_ml, cfg, dt_s)
        self.outlet_model_c = t
        self.history_s += dt_s
        if self.history_s >= _HISTORY_PERIOD_S:
            self.history_s -= _HISTORY_PERIOD_S
            self.history_cc[self.history_next] = centi_c(t)
            self.history_next = (self.history_next + 1) % HISTORY_SAMPLES
        # Both corrections are kept up, so that an outlet probe that fails (or comes back) changes the
        # prediction by no more than the two models' difference.
        sensed = dt_s / (cfg.probe_tau_s + probes.FILTER_TAU_S + dt_s)  # (each weight once: floats are heap objects)
        smith = dt_s / (cfg.smith_filter_s + dt_s)
        if flow_ml_min > MIN_FLOW_ML_MIN:
            delay = int(cfg.inflow_line_ml * 60.0 / flow_ml_min / _HISTORY_PERIOD_S + 0.5)
            if delay >= HISTORY_SAMPLES:
                delay = HISTORY_SAMPLES - 1
            at_line_end = self.history_cc[(self.history_next - 1 - delay) % HISTORY_SAMPLES] / 100.0
            self.probe_model_c += (at_line_end - self.probe_model_c) * sensed
        self.correction_c += (measured_c - self.probe_model_c - self.correction_c) * smith
        self.outlet_probe_model_c += (t - self.outlet_probe_model_c) * sensed
        if outlet_c is None:
            self.line.gap()
            return t + self.correction_c
        self.line.update(outlet_c, measured_c, flow_ml_min, dt_s)
        self.outlet_correction_c += (outlet_c - self.outlet_probe_model_c - self.outlet_correction_c) * smith
        self._line_offset(measured_c, outlet_c, flow_ml_min, dt_s)
        return t + self.outlet_correction_c + self.line_offset_c

    def _line_offset(self, measured_c, outlet_c, flow_ml_min, dt_s):
        """The inflow line's loss, learnt from what it took off the fluid one transit ago, the slower the
        more that fluid differs from what the outlet reads now; and the offset it makes at the outlet's
        temperature. Until the transit is found, the configured one is used, and only as far as the
        outlet has not moved over the longest transit either (a circuit started warm may never move
        enough to show its transit)."""
        cfg = self.config
        line = self.line
        carried = carried_w_per_c(flow_ml_min if flow_ml_min > MIN_FLOW_ML_MIN else MIN_FLOW_ML_MIN)
        loss = self.line_loss_used()
        transit_s = line.volume_ml(cfg.inflow_line_ml) * 60.0 / flow_ml_min if flow_ml_min > MIN_FLOW_ML_MIN else 0.0
        # Only over readings of the present stretch, reaching one transit back (the longest while the
        # transit is not known).
        if transit_s > 0.0 and line.seen_s() > (transit_s if line.known() else line_delay.LONGEST_S):
            then_c = line.outlet_c_before(transit_s)
            moved_c = outlet_c - then_c
            if not line.known():
                moved_c = abs(moved_c) + abs(outlet_c - line.outlet_c_before(line_delay.LONGEST_S))
            over_room_c = then_c - cfg.room_temp_c
            if over_room_c > _LINE_LOSS_MIN_OVER_ROOM_C:
                seen = (then_c - measured_c) * carried / over_room_c
                moved = moved_c / _LINE_ALIKE_C
                loss += (seen - loss) * dt_s / (cfg.smith_filter_s * (1.0 + moved * moved) + dt_s)
                loss = 0.0 if loss < 0.0 else (_LINE_LOSS_MAX_W_PER_C if loss > _LINE_LOSS_MAX_W_PER_C else loss)
                self.line_loss_w_per_c = loss
        self.line_offset_c = -loss * (outlet_c - cfg.room_temp_c) / carried
