# Heater output stage: PWM duty, SSR time-proportioning with exact average power.
from controller import heater_output
from controller.config import Config

TICK_MS = 100


def test_pwm_passes_the_duty_through_rounded_and_clamped():
    cfg = Config()
    out = heater_output.HeaterOutput(cfg)
    assert out.duty_pm(cfg.heater_rated_w * 0.4567, TICK_MS) == 457
    assert out.duty_pm(-5.0, TICK_MS) == 0
    assert out.duty_pm(cfg.heater_rated_w * 2, TICK_MS) == 1000


def test_ssr_switches_whole_ticks_at_the_start_of_each_window():
    cfg = Config()
    cfg.heater_output = heater_output.SSR
    cfg.ssr_period_ms = 2000
    out = heater_output.HeaterOutput(cfg)
    window = [out.duty_pm(cfg.heater_rated_w * 0.25, TICK_MS) for _ in range(20)]
    assert window == [1000] * 5 + [0] * 15


def test_ssr_average_power_is_exact_over_time():
    cfg = Config()
    cfg.heater_output = heater_output.SSR
    cfg.ssr_period_ms = 1000
    for pm in (0, 1, 37, 333, 500, 999, 1000):
        out = heater_output.HeaterOutput(cfg)
        ticks = 10000
        on = sum(out.duty_pm(cfg.heater_rated_w * pm / 1000.0, TICK_MS) for _ in range(ticks)) // 1000
        # on-ticks out of 10000 must match the duty to within one tick
        assert abs(on - pm * ticks // 1000) <= 1, (pm, on)
        assert all(out.duty_pm(cfg.heater_rated_w * pm / 1000.0, TICK_MS) in (0, 1000) for _ in range(30))


def test_the_element_is_told_the_window_average_on_an_ssr():
    cfg = Config()
    cfg.heater_output = heater_output.SSR
    cfg.ssr_period_ms = 2000
    out = heater_output.HeaterOutput(cfg)
    duties = [out.duty_pm(cfg.heater_rated_w * 0.25, TICK_MS) for _ in range(20)]
    assert duties[0] == 1000 and duties[-1] == 0
    assert out.average_pm(duties[-1]) == 250  # the window's share, whatever this tick's switch state
    cfg.heater_output = heater_output.PWM
    assert out.average_pm(437) == 437
