# Cascade outer loop: cavity error to inflow setpoint, capped at the absolute limit, slew-limited.
from controller import cascade, safety
from controller.config import Config

DT_S = 0.1
# Slack on the slew per step: a few units in the last place of a setpoint near 44 degC in single
# precision, the chips' floats (3.8e-6 degC an ulp); 1e-9 held only in double precision.
SLEW_SLACK_C = 2e-5


def test_inflow_setpoint_never_exceeds_the_absolute_limit_and_moves_at_the_slew_rate():
    cfg = Config()
    outer = cascade.CavityController(cfg)
    previous = 41.0
    for _ in range(3000):  # a cavity far below target for five minutes
        sp = outer.update(41.0, 36.0, DT_S)
        assert sp <= safety.ABS_MAX_SETPOINT_C
        assert sp - previous <= cfg.cascade_slew_c_per_s * DT_S + SLEW_SLACK_C
        previous = sp
    assert sp == safety.ABS_MAX_SETPOINT_C
    # The cavity far above target: the setpoint goes down, not below the floor, at the same rate.
    for _ in range(3000):
        sp = outer.update(41.0, 45.0, DT_S)
        assert previous - sp <= cfg.cascade_slew_c_per_s * DT_S + SLEW_SLACK_C
        previous = sp
    assert sp == cascade.MIN_INFLOW_SETPOINT_C


def test_integrator_tracks_the_cap_instead_of_winding_up():
    cfg = Config()
    outer = cascade.CavityController(cfg)
    for _ in range(20000):  # 33 min at the cap, cavity 1 degC low (inside the integrator's band)
        outer.update(41.0, 40.0, DT_S)
    # Back-calculation settles the integrator at the cap's offset from the target, no further.
    assert abs(outer.integral_c - (safety.ABS_MAX_SETPOINT_C - 41.0)) < 0.01, outer.integral_c
    outer.reset()
    assert outer.integral_c == 0.0 and outer.inflow_setpoint_c == 0.0


def test_first_order_cavity_settles_at_the_target_without_offset():
    """A cavity that loses heat to the patient: it needs an inflow degrees above it, which the
    integrator must supply; the error ends within a hundredth of a degree."""
    cfg = Config()
    outer = cascade.CavityController(cfg)
    cavity = 38.0
    flow_w_per_c = 500.0 * 4.18 / 60.0
    for _ in range(int(3600 / DT_S)):
        inflow = outer.update(40.0, cavity, DT_S)
        loss_w = 15.0 * (cavity - 37.0) + 3.0 * (cavity - 22.0)
        cavity += (flow_w_per_c * (inflow - cavity) - loss_w) * DT_S / (3500.0 * 4.18)
    assert abs(cavity - 40.0) < 0.01, cavity
    assert 42.0 < inflow < safety.ABS_MAX_SETPOINT_C
