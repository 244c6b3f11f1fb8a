"""Cascade outer loop: the intra-abdominal temperature held at the target by moving the inflow setpoint.

The inner loop (heater.py) holds the inflow at whatever this asks, and this asks at most the absolute
setpoint limit (44.0 degC): the cavity gets no hotter fluid than the inflow limit allows, whatever its
own error. A PI; the integrator acts only within cascade_band_c of the target, and while the inflow setpoint is
at a limit it tracks the limit (back-calculation) rather than winding up. The inflow
setpoint it asks for moves at a limited rate. Whether the
target is reachable at all under that cap is physics, not tuning (docs/benchmarks.md): at 500 mL/min the
inflow carries only ~35 W per degC of inflow-to-cavity difference against the patient's uptake.
"""
from controller import safety

# Lowest inflow setpoint the outer loop may ask for: cooling the cavity is not the heater's job.
MIN_INFLOW_SETPOINT_C = 37.0


class CavityController:
    def __init__(self, config):
        self.config = config
        self.integral_c = 0.0
        self.inflow_setpoint_c = 0.0

    def reset(self):
        self.integral_c = 0.0
        self.inflow_setpoint_c = 0.0

    def update(self, target_c, cavity_c, dt_s):
        """Return the inflow setpoint for this tick."""
        cfg = self.config
        error = target_c - cavity_c
        high = safety.ABS_MAX_SETPOINT_C
        p = cfg.cascade_kp * error
        unclamped = target_c + p + self.integral_c
        clamped = high if unclamped > high else (MIN_INFLOW_SETPOINT_C if unclamped < MIN_INFLOW_SETPOINT_C
                                                 else unclamped)
        if -cfg.cascade_band_c < error < cfg.cascade_band_c:
            # Back-calculation (tracking time = integral time): at the cap the integrator settles where
            # the cap is, so it leaves the cap already carrying most of the large steady offset a cavity
            # needs (the inflow sits degrees above the cavity), instead of building it for many minutes.
            self.integral_c += (p + clamped - unclamped) * dt_s / cfg.cascade_ti_s
        out = target_c + p + self.integral_c
        if out > high:
            out = high
        elif out < MIN_INFLOW_SETPOINT_C:
            out = MIN_INFLOW_SETPOINT_C
        # The inflow setpoint moves no faster than the inner loop can follow without overshoot (and
        # without cooling, which it cannot do): cavity probes emerging from tissue into fluid jump.
        previous = self.inflow_setpoint_c if self.inflow_setpoint_c > 0.0 else target_c
        step = cfg.cascade_slew_c_per_s * dt_s
        if out > previous + step:
            out = previous + step
        elif out < previous - step:
            out = previous - step
        self.inflow_setpoint_c = out
        return out
