"""Starting on the board's word (hipec/starting.py): a start the board answers `not_ready` is asked again
and the operator hears what the board waits for, again every SAY_AGAIN_S of board time; latched alarms
whose cause is gone are offered for acknowledgement only when they are all that holds the start; any
other refusal is the board's last word; a wait past WAIT_MAX_S ends in a SessionError."""
from __future__ import annotations

from typing import Any

import pytest

from hipec import starting
from hipec.bridge import BoardError
from hipec.session_model import SessionError

HOT = "start waits for the fluid standing in the heat exchanger to cool: its outlet reads 44.6 degC"
HELD = "start is not allowed while these alarms are active: over_temperature (acknowledge each once its cause is gone)"


class ScriptedBoard:
    """Answers start from a script of refusals, then ok; status moves board time on by step_ms."""

    def __init__(self, refusals: list[tuple[str, str]], alarms: list[list[Any]] | None = None, step_ms: int = 1000):
        self.refusals = list(refusals)
        self.alarms = alarms or []
        self.uptime_ms = 0
        self.step_ms = step_ms
        self.asked: list[tuple[str, dict[str, Any] | None]] = []

    def request(self, kind: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
        self.asked.append((kind, fields))
        if kind == "start":
            if self.refusals:
                code, message = self.refusals.pop(0)
                raise BoardError(code, "heater_outlet" if code == "not_ready" else "type", message)
            return {"phase": "PRIMING", "telemetry_next": 7}
        if kind == "status":
            self.uptime_ms += self.step_ms
            return {"uptime_ms": self.uptime_ms}
        if kind == "get_alarms":
            return {"alarms": self.alarms}
        if kind == "ack_alarm":
            self.alarms = [a for a in self.alarms if a[0] != fields["alarm"]]  # type: ignore[index]
            return {"alarms": [a[0] for a in self.alarms]}
        raise AssertionError(kind)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(starting.time, "sleep", lambda _s: None)


def test_not_ready_is_asked_again_and_said_once_per_interval() -> None:
    board = ScriptedBoard([("not_ready", HOT)] * 40, step_ms=1000)  # 40 s of board time
    said: list[str] = []
    started, acknowledged = starting.start_when_ready(board, said.append)  # type: ignore[arg-type]
    assert started["telemetry_next"] == 7 and acknowledged == []
    assert said == [HOT] * 3  # at 1 s, 16 s and 31 s of the wait: every SAY_AGAIN_S (15 s)


def test_latched_alarms_whose_cause_is_gone_are_offered_and_acknowledged() -> None:
    gone = ["over_temperature", "high", False, False, 11000, 45.2]
    board = ScriptedBoard([("not_ready", HOT), ("bad_state", HELD)], alarms=[gone])
    offered: list[list[str]] = []
    started, acknowledged = starting.start_when_ready(board, lambda _m: None,  # type: ignore[arg-type]
                                                      lambda names: offered.append(names) is None)
    assert offered == [["over_temperature"]] and acknowledged == ["over_temperature"]
    assert ("ack_alarm", {"alarm": "over_temperature"}) in board.asked and started["phase"] == "PRIMING"


def test_an_alarm_whose_cause_is_present_or_a_declined_acknowledgement_is_the_boards_last_word() -> None:
    present = ["over_temperature", "high", True, False, 11000, 45.2]
    board = ScriptedBoard([("bad_state", HELD)], alarms=[present])
    with pytest.raises(BoardError, match="over_temperature"):
        starting.start_when_ready(board, lambda _m: None, lambda _names: True)  # type: ignore[arg-type]
    gone = ["over_temperature", "high", False, False, 11000, 45.2]
    board = ScriptedBoard([("bad_state", HELD)], alarms=[gone])
    with pytest.raises(BoardError, match="over_temperature"):
        starting.start_when_ready(board, lambda _m: None, lambda _names: False)  # type: ignore[arg-type]
    assert not [a for a in board.asked if a[0] == "ack_alarm"]
    board = ScriptedBoard([("bad_state", "start is not allowed in FAULT")])
    with pytest.raises(BoardError, match="FAULT"):
        starting.start_when_ready(board, lambda _m: None, lambda _names: True)  # type: ignore[arg-type]


def test_an_alarm_back_after_its_acknowledgement_is_not_offered_twice() -> None:
    gone = ["over_temperature", "high", False, False, 11000, 45.2]
    board = ScriptedBoard([("bad_state", HELD), ("bad_state", HELD)], alarms=[gone])
    board.request = _reraising(board)  # type: ignore[method-assign]
    with pytest.raises(BoardError):
        starting.start_when_ready(board, lambda _m: None, lambda _names: True)  # type: ignore[arg-type]


def _reraising(board: ScriptedBoard) -> Any:
    """The board raises the alarm again after each acknowledgement."""
    plain = ScriptedBoard.request

    def request(kind: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
        reply = plain(board, kind, fields)
        if kind == "ack_alarm":
            board.alarms = [["over_temperature", "high", False, False, 12000, 45.1]]
        return reply
    return request


def test_a_board_not_ready_past_the_longest_wait_ends_in_a_session_error() -> None:
    board = ScriptedBoard([("not_ready", HOT)] * 1000, step_ms=1000)
    with pytest.raises(SessionError, match=r"still not ready after 10 min: start waits for the fluid"):
        starting.start_when_ready(board, lambda _m: None)  # type: ignore[arg-type]
