"""Random plants of the campaign (in-process firmware, bench/inprocess.py) that raised an alarm they did
not deserve: one whose heat-up crawled its last degree on an integrator held to the band's rate
(control.md, "PID"), and one whose quiet outflow converter, in a line nothing leaves while the abdomen
fills, was taken for a stuck probe (hazards.md H6)."""
from __future__ import annotations

from heatup import run_heat_up

from campaign_plants import draw  # on the path through heatup
from inprocess import Harness

GIVE_UP_S = 3600.0


def _session(seed: int):
    plant = draw(seed, 30.0)
    return run_heat_up(Harness(plant.params, plant.plan, plant.config), 60.0, GIVE_UP_S)


def test_a_circuit_losing_far_more_than_configured_heats_up_without_no_progress() -> None:
    """Seed 192: an exchanger losing 8.7 W/degC where the circuit is configured to lose 1.5, 130 W more
    at the target; the inflow crawled its last degree for 18 min in PRIMING and raised no_progress."""
    run = _session(192)
    assert run.treatment_s >= 60.0, run
    assert "no_progress" not in run.raised, run.raised


def test_a_quiet_outflow_converter_in_a_filling_abdomen_is_no_stuck_probe() -> None:
    """Seed 139: 0.0002 degC of converter noise; monitor_probe_failed three times in HEATING."""
    run = _session(139)
    assert run.treatment_s >= 60.0, run
    assert "monitor_probe_failed" not in run.raised, run.raised
