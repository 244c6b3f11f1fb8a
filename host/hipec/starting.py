"""Starting a session on the board when the board says it may: while it answers `not_ready` (the fluid
left standing in the heat exchanger still cools) the start is asked again and the operator is told
what the board waits for; a start the board refuses because of latched alarms whose cause is gone is
offered to the operator, who acknowledges them, or not. Every other refusal is the board's last word.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hipec.bridge import BoardError, BoardLink
from hipec.readiness import HOLDING
from hipec.session_model import SessionError
from hipec.tables import protocol

NOT_READY: str = protocol.NOT_READY
BAD_STATE: str = protocol.BAD_STATE
# How often the start is asked again while the board is not ready (wall seconds): well inside the
# board's link timeout, and quick enough that an emulated board running ahead is never held up long.
ASK_AGAIN_S = 0.1
# The operator hears again what the board waits for this often (board seconds).
SAY_AGAIN_S = 15.0
# Longer than this (board seconds) is no slug cooling but a probe or an exchanger that needs a person:
# the standing fluid of a power loss in treatment cools below the highest setpoint in about 95 s.
WAIT_MAX_S = 600.0


def _gone_but_latched(alarms: list[list[Any]]) -> tuple[list[str], bool]:
    """(alarms that hold sessions whose condition is gone, whether those are all that hold sessions)."""
    names: tuple[str, ...] = protocol.ALARM_NAMES
    gone, all_gone = [], True
    for name, _priority, present, _acked, *_rest in alarms:
        if name in names and protocol.ALARM_REACTIONS[names.index(name)] & HOLDING:
            if present:
                all_gone = False
            else:
                gone.append(str(name))
    return gone, all_gone


def start_when_ready(link: BoardLink, on_wait: Callable[[str], None],
                     acknowledge: Callable[[list[str]], bool] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Start the session the board holds the plan of; returns the start's reply and the alarms the operator
    acknowledged on the way. acknowledge is asked about latched alarms whose cause is gone (None: never)."""
    acknowledged: list[str] = []
    first_ms = said_ms = -1
    while True:
        try:
            return link.request("start"), acknowledged
        except BoardError as refusal:
            if refusal.code == NOT_READY:
                uptime_ms = int(link.request("status")["uptime_ms"])
                if first_ms < 0:
                    first_ms = uptime_ms
                if uptime_ms - first_ms > WAIT_MAX_S * 1000:
                    raise SessionError(f"the board was still not ready after {WAIT_MAX_S / 60:g} min: "
                                       f"{refusal.message}") from None
                if said_ms < 0 or uptime_ms - said_ms >= SAY_AGAIN_S * 1000:
                    said_ms = uptime_ms
                    on_wait(refusal.message)
                time.sleep(ASK_AGAIN_S)
                continue
            if refusal.code != BAD_STATE or acknowledge is None:
                raise
            gone, all_gone = _gone_but_latched(link.request("get_alarms")["alarms"])
            if not gone or not all_gone or set(gone) & set(acknowledged) or not acknowledge(gone):
                raise  # an alarm back after its acknowledgement is not offered twice
            for name in gone:
                link.request("ack_alarm", {"alarm": name})
            acknowledged += gone
