"""A plan is held against the patient's earlier sessions in the record, not only against what it says
itself: a second session within 24 h of one this record saw, a session number already used, or a
`previous_session` older than the last recorded one is refused (each overridable with a reason); a
session aborted before treatment counts for nothing, another patient's not at all."""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from hipec import plans
from hipec.cli import main
from hipec.store import Store
from plan_files import write_plan


def recorded_session(store: Store, patient: str, phases: list[str], outcome: str) -> int:
    plan = plans.SessionPlan(patient_id=patient)
    session = store.new_session("emulated", "0.2.0", plan.board_plan().fields())
    store.add_event(session, "session_plan", plan.record())
    for phase in phases:
        store.add_event(session, "state", {"phase": phase})
    store.end_session(session, outcome)
    return session


def check(capsys: pytest.CaptureFixture[str], path: Path, db: Path) -> tuple[int, list[str]]:
    code = main(["plan", "check", str(path), "--db", str(db)])
    return code, [line.strip() for line in capsys.readouterr().err.splitlines()[1:]]


def test_a_session_within_24_h_of_a_recorded_one_is_refused(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "record.sqlite"
    store = Store(db)
    recorded_session(store, "P-0001", ["PRIMING", "HEATING", "TREATMENT", "COOLDOWN", "DRAIN", "COMPLETE"], "COMPLETE")
    ended = dt.datetime.fromtimestamp(time.time())
    # The plan, copied from the first session's, says session 1 and no previous session.
    code, problems = check(capsys, write_plan(tmp_path), db)
    assert code == 2
    seen = f"this record holds session 1 of patient P-0001, ended COMPLETE {ended:%Y-%m-%d %H:%M}"
    assert problems == [
        f"patient.previous_session: {seen}, 0.0 h ago; the standard needs at least 24 h between sessions "
        "(an [[override]] of this field with a reason allows it)",
        f"patient.session_number: session 1, but {seen} and 1 treated session(s) of this patient in all: this one "
        "is session 2 (an [[override]] of this field with a reason allows it)"]
    # Numbered right and dated, but the plan's previous session is older than the recorded one.
    path = write_plan(tmp_path, ("session_number = 1 ", "session_number = 2 "),
                     ('previous_session = ""', 'previous_session = "2026-11-01T09:00"'))
    code, problems = check(capsys, path, db)
    assert code == 2 and problems[0].startswith(f"patient.previous_session: {seen}, 0.0 h ago")
    assert problems[1] == (f"patient.previous_session: 2026-11-01T09:00 is before the last session {seen} (an "
                           "[[override]] of this field with a reason allows it)")
    # An override with a reason lets it run (a session given to this patient elsewhere meanwhile...).
    overridden = path.read_text() + ('[[override]]\nfield = "patient.previous_session"\n'
                                     'reason = "the surgeon repeats the treatment today after a pump failure"\n')
    path.write_text(overridden)
    assert main(["plan", "check", str(path), "--db", str(db)]) == 0


def test_sessions_aborted_before_treatment_and_other_patients_count_for_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "record.sqlite"
    store = Store(db)
    recorded_session(store, "P-0001", ["PRIMING", "ABORTED"], "ABORTED")  # no drug given
    recorded_session(store, "P-0002", ["PRIMING", "HEATING", "TREATMENT", "COMPLETE"], "COMPLETE")
    assert main(["plan", "check", str(write_plan(tmp_path)), "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith("plan OK: patient P-0001, session 1")


def test_a_plan_checked_without_a_record_makes_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "none-yet.sqlite"
    assert main(["plan", "check", str(write_plan(tmp_path)), "--db", str(db)]) == 0 and not db.exists()
