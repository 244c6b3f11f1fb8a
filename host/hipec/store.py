"""The treatment record: SQLite in WAL mode, schema versioned by migrations.

Telemetry rows are keyed by (session, boot, board sequence number) and inserted with INSERT OR IGNORE,
so a record pulled twice (after a reconnect or a retried request) is stored exactly once. Each session
keeps what its board said of itself (hello), its tables (describe) and its configuration, so its
records are read with that board's layout and limits.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from hipec.tables import TELEMETRY_FIELDS, BoardTables

MIGRATIONS: tuple[str, ...] = (
    # 1: sessions, telemetry, events
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        started_at REAL NOT NULL,
        ended_at REAL,
        board TEXT NOT NULL,
        firmware TEXT NOT NULL,
        plan_json TEXT NOT NULL,
        outcome TEXT
    );
    CREATE TABLE telemetry (
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        seq INTEGER NOT NULL,
        t_ms INTEGER NOT NULL,
        phase INTEGER NOT NULL,
        inflow_mc INTEGER, outflow_mc INTEGER, abdominal_1_mc INTEGER, abdominal_2_mc INTEGER,
        reservoir_mc INTEGER, setpoint_mc INTEGER, heater_pm INTEGER, flow_ml_min INTEGER,
        volume_ml INTEGER, pressure_mmhg INTEGER, treatment_s INTEGER, flags INTEGER,
        PRIMARY KEY (session_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        session_id INTEGER REFERENCES sessions(id),
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        detail_json TEXT NOT NULL
    );
    """,
    # 2: the board's active-alarm bit mask in every telemetry record
    """
    ALTER TABLE telemetry ADD COLUMN alarms INTEGER NOT NULL DEFAULT 0;
    """,
    # 3: sequence numbers restart when the board reboots: records are keyed by (boot, seq)
    """
    CREATE TABLE telemetry_v3 (
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        boot INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        t_ms INTEGER NOT NULL,
        phase INTEGER NOT NULL,
        inflow_mc INTEGER, outflow_mc INTEGER, abdominal_1_mc INTEGER, abdominal_2_mc INTEGER,
        reservoir_mc INTEGER, setpoint_mc INTEGER, heater_pm INTEGER, flow_ml_min INTEGER,
        volume_ml INTEGER, pressure_mmhg INTEGER, treatment_s INTEGER, flags INTEGER,
        alarms INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (session_id, boot, seq)
    ) WITHOUT ROWID;
    INSERT INTO telemetry_v3 SELECT session_id, 1, seq, t_ms, phase, inflow_mc, outflow_mc,
        abdominal_1_mc, abdominal_2_mc, reservoir_mc, setpoint_mc, heater_pm, flow_ml_min, volume_ml,
        pressure_mmhg, treatment_s, flags, alarms FROM telemetry;
    DROP TABLE telemetry;
    ALTER TABLE telemetry_v3 RENAME TO telemetry;
    """,
    # 4: the board's events (state and alarm changes) carry (boot, seq) too, and are stored once
    """
    ALTER TABLE events ADD COLUMN boot INTEGER;
    ALTER TABLE events ADD COLUMN seq INTEGER;
    CREATE UNIQUE INDEX events_board_seq ON events(session_id, boot, seq) WHERE seq IS NOT NULL;
    """,
    # 5: up to four cavity probes
    """
    ALTER TABLE telemetry ADD COLUMN abdominal_3_mc INTEGER;
    ALTER TABLE telemetry ADD COLUMN abdominal_4_mc INTEGER;
    """,
    # 6: the audit log: what people decided (the plan, its overrides, every operator action), in order
    """
    CREATE VIEW audit AS
        SELECT id, session_id, at, kind, detail_json FROM events
        WHERE kind IN ('session_plan', 'override', 'operator', 'bridge_resumed')
        ORDER BY id;
    """,
    # 7: the board's own verdicts and tables. The heater column was the power control demanded, never
    # the duty written: named for it. controlled_mc is the value the board judged against the target
    # (null in records of firmware that did not send it). Each session keeps its board's hello,
    # describe and configuration (sessions recorded before keep the hello they logged as an event).
    # The bridge's outcome LINK_LOST, easily read as the board's link_lost alarm, is DISCONNECTED.
    """
    ALTER TABLE telemetry RENAME COLUMN heater_pm TO heater_demand_pm;
    ALTER TABLE telemetry ADD COLUMN controlled_mc INTEGER;
    ALTER TABLE sessions ADD COLUMN hello_json TEXT;
    ALTER TABLE sessions ADD COLUMN describe_json TEXT;
    ALTER TABLE sessions ADD COLUMN config_json TEXT;
    UPDATE sessions SET hello_json = (SELECT detail_json FROM events WHERE events.session_id = sessions.id
                                      AND events.kind = 'hello' ORDER BY events.id LIMIT 1);
    UPDATE sessions SET outcome = 'DISCONNECTED' WHERE outcome = 'LINK_LOST';
    """,
    # 8: the redundant inflow probe and the heat-exchanger outlet probe (null in older records)
    """
    ALTER TABLE telemetry ADD COLUMN inflow_2_mc INTEGER;
    ALTER TABLE telemetry ADD COLUMN heater_outlet_mc INTEGER;
    """,
)
# The bridge's outcome when the link never came back (not a board phase).
DISCONNECTED = "DISCONNECTED"


