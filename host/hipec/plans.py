"""Session plans as TOML files, checked against the C-HIPEC standard (../shared/clinical.md).

`hipec plan new` writes TEMPLATE; `hipec plan check FILE` loads a plan and reports every problem with
the field, the value and what is allowed. Values outside the standard's ranges are refused unless the
plan carries an override for that field with a reason (recorded with the session); what the board's
absolute limits forbid, or chemistry forbids, no override allows.
"""
from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hipec.runner import Plan

MODES = ("prophylactic", "therapeutic", "conversion", "comprehensive")
TECHNIQUES = ("open", "closed")
PRIMARIES = ("gastric", "colorectal", "gynaecological", "pseudomyxoma", "hepato-biliary-pancreatic",
             "mesothelioma", "other")
CARRIERS = ("saline", "glucose_5", "ringer", "plasma_substitute", "distilled_water")
CONTROLLED_POINTS = ("inflow", "abdominal")
# Drugs unstable in saline: the consensus requires 5 % glucose as their carrier.
GLUCOSE_ONLY_DRUGS = ("oxaliplatin", "carboplatin")
CONTRAINDICATIONS = (
    "extensive_adhesions", "poorly_healing_anastomosis", "complete_bowel_obstruction",
    "liver_or_kidney_dysfunction", "marrow_suppression", "severe_cardiovascular_disease", "infection",
    "bleeding_tendency", "unstable_vital_signs", "cachexia",
)
PCI_REGIONS = 13
MIN_HOURS_BETWEEN_SESSIONS = 24.0
# Sessions the standard allows per mode (therapeutic: 1-3, up to 5 by the patient's condition, which
# takes an override). Conversion and comprehensive treatment give no count: not checked.
SESSIONS_PER_MODE = {"prophylactic": 2, "therapeutic": 3}
# (standard minimum, standard maximum, board's absolute minimum, absolute maximum, unit)
RANGES: dict[str, tuple[float, float, float, float, str]] = {
    "perfusion.target_temp_c": (42.9, 43.1, 37.0, 44.0, "degC"),
    "perfusion.duration_min": (60.0, 90.0, 1.0, 180.0, "min"),
    "perfusion.volume_l": (4.0, 6.0, 1.0, 10.0, "L"),
    "perfusion.flow_ml_min": (400.0, 600.0, 50.0, 1000.0, "mL/min"),
}


class PlanFileError(ValueError):
    """A plan file that cannot be read at all (not TOML, wrong structure)."""


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    overridable: bool = False

    def __str__(self) -> str:
        hint = " (an [[override]] of this field with a reason allows it)" if self.overridable else ""
        return f"{self.field}: {self.message}{hint}"


@dataclass(frozen=True)
class Override:
    field: str
    reason: str


@dataclass
class SessionPlan:
    patient_id: str = "P-0001"
    session_number: int = 1
    previous_session: str = ""
    mode: str = "prophylactic"
    technique: str = "closed"
    primary_tumour: str = "gastric"
    carrier: str = "saline"
    drugs: list[tuple[str, float]] = field(default_factory=list)
    target_temp_c: float = 43.0
    duration_min: float = 60.0
    volume_l: float = 5.0
    flow_ml_min: float = 500.0
    controlled_point: str = "inflow"
    pci_regions: list[int] = field(default_factory=lambda: [0] * PCI_REGIONS)
    cc: int = 0
    contraindications: dict[str, bool] = field(default_factory=lambda: {c: False for c in CONTRAINDICATIONS})
    overrides: list[Override] = field(default_factory=list)

    @property
    def pci(self) -> int:
        return sum(self.pci_regions)

    def board_plan(self) -> Plan:
        """What the board runs (the rest is the record's)."""
        return Plan(target_temp_c=self.target_temp_c, duration_min=self.duration_min, volume_l=self.volume_l,
                    flow_ml_min=self.flow_ml_min, controlled_point=self.controlled_point)

    def record(self) -> dict[str, Any]:
        """The whole plan as stored with the session."""
        return {
            "patient_id": self.patient_id, "session_number": self.session_number,
            "previous_session": self.previous_session, "mode": self.mode, "technique": self.technique,
            "primary_tumour": self.primary_tumour, "carrier": self.carrier,
            "drugs": [{"name": n, "dose_mg": d} for n, d in self.drugs],
            "perfusion": self.board_plan().fields(), "pci_regions": self.pci_regions, "pci": self.pci,
            "cc": self.cc, "contraindications": self.contraindications,
            "overrides": [{"field": o.field, "reason": o.reason} for o in self.overrides],
        }


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise PlanFileError(f"[{name}] must be a table")
    return value


