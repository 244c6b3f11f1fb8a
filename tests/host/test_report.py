"""Reports from a recorded session: the summary a clinician reads, PDF, PNG, CSV, and the history list."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hipec import plans
from hipec.cli import main
from hipec.report import PHASES, summary_rows, write_report
from hipec.store import TELEMETRY_FIELDS, Store

NO = -1000000


def record(seq: int, phase: str, inflow_mc: int, treatment_s: int) -> list[int]:
    values = {"seq": seq, "t_ms": seq * 1000, "phase": PHASES.index(phase), "inflow_mc": inflow_mc,
              "outflow_mc": 41000, "abdominal_1_mc": 41500, "abdominal_2_mc": 41400, "reservoir_mc": 40000,
              "abdominal_3_mc": NO, "abdominal_4_mc": NO, "setpoint_mc": 43000, "heater_pm": 150,
              "flow_ml_min": 500, "volume_ml": seq * 8, "pressure_mmhg": 110, "treatment_s": treatment_s,
              "flags": 0, "alarms": 0}
    return [values[name] for name in TELEMETRY_FIELDS]


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Store, int, Path]:
    db = tmp_path / "record.sqlite"
    store = Store(db)
    plan = plans.SessionPlan(drugs=[("cisplatin", 80.0)])
    session = store.new_session("emulated", "0.2.0", plan.board_plan().fields())
    rows = [record(1, "PRIMING", 30000, 0), record(2, "HEATING", 42950, 0)]
    # 100 s of treatment: 90 in band, 10 at +0.15 degC
    rows += [record(3 + i, "TREATMENT", 43150 if i < 10 else 43020, i + 1) for i in range(100)]
    rows += [record(103, "COOLDOWN", 41000, 100), record(104, "COMPLETE", 40000, 100)]
    store.add_telemetry(session, rows)
    store.add_event(session, "session_plan", plan.record())
    store.add_event(session, "operator", {"action": "start"})
    store.add_event(session, "alarm", {"seq": 1, "t_ms": 5000, "alarm": "temp_high", "priority": "high",
                                       "state": "raised", "value": 43.6}, boot=1, seq=1)
    store.end_session(session, "COMPLETE")
    return store, session, db


def test_summary_says_what_was_planned_and_what_happened(recorded: tuple[Store, int, Path]) -> None:
    store, session, _db = recorded
    rows = dict(summary_rows(store, session))
    assert rows["patient"] == "P-0001, session 1"
    assert rows["drugs"] == "cisplatin 80 mg in saline"
    assert rows["time in ±0.1 °C (treatment)"] == "90.0 %"
    assert rows["largest deviation (treatment)"] == "0.150 °C"
    assert rows["treatment time in band"] == "1.7 min"
    assert rows["alarms raised"] == "temp_high (high)"
    assert rows["phases"] == "PRIMING → HEATING → TREATMENT → COOLDOWN → COMPLETE"


def test_report_files(recorded: tuple[Store, int, Path], tmp_path: Path) -> None:
    store, session, _db = recorded
    pdf, png, table = write_report(store, session, tmp_path / "out")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.read_bytes().count(b"/Type /Page\n") + \
        pdf.read_bytes().count(b"/Type /Page ") >= 2
    assert png.stat().st_size > 20_000
    with table.open() as f:
        lines = list(csv.DictReader(f))
    assert len(lines) == 104 and lines[5]["inflow_c"] == "43.150" and lines[5]["abdominal_3_c"] == ""
    assert lines[-1]["phase_name"] == "COMPLETE"


def test_report_and_history_commands(recorded: tuple[Store, int, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    _store, session, db = recorded
    assert main(["history", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "COMPLETE" in out and "patient P-0001" in out and "90.0 % in band" in out
    assert main(["report", str(session), "--db", str(db), "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / f"session-{session}-report.pdf").exists()
    assert main(["report", "99", "--db", str(db)]) == 2
    assert "no session 99" in capsys.readouterr().err
    assert main(["history", "--db", str(tmp_path / "missing.sqlite")]) == 2
    assert "no record at" in capsys.readouterr().err


def test_alarms_and_operator_actions_go_on_the_timeline(recorded: tuple[Store, int, Path]) -> None:
    from hipec.report import board_event_marks

    store, session, _db = recorded
    store.add_event(session, "operator", {"action": "event", "note": "drug added", "t_ms": 61000})
    assert board_event_marks(store, session, 1000) == [(4000 / 60000.0, "temp_high (high)"),
                                                       (1.0, "operator: drug added")]
