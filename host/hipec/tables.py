"""The protocol's tables on the host: firmware/controller/tables.py, loaded from that very file (it
imports nothing), so the bridge, the record, the dashboard and the reports use the board's own names,
orders and numbers and never a copy of them.

BoardTables are the tables one session's board announced (describe), as its record keeps them:
records made by another firmware version are read with that board's layout, not this one's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hipec import REPO_ROOT, load_source

# The firmware's module (attributes as in firmware/controller/tables.py).
protocol = load_source("hipec_protocol_tables", REPO_ROOT / "firmware" / "controller" / "tables.py")

PHASE_NAMES: tuple[str, ...] = protocol.PHASE_NAMES
TELEMETRY_FIELDS: tuple[str, ...] = protocol.TELEMETRY_FIELDS
PROBE_NAMES: tuple[str, ...] = protocol.PROBE_NAMES
NO_READING: int = protocol.NO_READING


def phase_names(indices: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(PHASE_NAMES[i] for i in indices)


@dataclass(frozen=True)
class BoardTables:
    """What a board's describe reply said: the names behind its numbers."""
    phases: tuple[str, ...]
    telemetry_fields: tuple[str, ...]
    alarms: tuple[str, ...]
    flags: tuple[str, ...]

    @staticmethod
    def from_describe(describe: dict[str, Any] | None) -> BoardTables:
        """A stored describe reply; a record from before describe was stored reads with this firmware's
        phases and alarms, which no earlier firmware numbered differently, and no flag names."""
        d = describe or {}
        return BoardTables(
            phases=tuple(d.get("phases", PHASE_NAMES)),
            telemetry_fields=tuple(d.get("telemetry_fields", TELEMETRY_FIELDS)),
            alarms=tuple(d.get("alarms", protocol.ALARM_NAMES)),
            flags=tuple(d.get("flags", ())),
        )

    def flag(self, name: str, flags: int) -> bool | None:
        """The named bit of a record's flags column; None if this board had no such flag."""
        if name not in self.flags:
            return None
        return bool(flags & (1 << self.flags.index(name)))
