"""`make silicon` says it is moving: a line at each phase and each chip minute, not one per record."""
from __future__ import annotations

import sys

from hipec import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
import silicon  # noqa: E402


def test_a_line_at_each_phase_and_each_chip_minute() -> None:
    lines: list[str] = []
    beat = silicon.Heartbeat(lines.append)
    for t_ms in range(0, 150_000, 100):  # a record every 100 ms of chip time
        beat(t_ms, "PRIMING" if t_ms < 90_000 else "HEATING", t_ms / 500.0)
    assert lines == ["silicon: chip 0:00 PRIMING, 0 s of wall time",
                     "silicon: chip 1:00 PRIMING, 120 s of wall time",
                     "silicon: chip 1:30 HEATING, 180 s of wall time",
                     "silicon: chip 2:00 HEATING, 240 s of wall time"]
