"""Bumpless start from any circuit temperature (in-process firmware, bench/inprocess.py). A session
started on a circuit still warm from the last one (the perfusate as warm as the plant model allows,
42 degC) once drove the heater to full power: the inflow overshot and `temp_high` faulted. From every
starting temperature the heat-up now reaches the target without overshoot or alarm, and the heater
starts from what the warm fluid needs rather than from full power."""
from __future__ import annotations

from dataclasses import replace

import pytest
from heatup import BAND_C, run_heat_up

from hipec import REPO_ROOT
from inprocess import Harness  # on the path through heatup
from plant_file import load_all

# Treatment watched this long after it begins (the heat-up's end and the first minutes of control).
AFTER_TREATMENT_S = 120.0
GIVE_UP_S = 1800.0
# Power a circuit within 1 degC of the target needs at the outset, at most: its loss and the fluid's last
# degree at 500 mL/min (35 W), far from the heater's 1500 W.
WARM_START_DUTY_PM = 400


@pytest.mark.parametrize("plant", ["default", "long-lines"])
@pytest.mark.parametrize("start_c", [22.0, 36.0, 40.0, 42.0])
def test_a_session_starts_bumplessly_from_any_circuit_temperature(plant: str, start_c: float) -> None:
    params, plan, config = load_all(REPO_ROOT / "bench" / "plants" / f"{plant}.toml")
    h = Harness(replace(params, perfusate_start_c=start_c), replace(plan, duration_min=10.0), config)
    first_minute_pm = [0]

    def heater_in_the_first_minute(h: Harness, t_s: float) -> None:
        if t_s <= 60.0:
            first_minute_pm[0] = max(first_minute_pm[0], h.board.heater_pm)

    run = run_heat_up(h, AFTER_TREATMENT_S, GIVE_UP_S, heater_in_the_first_minute)
    assert run.treatment_s >= AFTER_TREATMENT_S and not run.raised, (h.ctl.session.phase, run.raised)
    assert run.patient_max_c <= plan.target_temp_c + BAND_C, run.patient_max_c
    if start_c >= plan.target_temp_c - 1.0:
        assert first_minute_pm[0] <= WARM_START_DUTY_PM, first_minute_pm[0]
