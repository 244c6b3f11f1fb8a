"""Faults and plant events the emulator can inject, scheduled from a TOML file or live from a test:
each kind's parameters (KINDS) and what it does to the plant or the board (EFFECTS).

A schedule file is a list of [[fault]] tables: `at_s` (virtual seconds since the emulator started),
`kind`, and the kind's own parameters; `duration_s` makes a lasting fault clear itself again.
"""
from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

from hipec.emulator.plant import PROBES, Faults, Plant, ProbeFault

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
# A schedule reaches at most this far (a week of virtual time): past it, or NaN, is a typo.
MAX_AT_S = 7 * 24 * 3600.0
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


class FaultTarget(Protocol):
    """What a fault acts on: the plant, and the emulated board around it."""
    plant: Plant
    hang: bool  # the firmware's loop is stuck (loop_hang)

    def unplug(self) -> None: ...

    def replug(self) -> None: ...

    def power_loss(self, off_ms: int) -> None: ...


# What a kind does when it happens (on) or clears (not on).
Effect = Callable[[FaultTarget, Fault, bool], None]


def _probe(target: FaultTarget, fault: Fault) -> ProbeFault:
    assert fault.probe is not None
    return target.plant.faults.probes[fault.probe]


def _probe_open(target: FaultTarget, fault: Fault, on: bool) -> None:
    _probe(target, fault).open = on


def _probe_short(target: FaultTarget, fault: Fault, on: bool) -> None:
    _probe(target, fault).short = on


def _probe_stuck(target: FaultTarget, fault: Fault, on: bool) -> None:
    assert fault.probe is not None
    _probe(target, fault).stuck_code = target.plant.rtd_code(fault.probe) if on else None


def _probe_noise(target: FaultTarget, fault: Fault, on: bool) -> None:
    _probe(target, fault).extra_noise_c = fault.values.get("noise_c", 0.0) if on else 0.0


def _probe_drift(target: FaultTarget, fault: Fault, on: bool) -> None:
    pf = _probe(target, fault)
    if on:
        pf.offset_c += fault.values.get("offset_c", 0.0)
        pf.drift_c_per_s = fault.values.get("rate_c_per_min", 0.0) / 60.0
    else:
        pf.offset_c = 0.0
        pf.drift_c_per_s = 0.0


def _plant_flag(name: str) -> Effect:
    """The plant fault flag `name` (a field of plant.Faults) follows the fault."""
    assert name in {f.name for f in fields(Faults)}, name

    def effect(target: FaultTarget, _fault: Fault, on: bool) -> None:
        setattr(target.plant.faults, name, on)
    return effect


def _loop_hang(target: FaultTarget, _fault: Fault, on: bool) -> None:
    target.hang = on


def _power_loss(target: FaultTarget, fault: Fault, _on: bool) -> None:
    target.power_loss(int(fault.values.get("off_s", 0.0) * 1000))


def _drug_added(target: FaultTarget, fault: Fault, _on: bool) -> None:
    target.plant.add_fluid(fault.values["volume_l"], fault.values["temp_c"])


EFFECTS: dict[str, Effect] = {
    "probe_open": _probe_open,
    "probe_short": _probe_short,
    "probe_drift": _probe_drift,
    "probe_stuck": _probe_stuck,
    "probe_noise": _probe_noise,
    "heater_stuck_on": _plant_flag("heater_stuck_on"),
    "heater_dead": _plant_flag("heater_dead"),
    "pump_stall": _plant_flag("pump_stall"),
    "air_in_line": _plant_flag("air_in_line"),
    "reservoir_low": _plant_flag("reservoir_low"),
    "loop_hang": _loop_hang,
    "link_unplug": lambda target, _fault, _on: target.unplug(),
    "link_replug": lambda target, _fault, _on: target.replug(),
    "power_loss": _power_loss,
    "drug_added": _drug_added,
}
if EFFECTS.keys() != KINDS.keys():
    raise AssertionError(f"faults.EFFECTS and faults.KINDS name different kinds: {set(EFFECTS) ^ set(KINDS)}")


def apply_fault(target: FaultTarget, fault: Fault, clear: bool) -> None:
    """Make fault happen on target, or clear it (a lasting fault at the end of its duration_s)."""
    if (fault.probe is not None) != (fault.kind in PROBE_KINDS):
        return  # a probe fault without its probe, or a probe given to another kind: make_fault refuses both
    effect = EFFECTS.get(fault.kind)
    if effect is not None:
        effect(target, fault, not clear)


def make_fault(entry: dict[str, Any], source: str = "fault") -> Fault:
    """Check one fault description and return it; errors name the key, the value and the range."""
    entry = dict(entry)
    kind = entry.pop("kind", None)
    if kind not in KINDS:
        raise FaultFileError(f"{source}: kind = {kind!r} is not one of: {', '.join(KINDS)}")
    at_s = entry.pop("at_s", 0.0)
    if isinstance(at_s, bool) or not isinstance(at_s, (int, float)) or not 0 <= at_s <= MAX_AT_S:
        raise FaultFileError(f"{source}: at_s = {at_s!r} must be a number of seconds in 0..{MAX_AT_S:g}")
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
        if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not 0 < duration <= MAX_AT_S:
            raise FaultFileError(f"{source}: duration_s = {duration!r} must be a number of seconds in "
                                 f"0..{MAX_AT_S:g}, above 0")
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
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise FaultFileError(f"{path}: cannot be read ({reason})") from None
    unknown = set(data) - {"fault"}
    if unknown:
        raise FaultFileError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}; use [[fault]]")
    entries = data.get("fault", [])
    if not isinstance(entries, list):
        raise FaultFileError(f"{path}: fault must be a list of tables, one [[fault]] each (found {type(entries).__name__})")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise FaultFileError(f"{path}: fault {i + 1} = {entry!r} must be a table ([[fault]] with kind, at_s, ...)")
    return sorted((make_fault(e, f"{path}: fault {i + 1}") for i, e in enumerate(entries)),
                  key=lambda f: f.at_s)
