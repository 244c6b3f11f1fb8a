# Heater controller: limits, the outlet cap, feed-forward, anti-windup.
from controller import heater, safety
from controller.config import Config


def test_output_stays_within_zero_and_rated_power():
    cfg = Config()
    ctl = heater.HeaterController(cfg)
    for measured in (-10.0, 20.0, 42.9, 43.0, 43.5, 60.0):
        w = ctl.update(43.0, measured, 42.0, 500.0, 0.1)
        assert 0.0 <= w <= cfg.heater_rated_w


def test_power_is_capped_so_the_outlet_cannot_exceed_the_absolute_setpoint():
    cfg = Config()
    ctl = heater.HeaterController(cfg)
    inlet_c = 30.0
    w = ctl.update(43.0, 20.0, inlet_c, 500.0, 0.1)
    hx_loss_w = cfg.circuit_loss_w_per_c * (safety.ABS_MAX_SETPOINT_C - cfg.room_temp_c)
    cap = heater.carried_w_per_c(500.0) * (safety.ABS_MAX_SETPOINT_C - inlet_c) + hx_loss_w
    assert abs(w - min(cap, cfg.heater_rated_w)) < 1e-3
    assert ctl.update(43.0, 20.0, 46.0, 500.0, 0.1) == 0.0  # inlet already well above the limit


def test_feed_forward_carries_the_steady_load():
    ctl = heater.HeaterController(Config())
    w = ctl.update(43.0, 43.0, 41.0, 500.0, 0.1)
    expected = 500.0 * 4.18 / 60.0 * 2.0
    assert abs(w - expected) < 0.5, w


def test_integrator_does_not_wind_up_far_from_setpoint():
    ctl = heater.HeaterController(Config())
    for _ in range(3000):
        ctl.update(43.0, 25.0, 25.0, 500.0, 0.1)
    assert ctl.integral_w == 0.0


def test_integrator_removes_a_steady_offset_near_setpoint():
    ctl = heater.HeaterController(Config())
    cfg = ctl.config
    for _ in range(600):
        ctl.update(43.0, 42.9, 42.0, 500.0, 0.1)
    expected = cfg.kp_w_per_c * 0.1 * 60.0 / cfg.ti_s  # kp * error * time / ti at the reference flow
    assert abs(ctl.integral_w - expected) < 0.01 * expected, ctl.integral_w
    ctl.reset()
    assert ctl.integral_w == 0.0 and ctl.output_w == 0.0
