"""Heat balance: does the inflow sit where heater power, flow and the reservoir put it, and how much heat
does this circuit lose that the board was not told about?

The prediction: the reservoir reading lifted by the heater's power less the configured circuit loss,
through the element's lag, delayed by the inflow line. The inflow probe against it catches a drifting
or dislodged inflow probe, a heater stuck on and a dead heater, all of which the controller would hide.

A circuit loses heat the configuration does not know of (an exchanger or line less insulated, a colder
room): at the setpoint that shows as a steady deficit, the inflow below the prediction, and judged
against the configured loss alone it faulted sound circuits. So over the session's first minute in
which the circuit is steady (the flow, the inflow, the reservoir and the deficit itself), the deficit
is learnt as an extra loss in W/degC (the physics: a loss scales with the fluid's rise over the room,
and per degC of inflow with 1/flow), bounded by the lossiest circuit the plant model documents, and the
prediction carries it from then on. A surplus is never learnt: no circuit makes fluid hotter than its
heater's power explains. What is learnt once is kept for the session; a fault that develops later (a
drifting probe, a heater losing power) still moves the inflow away from the prediction. The figure is
reported (`diagnostics`); control does not use it (its outlet cap follows the exchanger-outlet probe).

Before that minute, during a heat-up, the prediction is only as good as the configured lags and losses,
and a deficit is expected: it is judged only beyond what the lossiest documented circuit could lose.
The supervisor judges the balance only while heating (safety.py).
"""
from micropython import const
from array import array

from controller.fluid import Rate, carried_w_per_c, centi_c

# The predicted heater outlet is delayed by the inflow line's transport time before it is compared
# with the inflow probe; the delay line holds one sample a second for up to this many seconds.
_DELAY_SLOTS = const(120)
# While the reservoir temperature moves, the lagged prediction trails it by about this many seconds
# of its slope; the tolerance widens by as much (the first return from the abdomen, a drug addition).
_SLOPE_S = const(30.0)
# Smoothing of that slope.
_SLOPE_TAU_S = const(10.0)
# How far the inflow may sit from the prediction.
TOLERANCE_C = 1.5
# The most heat a circuit the plant model documents loses beyond what it was told, per degC of fluid
# over the room: the exchanger's loss (up to 10 W/degC) and the inflow line's (up to 5 W/degC).
EXTRA_LOSS_MAX_W_PER_C = 15.0
# The deficit is learnt only where it is the circuit's steady loss, not a transient of lags the
# configuration has wrong (a heat-up's approach, an overshoot) nor a probe drifting while the controller
# holds its reading (0.5 degC/min moves the deficit 0.008 degC/s): the inflow, the reservoir and the
# deficit moving no faster than this, the heater heating.
_STEADY_C_PER_S = const(0.005)
_LEARN_MIN_W = const(50.0)
# How long the circuit is steady, the flow too, while the extra loss is learnt.
LEARN_MS = 60000


def _still(slope_c_per_s):
    return -_STEADY_C_PER_S < slope_c_per_s < _STEADY_C_PER_S


