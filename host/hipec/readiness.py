"""Whether a board can start a session now, asked before the operator is asked to confirm: a board in
FAULT, still running a session, in safe mode or holding an alarm that would stop the new session at
once is refused in one line that says what to do.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from hipec import alarm_words
from hipec.bridge import BoardLink
from hipec.operate import safe_mode_text
from hipec.tables import phase_names, protocol

START_PHASES = phase_names(protocol.REQUESTS["start"])
RUNNING_PHASES = phase_names(protocol.RUNNING) + ("PAUSED",)
# Reactions that would hold a session the moment it starts.
HOLDING = protocol.FAULT_HOLD | protocol.PAUSE_HOLD


def holding_alarms(alarms: list[list[Any]]) -> list[str]:
    """Active alarms (get_alarms rows) whose reaction would hold a running session."""
    names: tuple[str, ...] = protocol.ALARM_NAMES
    held = []
    for row in alarms:
        name = str(row[0])
        if name in names and protocol.ALARM_REACTIONS[names.index(name)] & HOLDING:
            held.append(f"{name} ({alarm_words.words(name)})")
    return held


def _resume_hint(port: str, db: str, hello: dict[str, Any]) -> str:
    """The command that takes the board's session up again: with this record when it holds the board's
    open session, else with the record the session was started with, which this one is not."""
    from hipec.store import board_session_in

    if board_session_in(Path(db), str(hello.get("board_id", "")), lambda store: store.unfinished_session()):
        return f"`hipec run --resume --port {port} --db {db}`"
    return (f"`hipec run --resume --port {port} --db RECORD` (RECORD: the record the session was started with; "
            f"{db} holds no open session of this board)")


def start_refusal(link: BoardLink, port: str, db: str) -> str | None:
    """Why a session cannot start on this board now, with the way out; None when it can."""
    hello = link.request("hello")
    if hello.get("safe_mode"):
        return safe_mode_text(hello["safe_mode"])
    status = link.request("status")
    phase = str(status["phase"])
    if phase == "FAULT":
        fault = str(status.get("fault", "none"))
        return (f"the board on {port} is in FAULT ({fault}: {alarm_words.words(fault)}); remove the cause, then "
                f"`hipec ack --port {port}` acknowledges its alarms and `hipec reset --port {port}` returns it to "
                f"IDLE; or {_resume_hint(port, db, hello)} to carry on that session")
    if phase in RUNNING_PHASES:
        return (f"the board on {port} is running a session ({phase}); {_resume_hint(port, db, hello)} follows it, "
                f"`hipec stop --port {port}` ends it")
    if phase not in START_PHASES:
        return f"the board on {port} is in {phase}; a session starts from {', '.join(START_PHASES)}"
    held = holding_alarms(link.request("get_alarms")["alarms"])
    if held:
        return (f"alarms on the board would stop the session at once: {'; '.join(held)}; remove the cause, then "
                f"`hipec ack --port {port}` acknowledges them")
    return None