class RecordError(ValueError):
    """No record where one was expected (a mistyped --db, say)."""


@dataclass(frozen=True)
class SessionRow:
    id: int
    started_at: float
    ended_at: float | None
    board: str
    firmware: str
    plan: dict[str, Any]
    outcome: str | None
    hello: dict[str, Any] | None = None
    describe: dict[str, Any] | None = None
    config: dict[str, Any] | None = None

    @property
    def tables(self) -> BoardTables:
        return BoardTables.from_describe(self.describe)


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.check_path(self.path)
        try:
            self.db = sqlite3.connect(self.path)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._check_is_record()
        except sqlite3.DatabaseError as exc:
            raise RecordError(f"{self.path} is not a hipec record ({exc}); give the record file with --db") from None
        self.conflicts = 0  # records that arrived again with other content than stored (see add_telemetry)
        self._migrate()

    @staticmethod
    def check_path(path: Path) -> None:
        """Refuse a path where no record file can be (a folder, a folder that does not exist), before
        anything is created there."""
        if path.is_dir():
            raise RecordError(f"{path} is a folder, not a record file; give the record file with --db")
        if not path.parent.is_dir():
            raise RecordError(f"{path}: the folder {path.parent} does not exist; create it, or give "
                              f"another record file with --db")

    def _check_is_record(self) -> None:
        """Refuse an SQLite file of another program (it would get this schema's tables added) and a
        record written by a newer hipec (its schema is not known here)."""
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise RecordError(f"{self.path} was written by a newer hipec (record schema {version}, this one knows "
                              f"{len(MIGRATIONS)}); report it with that version")
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version == 0 and tables:
            raise RecordError(f"{self.path} is an SQLite file of another program, not a hipec record; give the "
                              "record file with --db")

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.db:
                self.db.executescript(script)
                self.db.execute(f"PRAGMA user_version = {number}")

    def close(self) -> None:
        self.db.close()

    def new_session(self, board: str, firmware: str, plan: dict[str, Any], hello: dict[str, Any] | None = None,
                    describe: dict[str, Any] | None = None, config: dict[str, Any] | None = None) -> int:
        def as_json(value: dict[str, Any] | None) -> str | None:
            return None if value is None else json.dumps(value, sort_keys=True)

        with self.db:
            cur = self.db.execute(
                "INSERT INTO sessions (started_at, board, firmware, plan_json, hello_json, describe_json, config_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (time.time(), board, firmware, json.dumps(plan, sort_keys=True), as_json(hello), as_json(describe),
                 as_json(config)))
        assert cur.lastrowid is not None
        return cur.lastrowid

    def end_session(self, session_id: int, outcome: str) -> None:
        with self.db:
            self.db.execute("UPDATE sessions SET ended_at = ?, outcome = ? WHERE id = ?",
                            (time.time(), outcome, session_id))

    def reopen_session(self, session_id: int) -> None:
        """A session ended INTERRUPTED is continued: it runs again until its next outcome."""
        with self.db:
            self.db.execute("UPDATE sessions SET ended_at = NULL, outcome = NULL WHERE id = ?", (session_id,))

    def last_session(self) -> SessionRow | None:
        """The record's latest session, None in an empty record."""
        row = self.db.execute("SELECT id FROM sessions ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else self.session(int(row[0]))

    def last_interrupted_session(self) -> SessionRow | None:
        """The latest session a board reset interrupted, if it is the latest session of the record."""
        row = self.db.execute("SELECT id, outcome FROM sessions ORDER BY id DESC LIMIT 1").fetchone()
        if row is None or row[1] != "INTERRUPTED":
            return None
        return self.session(int(row[0]))

    def add_telemetry(self, session_id: int, records: Iterable[Sequence[int]], boot: int = 1) -> int:
        """Store records (board field order) of one board boot; returns how many were new. A record whose
        (boot, seq) is stored already with other content is never dropped in silence: it is a conflict,
        kept as a record_conflict event with both versions and counted in self.conflicts."""
        rows = [(session_id, boot, *r) for r in records]
        for r in rows:
            if len(r) != len(TELEMETRY_FIELDS) + 2:
                raise ValueError(f"telemetry record has {len(r) - 2} fields, expected {len(TELEMETRY_FIELDS)}")
        placeholders = ", ".join("?" * (len(TELEMETRY_FIELDS) + 2))
        new = 0
        with self.db:
            for row in rows:
                cur = self.db.execute(
                    f"INSERT OR IGNORE INTO telemetry (session_id, boot, {', '.join(TELEMETRY_FIELDS)}) "
                    f"VALUES ({placeholders})", row)
                if cur.rowcount == 1:
                    new += 1
                    continue
                # Already stored: harmless if it is the same record again, a conflict if it is not.
                stored = self.db.execute(
                    f"SELECT {', '.join(TELEMETRY_FIELDS)} FROM telemetry WHERE session_id = ? AND boot = ? "
                    f"AND seq = ?", (session_id, boot, row[2])).fetchone()
                if stored is not None and tuple(stored) != tuple(row[2:]):
                    self.conflicts += 1
                    self.db.execute(
                        "INSERT INTO events (session_id, at, kind, detail_json) VALUES (?, ?, 'record_conflict', ?)",
                        (session_id, time.time(), json.dumps({"boot": boot, "seq": row[2], "stored": list(stored),
                                                              "received": list(row[2:])})))
        return new

    def add_event(self, session_id: int | None, kind: str, detail: dict[str, Any],
                  boot: int | None = None, seq: int | None = None) -> bool:
        """Store an event; board events (with boot and seq) are stored once. True if it was new."""
        with self.db:
            cur = self.db.execute(
                "INSERT OR IGNORE INTO events (session_id, at, kind, detail_json, boot, seq) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, time.time(), kind, json.dumps(detail, sort_keys=True), boot, seq))
        return cur.rowcount == 1

    def audit(self, session_id: int) -> list[tuple[float, str, dict[str, Any]]]:
        cur = self.db.execute("SELECT at, kind, detail_json FROM audit WHERE session_id = ?", (session_id,))
        return [(at, kind, json.loads(detail)) for at, kind, detail in cur]

    def board_event_seqs(self, session_id: int) -> list[tuple[int, int]]:
        cur = self.db.execute("SELECT boot, seq FROM events WHERE session_id = ? AND seq IS NOT NULL "
                              "ORDER BY boot, seq", (session_id,))
        return [(int(b), int(q)) for b, q in cur]

    def telemetry(self, session_id: int) -> list[dict[str, int]]:
        """Every record of a session, in the order the board produced them (boot, then seq)."""
        columns = ("boot", *TELEMETRY_FIELDS)
        cur = self.db.execute(
            f"SELECT {', '.join(columns)} FROM telemetry WHERE session_id = ? ORDER BY boot, seq",
            (session_id,))
        return [dict(zip(columns, row)) for row in cur]

    def events(self, session_id: int) -> list[tuple[float, str, dict[str, Any]]]:
        cur = self.db.execute("SELECT at, kind, detail_json FROM events WHERE session_id = ? ORDER BY id",
                              (session_id,))
        return [(at, kind, json.loads(detail)) for at, kind, detail in cur]

    def board_events(self, session_id: int, kind: str) -> list[tuple[int, dict[str, Any]]]:
        """The board's events of one kind with the boot each belongs to (their t_ms is that boot's uptime)."""
        cur = self.db.execute("SELECT boot, detail_json FROM events WHERE session_id = ? AND kind = ? ORDER BY boot, "
                              "seq, id", (session_id, kind))
        return [(int(b) if b is not None else 1, json.loads(d)) for b, d in cur]

    def unfinished_session(self) -> SessionRow | None:
        """The latest session that has not ended: a bridge that was stopped while it ran."""
        row = self.db.execute("SELECT id FROM sessions WHERE ended_at IS NULL ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else self.session(int(row[0]))

    def record_count(self, session_id: int) -> int:
        """How many telemetry records the session has, over every bridge run and board boot."""
        return int(self.db.execute("SELECT COUNT(*) FROM telemetry WHERE session_id = ?", (session_id,)).fetchone()[0])

    def last_record(self, session_id: int) -> tuple[int, int] | None:
        """(boot, seq) of the last telemetry record stored for a session."""
        row = self.db.execute("SELECT boot, seq FROM telemetry WHERE session_id = ? ORDER BY boot DESC, seq DESC "
                              "LIMIT 1", (session_id,)).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def last_board_event(self, session_id: int, boot: int) -> int:
        """The highest board event sequence number stored for this boot, 0 if none."""
        row = self.db.execute("SELECT MAX(seq) FROM events WHERE session_id = ? AND boot = ?",
                              (session_id, boot)).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    _SESSION_COLUMNS = "id, started_at, ended_at, board, firmware, plan_json, outcome, hello_json, describe_json, config_json"

    @staticmethod
    def _session_row(r: Sequence[Any]) -> SessionRow:
        def loaded(text: str | None) -> dict[str, Any] | None:
            return None if text is None else dict(json.loads(text))

        return SessionRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], loaded(r[7]), loaded(r[8]),
                          loaded(r[9]))

    def sessions(self) -> list[SessionRow]:
        cur = self.db.execute(f"SELECT {self._SESSION_COLUMNS} FROM sessions ORDER BY id")
        return [self._session_row(r) for r in cur]

    def session(self, session_id: int) -> SessionRow:
        row = self.db.execute(f"SELECT {self._SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise KeyError(f"no session {session_id} in {self.path}")
        return self._session_row(row)


def board_session_in(path: Path, board_id: str, pick: Callable[[Store], SessionRow | None]) -> SessionRow | None:
    """The session pick finds in the record at path, if it ran on this board; None when it did not, when
    there is no record there, or when the file is not a record (the caller's own answer stands then)."""
    if not Path(path).exists():
        return None
    try:
        store = Store(Path(path))
    except (RecordError, sqlite3.Error):
        return None
    try:
        row = pick(store)
    finally:
        store.close()
    if row is None or str((row.hello or {}).get("board_id", "")) != board_id:
        return None
    return row