class HeatBalance:
    def __init__(self, config):
        self.config = config
        self.valid = False
        self.delay_line_cc = array("h", bytes(2 * _DELAY_SLOTS))  # hundredths of a degree (fluid.centi_c)
        self.reservoir_rate = Rate(0.0, _SLOPE_TAU_S)
        self.inflow_rate = Rate(0.0, _SLOPE_TAU_S)
        self.residual_rate = Rate(0.0, _SLOPE_TAU_S)
        self.delay_index = 0
        self.delay_ms = 0
        self._restart(0.0, 0.0)
        self.used_max = 0.0          # largest share of its tolerance the balance has used once learnt
        self.extra_loss_w_per_c = 0.0  # the circuit's loss beyond the configured one, as learnt
        self.learn_ms = 0            # steady so far while learning (LEARN_MS: learnt)
        self.learn_sum = 0.0

    def _restart(self, inflow_c, reservoir_c):
        """The prediction from the inflow's reading, every slope at rest."""
        self.predicted_outlet_c = inflow_c
        self.reservoir_rate.restart(reservoir_c)
        self.inflow_rate.restart(inflow_c)
        self.residual_rate.restart(0.0)
        self.residual_c = 0.0        # inflow reading less the prediction
        start_cc = centi_c(inflow_c)
        for i in range(_DELAY_SLOTS):
            self.delay_line_cc[i] = start_cc

    def stop(self):
        """No usable flow or inflow reading: the prediction starts afresh when there is again."""
        self.valid = False

    def forget(self):
        """A new session: the circuit may not be the one learnt."""
        self.extra_loss_w_per_c = 0.0
        self.learn_ms = 0
        self.learn_sum = 0.0
        self.used_max = 0.0

    def learnt(self):
        """The circuit's extra loss is learnt and in the prediction: the balance now judges the whole heat
        path, and a heat-up slower than the heating watch allows is this circuit's, not a fault's."""
        return self.learn_ms >= LEARN_MS

    def update(self, inflow_c, reservoir_c, heater_w, flow_ml_min, setpoint_c, steady, dt_ms):
        """The inflow against the prediction this tick; True when it is off by more than the tolerance
        (steady: the flow has been steady long enough for the prediction to have settled)."""
        cfg = self.config
        dt_s = dt_ms / 1000.0
        if not self.valid:
            self._restart(inflow_c, reservoir_c)
            self.valid = True
        carried = carried_w_per_c(flow_ml_min)
        # Losses at the heated fluid's temperature (the prediction's), not the reservoir's: in HEATING
        # the reservoir takes the cold return while the exchanger and line carry fluid at the setpoint.
        over_room_c = self.predicted_outlet_c - cfg.room_temp_c
        net_w = heater_w - (cfg.circuit_loss_w_per_c + self.extra_loss_w_per_c) * over_room_c
        target = reservoir_c + net_w / carried
        self.predicted_outlet_c += (target - self.predicted_outlet_c) * dt_s / (cfg.heater_lag_s + dt_s)
        self.delay_ms += dt_ms
        if self.delay_ms >= 1000:
            self.delay_ms -= 1000
            self.delay_index = (self.delay_index + 1) % _DELAY_SLOTS
            self.delay_line_cc[self.delay_index] = centi_c(self.predicted_outlet_c)
        delay_s = int(cfg.inflow_line_ml * 60.0 / flow_ml_min + 0.5)
        if delay_s >= _DELAY_SLOTS:
            delay_s = _DELAY_SLOTS - 1
        predicted_inflow = self.delay_line_cc[(self.delay_index - delay_s) % _DELAY_SLOTS] / 100.0
        slope = self.reservoir_rate.update(reservoir_c, dt_s)
        inflow_slope = self.inflow_rate.update(inflow_c, dt_s)
        tolerance = TOLERANCE_C + _SLOPE_S * (slope if slope > 0.0 else -slope)
        residual = inflow_c - predicted_inflow
        residual_slope = self.residual_rate.update(residual, dt_s)
        self.residual_c = residual
        if not steady:
            return False
        if not self.learnt():
            over_room = inflow_c - cfg.room_temp_c
            if heater_w >= _LEARN_MIN_W and over_room > 5.0 and _still(inflow_slope) and _still(slope) \
                    and _still(residual_slope):
                self._learn(residual, over_room, carried, dt_ms)
            # Until learnt a deficit is judged only beyond what the lossiest documented circuit loses.
            deficit_c = EXTRA_LOSS_MAX_W_PER_C * (over_room_c if over_room_c > 0.0 else 0.0) / carried
            return residual > tolerance or residual < -(tolerance + deficit_c)
        used = (residual if residual > 0.0 else -residual) / tolerance
        if used > self.used_max:
            self.used_max = used
        return residual > tolerance or residual < -tolerance

    def _learn(self, residual_c, inflow_over_room_c, carried, dt_ms):
        """Average the deficit over LEARN_MS, then take it into the prediction as a loss in W/degC.

        With a loss x the prediction lacks, inflow - prediction = -x (inflow - room) / (carried + loss)
        in steady state (loss: the configured one)."""
        self.learn_sum += residual_c * dt_ms
        self.learn_ms += dt_ms
        if self.learn_ms < LEARN_MS:
            return
        deficit_c = -self.learn_sum / self.learn_ms
        extra = deficit_c * (carried + self.config.circuit_loss_w_per_c) / inflow_over_room_c
        bounded = 0.0 if extra < 0.0 else (EXTRA_LOSS_MAX_W_PER_C if extra > EXTRA_LOSS_MAX_W_PER_C else extra)
        self.extra_loss_w_per_c = bounded
        # The prediction moves by the deficit it now explains at once, its delay line with it: left to its
        # lag and the line's delay, it would stay off for as long after the learning.
        shift_c = -deficit_c * bounded / extra if extra > 0.0 else 0.0
        self.predicted_outlet_c += shift_c
        shift_cc = centi_c(shift_c)
        for i in range(_DELAY_SLOTS):
            self.delay_line_cc[i] += shift_cc
