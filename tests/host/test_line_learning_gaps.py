"""The inflow line learnt (line_delay.py) across what breaks its readings' run (in-process firmware,
bench/inprocess.py). A flow change early in the heat-up and heating held for five minutes in treatment
each once named a line of 10 mL for the reference circuit's 150 mL (a decision on sums where only the
short delays had been scored; the readings before and after the pause spliced together); the predictor
then took the line to lose 3.5-4.2 W/degC and the inflow rose to 43.35 degC. A session started after an
abort kept the last circuit's line. The flow change still names 10 mL (an expected failure below), but
the line's loss learnt over it is bounded and the inflow stays in band."""
from __future__ import annotations

from dataclasses import replace

import pytest
from heatup import BAND_C, run_heat_up

from hipec import REPO_ROOT
from hipec.tables import protocol
from inprocess import Harness  # on the path through heatup
from plant_file import load_all
# The reference circuit's inflow line, and how far from it a line found may be (a tenth, or 2.5 s of
# transit at the plan's flow).
LINE_ML = 150.0


def reference() -> Harness:
    params, plan, config = load_all(REPO_ROOT / "bench" / "plants" / "default.toml")
    return Harness(params, replace(plan, duration_min=30.0), config)


def line_ok(h: Harness, flow_ml_min: float) -> bool:
    learnt = h.ctl.line.learnt_ml
    return learnt == 0.0 or abs(learnt - LINE_ML) * 60.0 / flow_ml_min <= max(0.1 * LINE_ML * 60.0 / flow_ml_min, 2.5)


def flow_changed_early() -> tuple[Harness, float]:
    """The reference heat-up with the flow set to 450 mL/min 25 s in; the inflow's largest error from
    first reaching the target through two minutes of treatment."""
    h = reference()

    def set_flow(h: Harness, t_s: float) -> None:
        if abs(t_s - 25.0) < 0.05:
            h.send("set_flow", {"flow_ml_min": 450.0})

    run = run_heat_up(h, 120.0, 1500.0, set_flow)
    assert run.treatment_s >= 120.0 and not h.ctl.alarms.active_names()
    return h, run.error_max_c


def test_a_flow_change_early_in_the_heat_up_keeps_the_inflow_in_band() -> None:
    _h, error_max_c = flow_changed_early()
    assert error_max_c <= BAND_C, error_max_c


@pytest.mark.xfail(strict=True, reason="known: on the heat-up's smooth approach the line's loss shrinks the "
                   "inflow's changes and a shorter delay lines them up best; 10 mL is named for 150 mL "
                   "(docs/control.md, \"The inflow line's transit, learnt\")")
def test_a_flow_change_early_in_the_heat_up_names_no_wrong_line() -> None:
    h, _error = flow_changed_early()
    assert line_ok(h, 450.0), h.ctl.line.learnt_ml


def test_heating_resumed_after_it_was_held_does_not_splice_the_readings() -> None:
    h = reference()
    target_c = h.ctl.plan.target_temp_c
    h.send("start")
    t_s = treatment_s = 0.0
    while treatment_s < 300.0:
        h.step()
        t_s += 0.1
        if h.ctl.session.phase == protocol.TREATMENT:
            treatment_s += 0.1
        assert t_s < 1500.0
    h.send("pause")
    h.step()
    # Held with heating off, as app.py holds a session for an alarm that pauses it (PAUSE_HOLD): five
    # minutes without the heater's readings, the pump circulating through the bypass.
    h.ctl.session.heat_held = True
    for _ in range(3000):
        h.step()
    h.send("resume")
    inflow_max_c = 0.0
    for _ in range(4000):
        h.step()
        if not h.board.bypass:
            inflow_max_c = max(inflow_max_c, h.plant.line_in[-1])
    assert inflow_max_c <= target_c + BAND_C, inflow_max_c
    assert line_ok(h, h.ctl.plan.flow_ml_min), h.ctl.line.learnt_ml


def test_a_session_started_after_an_abort_forgets_the_last_circuit_s_line() -> None:
    h = reference()
    h.send("start")
    t_s = 0.0
    while h.ctl.session.phase != protocol.TREATMENT:
        h.step()
        t_s += 0.1
        assert t_s < 1500.0
    assert h.ctl.line.learnt_ml > 0.0 and h.ctl.heater.predictor.line_loss_w_per_c >= 0.0
    h.send("abort")
    for _ in range(3000):
        h.step()
    h.send("ack_alarm", {"alarm": "all"})
    for _ in range(10):
        h.step()
    h.send("start")
    for _ in range(20):
        h.step()
    assert h.ctl.session.phase == protocol.PRIMING
    assert h.ctl.line.learnt_ml == 0.0 and h.ctl.heater.predictor.line_loss_w_per_c < 0.0
