"""The plan a continued session runs is the rest of it the continuation pushed, not the plan it began with:
a bridge that takes the session up again shows the board's duration, not the original one."""
from __future__ import annotations

from hipec.continuation import plan_in_force
from hipec.runner import Plan

ORIGINAL = Plan(duration_min=60.0, flow_ml_min=450.0)


def test_a_session_never_continued_runs_the_plan_it_began_with() -> None:
    assert plan_in_force(ORIGINAL, [(0.0, "session_plan", {"patient_id": "P-1"})]) == ORIGINAL


def test_the_last_continuation_sets_the_plan_in_force() -> None:
    first = {"plan": dict(ORIGINAL.fields(), duration_min=44.8)}
    second = {"plan": dict(ORIGINAL.fields(), duration_min=12.5)}
    events = [(1.0, "continuation", first), (2.0, "alarm", {"alarm": "temp_low"}), (3.0, "continuation", second)]
    assert plan_in_force(ORIGINAL, events) == Plan(duration_min=12.5, flow_ml_min=450.0)
    # a field the board added that the host's plan does not hold is not taken for one
    extra = {"plan": dict(ORIGINAL.fields(), duration_min=30.0, board_only=1)}
    assert plan_in_force(ORIGINAL, [(1.0, "continuation", extra)]) == Plan(duration_min=30.0, flow_ml_min=450.0)
