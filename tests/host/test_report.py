"""Reports from a recorded session: the summary a clinician reads, PDF, PNG, CSV, and the history list."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hipec import plans
from hipec.cli import main
from hipec.report import summarize, summary_rows, write_report
from hipec.thermal_dose import cem43
from hipec.store import Store
from hipec.tables import NO_READING as NO, PHASE_NAMES, TELEMETRY_FIELDS, protocol


def record(seq: int, phase: str, inflow_mc: int, treatment_s: int, controlled_mc: int | None = None,
           in_band: bool = False) -> list[int | None]:
    values = {"seq": seq, "t_ms": seq * 1000, "phase": PHASE_NAMES.index(phase), "inflow_mc": inflow_mc,
              "outflow_mc": 41000, "abdominal_1_mc": 41500, "abdominal_2_mc": 41400, "reservoir_mc": 40000,
              "abdominal_3_mc": NO, "abdominal_4_mc": NO, "inflow_2_mc": inflow_mc, "heater_outlet_mc": 43300,
              "setpoint_mc": 43000, "heater_demand_pm": 150,
              "flow_ml_min": 500, "volume_ml": seq * 8, "pressure_mmhg": 110, "treatment_s": treatment_s,
              "flags": protocol.FLAG_IN_BAND if in_band else 0, "alarms": 0, "controlled_mc": controlled_mc}
    return [values[name] for name in TELEMETRY_FIELDS]


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Store, int, Path]:
    db = tmp_path / "record.sqlite"
    store = Store(db)
    plan = plans.SessionPlan(drugs=[plans.Drug("cisplatin", 80.0)])
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
    assert (tmp_path / "r" / f"session-{session}-record.pdf").exists()
    capsys.readouterr()
    assert main(["report", "99", "--db", str(db)]) == 2
    assert capsys.readouterr().err == (f"hipec report: no session 99 in {db}; `hipec history --db {db}` lists the "
                                       "sessions\n")
    missing = tmp_path / "missing.sqlite"
    assert main(["history", "--db", str(missing)]) == 2
    assert capsys.readouterr().err == (f"hipec history: error: no record at {missing}; give the record file with "
                                       "--db (default hipec-record.sqlite, in the folder `hipec run` was started "
                                       "from)\n")
    not_a_record = tmp_path / "notes.txt"
    not_a_record.write_text("these are not records")
    assert main(["report", "1", "--db", str(not_a_record)]) == 2
    assert capsys.readouterr().err == (f"hipec report: error: {not_a_record} is not a hipec record (file is not a "
                                       "database); give the record file with --db\n")


def test_alarms_and_operator_actions_are_numbered_on_the_figure(recorded: tuple[Store, int, Path]) -> None:
    from hipec.record_plot import event_marks

    store, session, _db = recorded
    store.add_event(session, "operator", {"action": "event", "note": "drug added", "t_ms": 61000, "session_s": 60.0})
    marks = [(m.number, m.minute, m.text) for m in event_marks(store, session)]
    assert marks == [(1, 4000 / 60000.0, "temp_high (high)"), (2, 1.0, "operator: drug added")]


def test_cem43_against_hand_computed_doses() -> None:
    """Sapareto and Dewey: R = 0.5 at or above 43 degC, 0.25 below; each interval at its mean temperature."""
    def steady(temp_c: float, minutes: int) -> list[tuple[float, float]]:
        return [(s * 10.0, temp_c) for s in range(minutes * 6 + 1)]  # a reading every 10 s

    assert cem43(steady(43.0, 60)) == pytest.approx(60.0)  # 60 min at 43: 60 equivalent minutes
    assert cem43(steady(44.0, 10)) == pytest.approx(20.0)  # 10 min x 0.5^-1
    assert cem43(steady(42.0, 10)) == pytest.approx(2.5)  # 10 min x 0.25^1
    assert cem43(steady(41.0, 30)) == pytest.approx(1.875)  # 30 min x 0.25^2
    assert cem43(steady(45.0, 1)) == pytest.approx(4.0)  # 1 min x 0.5^-2
    # A ramp 42 -> 44 in one interval counts at its mean, 43 degC: 1 minute.
    assert cem43([(0.0, 42.0), (60.0, 44.0)]) == pytest.approx(0.0)  # a 60 s gap is no interval
    assert cem43([(0.0, 42.0), (30.0, 44.0)]) == pytest.approx(0.5)
    # A gap in the readings (a reset) is not counted: two 10-minute stretches at 43 around an hour's gap.
    joined = steady(43.0, 10) + [(t + 4200.0, v) for t, v in steady(43.0, 10)]
    assert cem43(joined) == pytest.approx(20.0)


def test_the_report_reads_the_boards_verdicts_not_its_own(tmp_path: Path) -> None:
    """A cascade session: the board held the cavity (controlled_mc) in band while the inflow ran 0.9 degC
    above the target, and its timer stopped for 20 s when the cavity left the band. The report takes
    the board's verdict on every record and the board's timer, never the inflow against 0.1 degC."""
    store = Store(tmp_path / "cascade.sqlite")
    describe = {"phases": list(PHASE_NAMES), "telemetry_fields": list(TELEMETRY_FIELDS),
                "alarms": list(protocol.ALARM_NAMES), "flags": list(protocol.FLAG_NAMES)}
    plan = {"target_temp_c": 43.0, "duration_min": 1.0, "volume_l": 5.0, "flow_ml_min": 500.0,
            "controlled_point": "abdominal"}
    session = store.new_session("emulated", "0.2.0", plan, {"boot_id": 1}, describe, {"band_c": 0.2})
    rows = [record(1 + i, "TREATMENT", 43900, i + 1 if i < 80 else 80, 43050 if i < 80 else 43350, i < 80)
            for i in range(100)]
    store.add_telemetry(session, rows)
    summary = summarize(store, session)
    assert summary.treatment_min == 80 / 60.0  # the board's timer
    assert summary.time_in_band_pct == 80.0  # the board's flag on each record
    assert abs(summary.max_deviation_c - 0.35) < 1e-9  # of the cavity, the value the board controlled
    assert dict(summary_rows(store, session))["time in ±0.2 °C (treatment)"] == "80.0 %"


def test_the_treatment_timer_counts_every_boot(tmp_path: Path) -> None:
    store = Store(tmp_path / "boots.sqlite")
    session = store.new_session("emulated", "0.2.0", {"target_temp_c": 43.0})
    store.add_telemetry(session, [record(s, "TREATMENT", 43000, s) for s in range(1, 71)], boot=1)
    store.add_telemetry(session, [record(s, "TREATMENT", 43000, s) for s in range(1, 31)], boot=2)
    assert summarize(store, session).treatment_min == 100 / 60.0
