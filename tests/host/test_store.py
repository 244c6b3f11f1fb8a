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
