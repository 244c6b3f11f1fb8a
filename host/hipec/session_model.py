"""What a session is made of on the bridge's side: the plan the board runs, each record's progress, the
outcome, the board's clock against the wall's, and the errors that stop a session from starting."""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any


class SessionError(Exception):
    """The board and the bridge disagree (versions, plan) or the session cannot start."""


class OtherBoard(SessionError):
    """The port answers, but with another board than the session's: nothing of it may be merged."""


@dataclass(frozen=True)
class Plan:
    """Session parameters the board runs; defaults are the C-HIPEC standard session."""
    target_temp_c: float = 43.0
    duration_min: float = 60.0
    volume_l: float = 5.0
    flow_ml_min: float = 500.0
    controlled_point: str = "inflow"

    def fields(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Progress:
    record: dict[str, int]
    phase: str
    records_stored: int


@dataclass
class Outcome:
    session_id: int
    phase: str
    records: int
    treatment_s: int
    fault: str = "none"
    phases_seen: list[str] = field(default_factory=list)
    ended: bool = True  # False: the bridge left the session running on the board, open in the record


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-6)
    return bool(a == b)


class BoardClock:
    """How fast the board's clock runs against the wall's (1.0 for real hardware)."""

    def __init__(self) -> None:
        self.first: tuple[float, int] | None = None
        self.rate = 1.0

    def observe(self, board_ms: int) -> None:
        now = time.monotonic()
        if self.first is None:
            self.first = (now, board_ms)
            return
        wall_s = now - self.first[0]
        if wall_s > 0.5:
            self.rate = max(1.0, (board_ms - self.first[1]) / 1000.0 / wall_s)

    def wall_s(self, board_s: float) -> float:
        return board_s / self.rate
