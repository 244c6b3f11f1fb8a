"""What `hipec tune` prints: the relay's findings in the units the rest of the bedside prints (°C, not
the configuration's ASCII "degC")."""
from hipec.tune import describe

RESULT = {
    "pu_s": 87.2, "amplitude_c": 0.412, "flow_ml_min": 500.0, "ku_w_per_c": 86.2, "gain_c_per_w": 0.0286,
    "lag_s": 31.5, "dead_time_s": 24.1,
    "proposed": {"kp_w_per_c": 12.5, "ti_s": 41.0, "heater_volume_ml": 251.0, "inflow_line_ml": 148.0},
    "pid": {"kp_w_per_c": 19.4, "ti_s": 192.0, "td_s": 3.4},
}


def test_the_tune_result_reads_in_degrees_celsius() -> None:
    text = "\n".join(describe(RESULT))
    assert "degC" not in text
    assert "amplitude 0.412 °C" in text
    assert "ultimate gain 86.2 W/°C" in text
    assert "gain 28.60 m°C/W" in text
    assert "kp 19.4 W/°C" in text
    assert "heater_volume_ml 251, inflow_line_ml 148" in text
