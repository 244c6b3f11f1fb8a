"""Operator actions given on the command line (`hipec abort`, `ack`, `vitals` ...) go into the record
too, in the session of the board they were given to: what a person did is in the record however they
did it. A session no bridge follows any more that the action ended (an abort, a stop run to its end)
is brought up to date from the board's ring and closed with the board's outcome; an action given after
the board's last session had ended is recorded there as coming after its end.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from hipec.bridge import BoardLink
from hipec.record_data import session_clock
from hipec.runner import LINK_ERRORS, FINAL_PHASES, Plan, SessionError, SessionRunner
from hipec.store import SessionRow, Store


def _session_of_board(store: Store, board_id: str) -> SessionRow | None:
    """The record's session on this board an action now belongs to: the one still open, else the last."""
    row = store.unfinished_session() or store.last_session()
    if row is None or str((row.hello or {}).get("board_id", "")) != board_id:
        return None
    return row


def record_action(db: Path, link: BoardLink, action: str, detail: dict[str, Any]) -> str:
    """Record the action in the board's session of the record at db; the line that says where."""
    if not db.exists():
        return f"not recorded: no record at {db} (give the session's record with --db)"
    store = Store(db)
    hello = link.request("hello")
    row = _session_of_board(store, str(hello.get("board_id", "")))
    if row is None:
        return f"not recorded: no session of this board in {db}"
    at: dict[str, Any] = {"boot_id": int(hello["boot_id"]), "t_ms": int(hello["uptime_ms"]), "source": "command line"}
    rows = store.telemetry(row.id)
    if rows and rows[-1]["boot"] == int(hello["boot_id"]):
        timeline = session_clock(rows)
        at["session_s"] = round(timeline.at_s(int(hello["boot_id"]), int(hello["uptime_ms"])), 1)
    if row.ended_at is not None:
        at["after_end"] = True  # the session had ended: the action is in its record, not in its course
    store.add_event(row.id, "operator", {"action": action, **detail, **at})
    said = f"recorded in session {row.id} of {db}"
    if row.ended_at is not None:
        said += f", after its end ({row.outcome})"
    if row.ended_at is None and link.request("status")["phase"] in FINAL_PHASES:
        try:
            outcome = SessionRunner(link, store, Plan(**row.plan)).resume(row.id)
            said += f"; the session ended {store.session(outcome.session_id).outcome} there"
        except (SessionError, *LINK_ERRORS) as exc:
            said += f"; not brought up to date ({exc})"
    return said
