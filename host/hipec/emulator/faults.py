"""Faults and plant events the emulator can inject, scheduled from a TOML file or live from a test.

A schedule file is a list of [[fault]] tables: `at_s` (virtual seconds since the emulator started),
`kind`, and the kind's own parameters; `duration_s` makes a lasting fault clear itself again.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hipec.emulator.plant import PROBES

# kind: {parameter: (type, minimum, maximum, unit)}; kinds with "probe" take one of plant.PROBES.
KINDS: dict[str, dict[str, tuple[type, float, float, str]]] = {
    "probe_open": {},
    "probe_short": {},
    "probe_drift": {"offset_c": (float, -40.0, 40.0, "degC"), "rate_c_per_min": (float, -10.0, 10.0, "degC/min")},
    "probe_stuck": {},
    "probe_noise": {"noise_c": (float, 0.0, 2.0, "degC")},
    "heater_stuck_on": {},
    "heater_dead": {},
    "pump_stall": {},
    "air_in_line": {},
    "reservoir_low": {},
    "loop_hang": {},
    "link_unplug": {},
    "link_replug": {},
    "power_loss": {"off_s": (float, 0.0, 3600.0, "s")},
    "drug_added": {"volume_l": (float, 0.01, 2.0, "L"), "temp_c": (float, 2.0, 45.0, "degC")},
}
PROBE_KINDS = ("probe_open", "probe_short", "probe_drift", "probe_stuck", "probe_noise")
# Kinds that happen once rather than last; duration_s does not apply to them.
ONE_SHOT = ("link_unplug", "link_replug", "power_loss", "drug_added")
DEFAULTS: dict[str, dict[str, float]] = {
    "probe_drift": {"offset_c": 0.0, "rate_c_per_min": 0.0},
    "probe_noise": {"noise_c": 0.1},
    "power_loss": {"off_s": 0.0},
    "drug_added": {"volume_l": 0.25, "temp_c": 22.0},
}


class FaultFileError(ValueError):
    pass


@dataclass(frozen=True)
class Fault:
    kind: str
    at_s: float = 0.0
    probe: str | None = None
    duration_s: float | None = None
    values: dict[str, float] = field(default_factory=dict)


def make_fault(entry: dict[str, Any], source: str = "fault") -> Fault:
    """Check one fault description and return it; errors name the key, the value and the range."""
    entry = dict(entry)
    kind = entry.pop("kind", None)
    if kind not in KINDS:
        raise FaultFileError(f"{source}: kind = {kind!r} is not one of: {', '.join(KINDS)}")
    at_s = entry.pop("at_s", 0.0)
    if isinstance(at_s, bool) or not isinstance(at_s, (int, float)) or at_s < 0:
        raise FaultFileError(f"{source}: at_s = {at_s!r} must be a number of seconds >= 0")
    probe = entry.pop("probe", None)
    if kind in PROBE_KINDS:
        if probe not in PROBES:
            raise FaultFileError(f"{source}: probe = {probe!r} must be one of: {', '.join(PROBES)}")
    elif probe is not None:
        raise FaultFileError(f"{source}: {kind} takes no probe")
    duration = entry.pop("duration_s", None)
    if duration is not None:
        if kind in ONE_SHOT:
            raise FaultFileError(f"{source}: {kind} happens once and takes no duration_s")
        if isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration <= 0:
            raise FaultFileError(f"{source}: duration_s = {duration!r} must be a number of seconds > 0")
    values = dict(DEFAULTS.get(kind, {}))
    allowed = KINDS[kind]
    for key, value in entry.items():
        if key not in allowed:
            extra = ", ".join(allowed) or "none"
            raise FaultFileError(f"{source}: {kind} has no parameter '{key}' (its parameters: {extra})")
        _type, low, high, unit = allowed[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise FaultFileError(f"{source}: {key} = {value!r} is outside {low}..{high} {unit}")
        values[key] = float(value)
    return Fault(kind=kind, at_s=float(at_s), probe=probe,
                 duration_s=None if duration is None else float(duration), values=values)


def load_faults(path: Path | None) -> list[Fault]:
    if path is None:
        return []
    try:
        data = tomllib.loads(Path(path).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise FaultFileError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"fault"}
    if unknown:
        raise FaultFileError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}; use [[fault]]")
    entries = data.get("fault", [])
    return sorted((make_fault(e, f"{path}: fault {i + 1}") for i, e in enumerate(entries)),
                  key=lambda f: f.at_s)
