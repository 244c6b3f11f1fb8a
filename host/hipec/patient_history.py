"""The patient's earlier sessions in the record, held against a plan before it runs: the 24 h between
sessions and the session's number are checked against what this record saw, not only against what the
plan says (a plan copied from the last session, or a wrong `previous_session`, would pass on its own).

Only sessions that reached TREATMENT count: a session aborted while priming gave no drug.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hipec.plan_rules import MIN_HOURS_BETWEEN_SESSIONS, Problem
from hipec.plans import SessionPlan
from hipec.record_data import session_plan
from hipec.store import Store


@dataclass(frozen=True)
class PriorSession:
    session_id: int
    ended: dt.datetime  # when it ended; when it started for a session still open in the record
    outcome: str


def prior_sessions(store: Store, patient_id: str) -> list[PriorSession]:
    """The patient's sessions in this record that reached TREATMENT, oldest first."""
    found = []
    for row in store.sessions():
        plan = session_plan(store, row.id)
        if plan is None or plan.get("patient_id") != patient_id:
            continue
        states = [d.get("phase") for _at, kind, d in store.events(row.id) if kind == "state"]
        if "TREATMENT" not in states:
            continue
        ended = dt.datetime.fromtimestamp(row.ended_at if row.ended_at is not None else row.started_at)
        found.append(PriorSession(row.id, ended, row.outcome or "not ended"))
    return found


def history_problems(plan: SessionPlan, prior: list[PriorSession], now: dt.datetime) -> list[Problem]:
    """What the record contradicts in the plan; each may be overridden with a reason (a session given
    elsewhere, a test session in this record)."""
    if not prior:
        return []
    last = prior[-1]
    seen = f"this record holds session {last.session_id} of patient {plan.patient_id}, ended {last.outcome} " \
           f"{last.ended:%Y-%m-%d %H:%M}"
    problems = []
    hours = (now - last.ended).total_seconds() / 3600.0
    if hours < MIN_HOURS_BETWEEN_SESSIONS:
        problems.append(Problem("patient.previous_session", f"{seen}, {hours:.1f} h ago; the standard needs at least "
                                f"{MIN_HOURS_BETWEEN_SESSIONS:g} h between sessions", overridable=True))
    number = plan.session_number
    if isinstance(number, int) and number <= len(prior):
        problems.append(Problem("patient.session_number", f"session {number}, but {seen} and {len(prior)} treated "
                                f"session(s) of this patient in all: this one is session {len(prior) + 1}",
                                overridable=True))
    stated = plan.previous_session
    if stated:
        try:
            previous = dt.datetime.fromisoformat(str(stated))
        except ValueError:
            return problems  # the plan's own check names it
        if previous < last.ended - dt.timedelta(minutes=1):
            problems.append(Problem("patient.previous_session", f"{stated} is before the last session {seen}",
                                    overridable=True))
    return problems
