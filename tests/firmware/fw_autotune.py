# Relay autotune: a known first-order-plus-dead-time circuit is identified, and the settings follow.
from controller import autotune
from controller.config import Config

DT_MS = 100


def run_relay(lag_s, dead_s, amplitude_w=10.0, noise_c=0.0):
    """A circuit with the gain the autotune assumes (1 / flow c_p), a first-order lag and a pure delay,
    read through a probe with white noise of noise_c standard deviation (uniform, from a fixed sequence)
    and the probes' 1 s filter."""
    cfg = Config()
    tune = autotune.RelayTune(cfg)
    flow = 500.0
    gain = 60.0 / (flow * 4.18)
    tune.start(43.0, amplitude_w, 4, 0.02)
    delay = [43.0] * int(dead_s * 1000 / DT_MS)
    lagged = 43.0
    base = 300.0
    raw = measured = 43.0
    alpha = DT_MS / (1000.0 + DT_MS)
    seed = 12345
    for _ in range(20000):
        power = tune.update(measured, raw, base, flow, DT_MS)
        if tune.state != autotune.RUNNING:
            break
        lagged += (43.0 + gain * (power - base) - lagged) * (DT_MS / 1000.0) / lag_s
        delay.append(lagged)
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        raw = delay.pop(0) + noise_c * 3.4641 * (seed / 2147483648.0 - 0.5)  # uniform, sd noise_c
        measured += (raw - measured) * alpha
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


def test_probe_noise_widens_the_hysteresis_and_the_circuit_is_still_identified():
    """0.15 degC of probe noise within a 0.02 degC hysteresis switched the relay on the noise: a 9 s period
    and a 2.5 s dead time were stored for a circuit of 80 s and 23 s. The hysteresis is widened to three
    standard deviations of the filtered reading's noise before the first switch, and the circuit is found."""
    tune = run_relay(30.0, 20.0, amplitude_w=15.0, noise_c=0.15)
    assert tune.state == autotune.DONE, tune.message
    assert 0.08 < tune.hysteresis_c < 0.15, tune.hysteresis_c
    result = tune.finish(500.0)
    assert abs(result["lag_s"] - 30.0) < 0.2 * 30.0, result["lag_s"]
    assert abs(result["dead_time_s"] - 20.0) < 0.2 * 20.0, result["dead_time_s"]


def test_an_identification_the_noise_made_is_rejected_with_a_message():
    """Left at 0.02 degC, the hysteresis lets the noise time the relay: the periods disagree or the dead
    time comes out shorter than the element, probe and filter lags alone, and nothing is derived."""
    sigmas = autotune.HYSTERESIS_NOISE_SIGMAS
    autotune.HYSTERESIS_NOISE_SIGMAS = 0.0
    try:
        tune = run_relay(30.0, 20.0, amplitude_w=15.0, noise_c=0.15)
    finally:
        autotune.HYSTERESIS_NOISE_SIGMAS = sigmas
    assert tune.state == autotune.DONE, tune.message
    assert tune.finish(500.0) is None and tune.result is None
    assert tune.state == autotune.FAILED
    assert "disagree" in tune.message or "shorter than the element" in tune.message, tune.message
