"""Heater control: feed-forward of the heat the circulating fluid carries, plus a flow-scheduled PI.

The feed-forward term is the power that lifts the fluid entering the heater (measured at the
reservoir) to the setpoint at the current flow. The inlet temperature is projected ff_lead_s ahead
along its filtered slope, because the power reaches the fluid only after the element's lag and the
probe reports the inlet only after its own: without the lead, a quickly warming reservoir (the first
return from the abdomen) makes the feed-forward late and the inflow overshoot. The PI term corrects what it misses (line and patient
losses, calibration); its gains follow the flow, because the circuit's gain and delays are both
inversely proportional to it. The integrator acts only near the setpoint and never while the output
is saturated in the direction of the error, so it cannot wind up during heat-up or the line delay.
Finally the power is capped so that, at the measured inlet temperature and flow, the fluid leaving
the heater cannot be heated much past the absolute setpoint limit (44.0 degC; the 45.0 degC cut-off is
the supervisor's).
"""
from controller import safety

# Volumetric heat capacity of saline/glucose perfusate, J/(mL*degC).
PERFUSATE_J_PER_ML_C = 4.18
# Flows below this do not schedule the gains further down (a stopped pump must not zero the loop).
MIN_SCHEDULE_FLOW_ML_MIN = 50.0


def carried_w_per_c(flow_ml_min):
    """Watts needed per degC of temperature rise of the fluid at this flow."""
    return flow_ml_min * (PERFUSATE_J_PER_ML_C / 60.0)


class HeaterController:
    def __init__(self, config):
        self.config = config
        self.integral_w = 0.0
        self.output_w = 0.0
        self.inlet_prev_c = 0.0
        self.inlet_slope_c_per_s = 0.0
        self.inlet_primed = False

    def reset(self):
        self.integral_w = 0.0
        self.output_w = 0.0
        self.inlet_primed = False
        self.inlet_slope_c_per_s = 0.0

    def _projected_inlet(self, inlet_c, dt_s):
        cfg = self.config
        if self.inlet_primed:
            raw = (inlet_c - self.inlet_prev_c) / dt_s
            self.inlet_slope_c_per_s += (raw - self.inlet_slope_c_per_s) * dt_s / (cfg.ff_slope_tau_s + dt_s)
        self.inlet_prev_c = inlet_c
        self.inlet_primed = True
        return inlet_c + cfg.ff_lead_s * self.inlet_slope_c_per_s

    def update(self, setpoint_c, measured_c, inlet_c, flow_ml_min, dt_s):
        """Return the heater power in W, between 0 and the rated power."""
        cfg = self.config
        w_per_c = carried_w_per_c(flow_ml_min)
        ff = w_per_c * (setpoint_c - self._projected_inlet(inlet_c, dt_s))
        if ff < 0.0:
            ff = 0.0
        scale = flow_ml_min if flow_ml_min > MIN_SCHEDULE_FLOW_ML_MIN else MIN_SCHEDULE_FLOW_ML_MIN
        scale = scale / cfg.gain_ref_flow_ml_min
        kp = cfg.kp_w_per_c * scale
        ti = cfg.ti_s / scale
        error = setpoint_c - measured_c
        max_w = cfg.heater_rated_w
        # The heat exchanger's own loss to the room (part of circuit_loss_w_per_c) leaves before the
        # outlet, so the cap allows for it: the outlet stays within a few tenths of the limit.
        cap_w = w_per_c * (safety.ABS_MAX_SETPOINT_C - inlet_c) + cfg.circuit_loss_w_per_c * (
            safety.ABS_MAX_SETPOINT_C - cfg.room_temp_c)
        if cap_w < max_w:
            max_w = cap_w if cap_w > 0.0 else 0.0
        unclamped = ff + kp * error + self.integral_w
        near = -cfg.integral_band_c < error < cfg.integral_band_c
        if near and (unclamped < max_w or error < 0.0) and (unclamped > 0.0 or error > 0.0):
            self.integral_w += kp * error * dt_s / ti
        out = ff + kp * error + self.integral_w
        if out > max_w:
            out = max_w
        elif out < 0.0:
            out = 0.0
        self.output_w = out
        return out
