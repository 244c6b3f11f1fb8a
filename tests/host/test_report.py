"""Reports from a recorded session: the summary a clinician reads, PDF, PNG, CSV, and the history list."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hipec import plans
from hipec.cli import main
from hipec.report import summarize, summary_rows, write_report
from hipec.thermal_dose import cem43
from plan_files import FILLED_TEMPLATE
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
    # 100 s of a 60-minute plan: the summary says the treatment was not given in full
    assert rows["treatment time in band"] == "1.7 of 60 min planned: INCOMPLETE, 58.3 min of treatment not given"
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


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_the_record_a_clinician_signs_has_every_section(tmp_path: Path) -> None:
    """A session with everything a record must say: the plan with body measures, a brand-name drug and an
    override, the board's identity, an alarm raised, acknowledged and cleared, operator actions with their
    values (a note's text, a confirmed stop, a vital sign), the drug added, and the signature lines."""
    plan_file = tmp_path / "plan.toml"
    plan_file.write_text(FILLED_TEMPLATE.replace("# weight_kg = 70.0", "weight_kg = 72.5")
                         .replace("# bsa_m2 = 1.83", "bsa_m2 = 1.86").replace('name = "cisplatin"', 'name = "Eloxatin"')
                         .replace('carrier = "saline"', 'carrier = "glucose_5"').replace("flow_ml_min = 500", "flow_ml_min = 380")
                         .replace("# [[override]]\n", '[[override]]\nfield = "perfusion.flow_ml_min"\n'
                                                      'reason = "small cavity after previous surgery, agreed"\n'))
    plan = plans.load(plan_file)
    assert plans.check(plan) == []
    store = Store(tmp_path / "record.sqlite")
    describe = {"phases": list(PHASE_NAMES), "telemetry_fields": list(TELEMETRY_FIELDS),
                "alarms": list(protocol.ALARM_NAMES), "flags": list(protocol.FLAG_NAMES)}
    hello = {"board_id": "emulated-0042", "protocol": 2, "boot_id": 1,
             "limits": {"cutoff_c": 45.0, "max_setpoint_c": 44.0, "core_critical_c": 39.5}}
    session = store.new_session("emulated", "0.2.0", plan.board_plan().fields(), hello, describe,
                                {"band_c": 0.1, "alarm_band_c": 0.5, "core_alarm_c": 38.5})
    rows = [record(1, "PRIMING", 30000, 0), record(2, "HEATING", 42950, 0)]
    rows += [record(3 + i, "TREATMENT", 43150 if i < 10 else 43020, i + 1, in_band=i >= 10) for i in range(100)]
    rows += [record(103, "COOLDOWN", 41000, 100), record(104, "COMPLETE", 40000, 100)]
    store.add_telemetry(session, rows)
    store.add_event(session, "session_plan", plan.record())
    store.add_event(session, "operator", {"action": "start"})
    for seq, (t_ms, state) in enumerate(((5000, "raised"), (9000, "acknowledged"), (12000, "cleared")), start=1):
        store.add_event(session, "alarm", {"seq": seq, "t_ms": t_ms, "alarm": "core_temp_high", "priority": "medium",
                                           "state": state, "value": 38.7}, boot=1, seq=seq)
    store.add_event(session, "operator", {"action": "vitals", "core_temp_c": 38.7, "t_ms": 4000, "session_s": 3.0})
    store.add_event(session, "operator", {"action": "vitals", "core_temp_c": 37.8, "t_ms": 8000, "session_s": 7.0})
    store.add_event(session, "operator", {"action": "event", "note": "drug added", "t_ms": 20000, "session_s": 19.0})
    store.add_event(session, "operator", {"action": "event", "note": "anaesthetist informed of the core temperature",
                                          "t_ms": 30000, "session_s": 29.0})
    store.add_event(session, "operator", {"action": "stop", "confirmed": "typed stop", "t_ms": 90000, "session_s": 89.0})
    store.end_session(session, "STOPPED")
    pdf = write_report(store, session, tmp_path / "out")[0]
    text = " ".join(pdf_text(pdf).split())

    def section(title: str, following: str) -> str:
        assert title in text and following in text, title
        return text[text.index(title):text.index(following)]

    assert f"HIPEC treatment record: patient P-0001, session {session} of this record" in text
    assert "Not validated for clinical use." in text
    patient = section("Patient and plan", "Board")
    for expected in ("P-0001, the patient's session 1", "weight 72.5 kg, BSA 1.86 m²", "prophylactic, closed technique",
                     "oxaliplatin 80 mg (43.0 mg/m²) (written 'Eloxatin')", "glucose_5", "PCI 0", "CC-0", "each confirmed absent",
                     "override perfusion.flow_ml_min", "small cavity after previous surgery, agreed",
                     "43 °C at the inflow, 60 min, volume 5 L, flow 380 mL/min"):
        assert expected in patient, expected
    board = section("Board", "Course of the session")
    assert "emulated, id emulated-0042" in board and "0.2.0, protocol 2" in board
    assert "highest target 44 °C, cut-out 45 °C, patient core critical 39.5 °C" in board
    course = section("Course of the session", "Probes and thermal dose")
    for expected in ("STOPPED", "PRIMING 0:00, HEATING 0:01, TREATMENT 0:02, COOLDOWN 1:42, COMPLETE 1:43",
                     "drug added at 0:19", "of session time on the board",
                     "1.7 of 60 min planned: INCOMPLETE, 58.3 min of treatment not given (the board's timer)",
                     "90.0 % of treatment records",
                     "0.150 °C", "104 telemetry records"):
        assert expected in course, expected
    probes = section("Probes and thermal dose", "Temperatures")
    assert "inflow 43.02 43.03 43.15 43.15" in probes and "CEM43" in probes and "Sapareto and Dewey 1984" in probes
    events = section("Events on the figure", "Alarms")
    assert "1 0:03 operator: vitals 2 0:04 core_temp_high (medium)" in events and "5 0:29 operator: anaesthetist" in events
    alarms = section("Alarms", "Operator actions")
    assert ("0:04 medium patient core temperature high [core_temp_high] 38.7 °C ≥ 38.5 °C 0:08 0:11" in alarms)
    actions = section("Operator actions", "Patient values entered")
    for expected in ("0:00 start", "0:03 vitals core 38.7 °C", "0:19 event drug added",
                     "0:29 event anaesthetist informed of the core temperature", "1:29 stop confirmed: typed stop"):
        assert expected in actions, expected
    vitals = section("Patient values entered", "Signatures")
    assert "0:03 38.7 -" in vitals and "0:07 37.8 -" in vitals
    signatures = text[text.index("Signatures"):]
    assert signatures.count("signature") == 2 and "Perfusionist" in signatures and "Surgeon" in signatures
    assert "date and time" in signatures


def test_a_session_the_board_never_started_has_a_record_and_is_listed_as_such(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "record.sqlite"
    store = Store(db)
    session = store.new_session("emulated", "0.2.0", plans.SessionPlan().board_plan().fields())
    store.add_event(session, "start_refused", {"message": "start is not allowed in FAULT"})
    store.end_session(session, "NOT_STARTED")
    assert main(["history", "--db", str(db)]) == 0
    assert "not started: start is not allowed in FAULT" in capsys.readouterr().out
    assert main(["report", str(session), "--db", str(db), "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "temperatures.png" not in out  # no telemetry: no figure, and no traceback
    text = " ".join(pdf_text(tmp_path / "r" / f"session-{session}-record.pdf").split())
    assert "NOT_STARTED" in text and "no telemetry recorded: no figure" in text


def test_the_record_of_a_session_a_reset_interrupted_says_so_and_marks_the_reset(tmp_path: Path) -> None:
    store = Store(tmp_path / "record.sqlite")
    session = store.new_session("emulated", "0.2.0", plans.SessionPlan().board_plan().fields())
    store.add_event(session, "operator", {"action": "start"})
    store.add_telemetry(session, [record(1, "PRIMING", 30000, 0), record(2, "HEATING", 42950, 0)]
                        + [record(3 + i, "TREATMENT", 43020, i + 1) for i in range(58)])
    store.add_event(session, "board_reset", {"boot_id": 2, "previous_boot_id": 1, "reset_cause": "power_on"})
    store.add_telemetry(session, [record(1, "IDLE", 43000, 0), record(2, "IDLE", 43000, 0)], boot=2)
    store.end_session(session, "INTERRUPTED")
    from hipec.record_plot import event_marks

    assert [(m.number, m.minute, m.text) for m in event_marks(store, session)] == [
        (1, 59 / 60.0, "board reset (power_on): boot 2")]  # where the new boot's first record is
    text = " ".join(pdf_text(write_report(store, session, tmp_path / "out")[0]).split())
    assert ("INTERRUPTED: the board reset (power_on) and came back at rest, as it always does; `hipec run --resume` "
            "offers to continue the treatment for the time that remains, as the same session") in text
    assert "1 0:59 board reset (power_on): boot 2" in text
    assert "interruptions board reset (power_on) at 0:59, after 1.0 min of treatment" in text


def test_the_treatment_not_given_adds_up_with_the_treatment_given_as_printed() -> None:
    from types import SimpleNamespace

    from hipec.report import treatment_given

    session = SimpleNamespace(plan={"duration_min": 60})
    assert treatment_given(session, 0.07) == "0.1 of 60 min planned: INCOMPLETE, 59.9 min of treatment not given"
    assert treatment_given(session, 59.97) == "60.0 of 60 min planned: given in full"


def test_a_gap_in_the_record_is_marked_and_no_line_is_drawn_across_it(tmp_path: Path) -> None:
    from hipec.record_data import session_clock
    from hipec.record_plot import _unbroken, event_marks

    store = Store(tmp_path / "record.sqlite")
    session = store.new_session("emulated", "0.2.0", plans.SessionPlan().board_plan().fields())
    kept = [record(seq, "TREATMENT", 43020, seq) for seq in (1, 2, 3, 50, 51)]  # 4..49 never received
    store.add_telemetry(session, kept)
    store.add_event(session, "gap", {"boot_id": 1, "from": 4, "to": 49})
    marks = event_marks(store, session)
    assert [(m.minute, m.text, m.alarm) for m in marks] == [
        (2 / 60.0, "records 4-49 of boot 1 not received (the board's ring had moved past them): a gap in the record",
         True)]  # at the last record before it
    rows = store.telemetry(session)
    timeline = session_clock(rows)
    minutes = [timeline.at_s(r["boot"], r["t_ms"]) / 60.0 for r in rows]
    xs, ys = _unbroken(minutes, rows, lambda r: r["inflow_mc"] / 1000.0)
    assert [y != y for y in ys] == [False, False, False, True, False, False]  # one break, where the gap is
