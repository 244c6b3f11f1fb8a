# Relay autotune: a known first-order-plus-dead-time circuit is identified, and the settings follow.
from controller import autotune
from controller.config import Config

DT_MS = 100


def run_relay(lag_s, dead_s, amplitude_w=10.0, noise=None):
    """A circuit with the gain the autotune assumes (1 / flow c_p), a first-order lag and a pure delay."""
    cfg = Config()
    tune = autotune.RelayTune(cfg)
    flow = 500.0
    gain = 60.0 / (flow * 4.18)
    tune.start(43.0, amplitude_w, 4, 0.02)
    delay = [43.0] * int(dead_s * 1000 / DT_MS)
    lagged = 43.0
    base = 300.0
    measured = 43.0
    for tick in range(20000):
        power = tune.update(measured, base, flow, DT_MS)
        if tune.state != autotune.RUNNING:
            break
        lagged += (43.0 + gain * (power - base) - lagged) * (DT_MS / 1000.0) / lag_s
        delay.append(lagged)
        measured = delay.pop(0) + (noise(tick) if noise else 0.0)
    return tune


def test_identifies_lag_and_dead_time_of_a_known_circuit():
    for lag_s, dead_s in ((30.0, 20.0), (25.0, 45.0)):
        tune = run_relay(lag_s, dead_s)
        assert tune.state == autotune.DONE, tune.message
        result = tune.finish(500.0)
        assert abs(result["lag_s"] - lag_s) < 0.05 * lag_s, (lag_s, result["lag_s"])
        assert abs(result["dead_time_s"] - dead_s) < 0.05 * dead_s, (dead_s, result["dead_time_s"])
        proposed = result["proposed"]
        cfg = Config()
        small_lags = cfg.heater_response_s + cfg.probe_tau_s + 1.0
        assert abs(proposed["heater_volume_ml"] - result["lag_s"] * 500.0 / 60.0) < 1e-6
        assert abs(proposed["inflow_line_ml"] - (result["dead_time_s"] - small_lags) * 500.0 / 60.0) < 1e-6
        expected_kp = result["lag_s"] / (result["gain_c_per_w"] * 4.0 * result["dead_time_s"])
        assert abs(proposed["kp_w_per_c"] - expected_kp) < 1e-6
        assert abs(result["pid"]["kp_w_per_c"] - result["ku_w_per_c"] / 2.2) < 1e-9


def test_too_large_an_amplitude_stops_the_experiment_with_advice():
    tune = run_relay(30.0, 45.0, amplitude_w=200.0)
    assert tune.state == autotune.FAILED and "smaller amplitude_w" in tune.message


def test_cancel_stops_a_running_experiment():
    tune = autotune.RelayTune(Config())
    tune.start(43.0, 10.0, 4, 0.02)
    tune.cancel("the session left PRIMING")
    status = tune.status()
    assert status["state"] == "failed" and status["message"] == "the session left PRIMING"
