"""The treatment record: idempotent on (boot, seq), and older record files migrate without loss."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from hipec.store import MIGRATIONS, TELEMETRY_FIELDS, Store


def record(seq: int, phase: int = 3) -> list[int]:
    row = [0] * len(TELEMETRY_FIELDS)
    row[0], row[1], row[2] = seq, seq * 1000, phase
    return row


def test_records_are_stored_once_however_often_they_arrive(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.sqlite")
    session = store.new_session("emulated", "0.2.0", {"target_temp_c": 43.0})
    assert store.add_telemetry(session, [record(s) for s in range(1, 11)], boot=1) == 10
    assert store.add_telemetry(session, [record(s) for s in range(5, 16)], boot=1) == 5
    assert store.add_telemetry(session, [record(s) for s in range(1, 4)], boot=2) == 3  # after a reboot
    rows = store.telemetry(session)
    assert [(r["boot"], r["seq"]) for r in rows] == [(1, s) for s in range(1, 16)] + [(2, 1), (2, 2), (2, 3)]


def test_a_version_1_record_file_migrates_to_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO sessions (id, started_at, board, firmware, plan_json) VALUES (1, 0, 'b', 'f', '{}')")
    db.executemany("INSERT INTO telemetry VALUES (1, ?, ?, 3, 43000, 0, 0, 0, 0, 43000, 100, 500, 0, 110, 0, 0)",
                   [(s, s * 1000) for s in range(1, 6)])
    db.commit()
    db.close()
    store = Store(path)
    assert store.schema_version == len(MIGRATIONS)
    rows = store.telemetry(1)
    assert [(r["boot"], r["seq"], r["alarms"]) for r in rows] == [(1, s, 0) for s in range(1, 6)]
    assert rows[0]["inflow_mc"] == 43000
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert rows[0]["abdominal_3_mc"] is None  # a column the old record did not have: no reading


def test_the_audit_log_holds_what_people_decided(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.sqlite")
    session = store.new_session("b", "f", {})
    store.add_event(session, "session_plan", {"patient_id": "P-1"})
    store.add_event(session, "override", {"field": "perfusion.flow_ml_min", "reason": "agreed with the surgeon"})
    store.add_event(session, "state", {"phase": "PRIMING"}, boot=1, seq=1)  # the board's, not a decision
    store.add_event(session, "operator", {"action": "pause", "t_ms": 1000})
    assert [kind for _at, kind, _d in store.audit(session)] == ["session_plan", "override", "operator"]


def test_a_version_6_record_reads_right_after_migration(tmp_path: Path) -> None:
    """A record file written before the board sent its verdicts: heater_pm becomes heater_demand_pm (its
    meaning all along), controlled_mc is null, the session's hello comes from its logged event, and
    the bridge's old outcome LINK_LOST becomes DISCONNECTED."""
    path = tmp_path / "v6.sqlite"
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:6]:
        db.executescript(script)
    db.execute("PRAGMA user_version = 6")
    db.execute("INSERT INTO sessions (id, started_at, board, firmware, plan_json, outcome) "
               "VALUES (1, 0, 'emulated', '0.2.0', '{\"target_temp_c\": 43.0}', 'LINK_LOST')")
    db.execute("INSERT INTO events (session_id, at, kind, detail_json) VALUES (1, 0, 'hello', '{\"boot_id\": 7}')")
    db.execute("INSERT INTO telemetry (session_id, boot, seq, t_ms, phase, inflow_mc, setpoint_mc, heater_pm, "
               "treatment_s, flags, flow_ml_min, volume_ml, pressure_mmhg) VALUES (1, 7, 1, 1000, 3, 43050, 43000, 212, 1, 0, "
               "500, 8, 110)")
    db.commit()
    db.close()
    store = Store(path)
    assert store.schema_version == len(MIGRATIONS)
    (row,) = store.telemetry(1)
    assert row["heater_demand_pm"] == 212 and row["controlled_mc"] is None and "heater_pm" not in row
    session = store.session(1)
    assert session.outcome == "DISCONNECTED" and session.hello == {"boot_id": 7} and session.describe is None
    assert session.tables.flag("in_band", row["flags"]) is None  # no verdict: the report judges it itself

    from hipec.report import summarize
    summary = summarize(store, 1)
    assert summary.time_in_band_pct == 100.0 and summary.treatment_min == 1 / 60.0
    assert abs(summary.max_deviation_c - 0.05) < 1e-9


def test_a_session_keeps_its_boards_hello_describe_and_configuration(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.sqlite")
    session = store.new_session("emulated", "0.2.0", {}, {"boot_id": 3}, {"flags": ["bypass_open", "in_band"]},
                                {"band_c": 0.2})
    row = store.session(session)
    assert row.hello == {"boot_id": 3} and row.config == {"band_c": 0.2}
    assert row.tables.flag("in_band", 2) is True and row.tables.flag("in_band", 1) is False


def test_a_record_that_comes_again_different_is_a_conflict_not_a_duplicate(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.sqlite")
    session = store.new_session("emulated", "0.2.0", {})
    store.add_telemetry(session, [record(s) for s in range(1, 4)], boot=1)
    assert store.add_telemetry(session, [record(2)], boot=1) == 0 and store.conflicts == 0  # the same again
    changed = record(2, phase=7)  # same (boot, seq), other content: another board, or another boot
    assert store.add_telemetry(session, [changed], boot=1) == 0
    assert store.conflicts == 1
    (conflict,) = [d for _at, kind, d in store.events(session) if kind == "record_conflict"]
    assert conflict["boot"] == 1 and conflict["seq"] == 2 and conflict["received"] == changed
    assert store.telemetry(session)[1]["phase"] == 3  # what was stored first stays