def _tables(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise PlanFileError(f"[[{name}]] must be a list of tables (write each as [[{name}]])")
    return value


def load(path: Path) -> SessionPlan:
    """Read a plan file; structure errors raise PlanFileError, clinical problems come from check()."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise PlanFileError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a text file"
        raise PlanFileError(f"{path}: cannot be read ({reason}); `hipec plan new {path}` writes one") from None
    known = {"patient", "treatment", "drug", "perfusion", "scores", "contraindications", "override"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise PlanFileError(f"{path}: unknown table(s) {', '.join(unknown)}; a plan has {', '.join(sorted(known))}")
    patient = _table(data, "patient")
    treatment = _table(data, "treatment")
    perfusion = _table(data, "perfusion")
    scores = _table(data, "scores")
    plan = SessionPlan(
        patient_id=patient.get("id", ""),
        session_number=patient.get("session_number", 1),
        previous_session=patient.get("previous_session", ""),
        mode=treatment.get("mode", ""),
        technique=treatment.get("technique", ""),
        primary_tumour=treatment.get("primary_tumour", ""),
        carrier=treatment.get("carrier", ""),
        drugs=[(str(d.get("name", "")), d.get("dose_mg", 0.0)) for d in _tables(data, "drug")],
        target_temp_c=perfusion.get("target_temp_c", 43.0),
        duration_min=perfusion.get("duration_min", 60.0),
        volume_l=perfusion.get("volume_l", 5.0),
        flow_ml_min=perfusion.get("flow_ml_min", 500.0),
        controlled_point=perfusion.get("controlled_point", "inflow"),
        pci_regions=scores.get("pci_regions", [0] * PCI_REGIONS),
        cc=scores.get("cc", 0),
        contraindications=dict(_table(data, "contraindications")),
        overrides=[Override(str(o.get("field", "")), str(o.get("reason", ""))) for o in _tables(data, "override")],
    )
    return plan


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check(plan: SessionPlan, now: dt.datetime | None = None) -> list[Problem]:
    """Every problem with the plan, overrides applied; an empty list means it may run."""
    problems: list[Problem] = []

    def choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
        if value not in allowed:
            problems.append(Problem(name, f"{value!r} is not one of: {', '.join(allowed)}"))

    if not isinstance(plan.patient_id, str) or not plan.patient_id.strip():
        problems.append(Problem("patient.id", "a pseudonymous patient id is required (never the name)"))
    choice("treatment.mode", plan.mode, MODES)
    choice("treatment.technique", plan.technique, TECHNIQUES)
    choice("treatment.primary_tumour", plan.primary_tumour, PRIMARIES)
    choice("treatment.carrier", plan.carrier, CARRIERS)
    choice("perfusion.controlled_point", plan.controlled_point, CONTROLLED_POINTS)

    for name, (low, high, abs_low, abs_high, unit) in RANGES.items():
        value = getattr(plan, name.split(".")[1])
        if not _is_number(value):
            problems.append(Problem(name, f"{value!r} is not a number ({unit})"))
        elif not abs_low <= value <= abs_high:
            problems.append(Problem(name, f"{value:g} {unit} is outside the board's absolute limits "
                                          f"{abs_low:g}..{abs_high:g} {unit} (no override possible)"))
        elif not low <= value <= high:
            problems.append(Problem(name, f"{value:g} {unit} is outside the standard {low:g}..{high:g} {unit}",
                                    overridable=True))

    if not plan.drugs:
        problems.append(Problem("drug", "at least one drug is required ([[drug]] with name and dose_mg)"))
    for i, (name, dose) in enumerate(plan.drugs):
        where = f"drug[{i + 1}]"
        if not name:
            problems.append(Problem(f"{where}.name", "a drug name is required"))
        if not _is_number(dose) or dose <= 0:
            problems.append(Problem(f"{where}.dose_mg", f"{dose!r} must be a dose in mg above 0"))
        if name.lower() in GLUCOSE_ONLY_DRUGS and plan.carrier != "glucose_5":
            problems.append(Problem("treatment.carrier", f"{name} is unstable in {plan.carrier}: it must be given "
                                                         "in 5 % glucose (carrier = \"glucose_5\")"))

    regions = plan.pci_regions
    if not isinstance(regions, list) or len(regions) != PCI_REGIONS:
        problems.append(Problem("scores.pci_regions", f"needs {PCI_REGIONS} region scores (regions 0-12), got "
                                                      f"{len(regions) if isinstance(regions, list) else regions!r}"))
    else:
        for i, score in enumerate(regions):
            if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 3:
                problems.append(Problem(f"scores.pci_regions[{i}]", f"{score!r} is not a lesion-size score 0..3"))
    if not isinstance(plan.cc, int) or isinstance(plan.cc, bool) or not 0 <= plan.cc <= 3:
        problems.append(Problem("scores.cc", f"{plan.cc!r} is not a completeness-of-cytoreduction score 0..3"))

    for name in CONTRAINDICATIONS:
        value = plan.contraindications.get(name)
        if value is None:
            problems.append(Problem(f"contraindications.{name}", "must be confirmed (false when absent)"))
        elif not isinstance(value, bool):
            problems.append(Problem(f"contraindications.{name}", f"{value!r} must be true or false"))
        elif value:
            problems.append(Problem(f"contraindications.{name}", "is present (true): a contraindication to HIPEC",
                                    overridable=True))
    for name in sorted(set(plan.contraindications) - set(CONTRAINDICATIONS)):
        problems.append(Problem(f"contraindications.{name}", "is not a contraindication this plan knows: "
                                                             + ", ".join(CONTRAINDICATIONS)))

    number = plan.session_number
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        problems.append(Problem("patient.session_number", f"{number!r} must be 1 or more"))
    else:
        most = SESSIONS_PER_MODE.get(plan.mode)
        if most is not None and number > most:
            problems.append(Problem("patient.session_number", f"session {number} exceeds the {plan.mode} "
                                                              f"standard of 1..{most} sessions", overridable=True))
        if number > 1 and not plan.previous_session:
            problems.append(Problem("patient.previous_session", "a later session needs the time of the previous "
                                                                "one (ISO 8601, e.g. 2026-11-25T09:30)"))
    if plan.previous_session:
        try:
            previous = dt.datetime.fromisoformat(str(plan.previous_session))
        except ValueError:
            problems.append(Problem("patient.previous_session", f"{plan.previous_session!r} is not an ISO 8601 "
                                                                "date-time (e.g. 2026-11-25T09:30)"))
        else:
            reference = now or dt.datetime.now()
            hours = (reference - previous).total_seconds() / 3600.0
            if hours < MIN_HOURS_BETWEEN_SESSIONS:
                problems.append(Problem("patient.previous_session", f"{hours:.1f} h since the previous session; the "
                                        f"standard needs at least {MIN_HOURS_BETWEEN_SESSIONS:g} h", overridable=True))

    return _apply_overrides(plan, problems)


def _apply_overrides(plan: SessionPlan, problems: list[Problem]) -> list[Problem]:
    overridden = {o.field: o for o in plan.overrides}
    kept: list[Problem] = []
    used: set[str] = set()
    for problem in problems:
        override = overridden.get(problem.field)
        if override is not None and problem.overridable:
            if len(override.reason.strip()) < 10:
                kept.append(Problem(problem.field, f"{problem.message}; the override needs a reason "
                                                   "(a sentence, at least 10 characters)"))
            used.add(problem.field)
            continue
        if override is not None:
            used.add(problem.field)
            kept.append(Problem(problem.field, f"{problem.message}; this cannot be overridden"))
            continue
        kept.append(problem)
    for name in overridden:
        if name not in used:
            kept.append(Problem(f"override[{name}]", "overrides nothing: the field is within the standard or "
                                                     "not a field of the plan"))
    return kept


TEMPLATE = '''# HIPEC session plan (C-HIPEC standard: 43.0 degC +-0.1, 60-90 min, 4-6 L, 400-600 mL/min).
# Check it with `hipec plan check FILE`; run it with `hipec run FILE --port PORT`.

[patient]
id = "P-0001"                  # pseudonymous identifier, never the patient's name
session_number = 1             # 1 for this patient's first HIPEC session
previous_session = ""          # ISO 8601 date-time of the previous session, e.g. "2026-11-25T09:30"

[treatment]
mode = "prophylactic"          # prophylactic (1-2 sessions) | therapeutic (1-3) | conversion | comprehensive
technique = "closed"           # open | closed
primary_tumour = "gastric"     # gastric | colorectal | gynaecological | pseudomyxoma |
                               # hepato-biliary-pancreatic | mesothelioma | other
carrier = "saline"             # saline | glucose_5 | ringer | plasma_substitute | distilled_water
                               # oxaliplatin and carboplatin need glucose_5

[[drug]]                       # one [[drug]] table per drug
name = "cisplatin"
dose_mg = 80.0

[perfusion]
target_temp_c = 43.0           # standard 42.9..43.1 degC
duration_min = 60              # standard 60..90 min
volume_l = 5.0                 # standard 4..6 L
flow_ml_min = 500              # standard 400..600 mL/min
controlled_point = "inflow"    # inflow | abdominal (cascade on the cavity probes)

[scores]
# Peritoneal Cancer Index: lesion-size score 0..3 for each of the 13 regions (0-8 abdominal,
# 9-12 small bowel); PCI = their sum, 0..39.
pci_regions = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
cc = 0                         # completeness of cytoreduction 0..3 (0 and 1 are satisfactory)

[contraindications]            # confirm each is absent (false)
extensive_adhesions = false
poorly_healing_anastomosis = false
complete_bowel_obstruction = false
liver_or_kidney_dysfunction = false
marrow_suppression = false
severe_cardiovascular_disease = false
infection = false
bleeding_tendency = false
unstable_vital_signs = false
cachexia = false

# A value outside the standard needs an override with a reason; it is recorded with the session.
# [[override]]
# field = "perfusion.flow_ml_min"
# reason = "small abdominal cavity after previous surgery: 350 mL/min agreed with the surgeon"
'''
