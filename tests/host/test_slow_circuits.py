"""Circuits much slower than the board was told (in-process firmware, bench/inprocess.py): random plants
of the campaign whose exchangers (0.64-0.95 L where 0.25 L is configured) or elements (26-55 s where 8 s
is) the runaway watch took for a stuck switch at the end of their first heat-up, and ones whose outlet
went on rising for a minute after the cap fell, past the ceiling or the target. The watch now fits the
slower circuits the plant model documents (runaway.py) and the heater leads the outlet by the
extra lag the fit finds (control.md, "Outlet cap")."""
from __future__ import annotations

import pytest
from heatup import run_heat_up

from campaign_plants import draw  # on the path through heatup
from inprocess import Harness

GIVE_UP_S = 3600.0


@pytest.mark.parametrize("seed", [87, 123, 178])
def test_a_slow_circuit_is_no_runaway(seed: int) -> None:
    """87: a 0.95 L exchanger, faulted 297 s into PRIMING; 123: a 55 s element behind 0.64 L, 287 s into
    PRIMING and, told its lag, again as treatment began; 178: a 26 s element and an exchanger losing
    0.045 W/degC where 1.5 is configured, 92 s into PRIMING."""
    plant = draw(seed, 30.0)
    h = Harness(plant.params, plant.plan, plant.config)
    run = run_heat_up(h, 120.0, GIVE_UP_S)
    assert run.treatment_s >= 120.0, run
    assert "heater_runaway" not in run.raised, run.raised


@pytest.mark.parametrize("seed, error_before_c", [(91, 0.930), (127, 1.053)])
def test_the_outlet_of_a_slow_circuit_is_led_by_its_extra_lag(seed: int, error_before_c: float) -> None:
    """91: a 38 s element behind 0.59 L and a 0.48 L line, the inflow 0.93 degC over the target in
    PRIMING; 127: a 44 s element behind 0.71 L on a converter with 0.185 degC of noise, its outlet 0.5 degC
    past the ceiling and a sample at the 45.0 degC cut-off (over_temperature), then, with the ceiling led
    alone, the inflow 1.05 degC over the target."""
    plant = draw(seed, 30.0)
    h = Harness(plant.params, plant.plan, plant.config)
    run = run_heat_up(h, 120.0, GIVE_UP_S)
    assert run.treatment_s >= 120.0, run
    assert "over_temperature" not in run.raised and "temp_high" not in run.raised, run.raised
    assert run.error_max_c < 0.3 < error_before_c, run.error_max_c
