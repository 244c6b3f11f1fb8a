"""The clinical rules a session plan is checked against (docs/clinical-standard.md restates each one
beside the check here that enforces it): ranges of the standard and of the board, the drug vocabulary
and the carrier rule, scores, sessions and the contraindication list. Each rule appends Problems that
name the field, the value and what is allowed.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hipec import vocabulary
from hipec.vocabulary import CARRIERS, GLUCOSE_ONLY_DRUGS, did_you_mean

if TYPE_CHECKING:
    from hipec.plans import SessionPlan

MODES = ("prophylactic", "therapeutic", "conversion", "comprehensive")
TECHNIQUES = ("open", "closed")
PRIMARIES = ("gastric", "colorectal", "gynaecological", "pseudomyxoma", "hepato-biliary-pancreatic",
             "mesothelioma", "other")
CONTROLLED_POINTS = ("inflow", "abdominal")
CONTRAINDICATIONS = (
    "extensive_adhesions", "poorly_healing_anastomosis", "complete_bowel_obstruction",
    "liver_or_kidney_dysfunction", "marrow_suppression", "severe_cardiovascular_disease", "infection",
    "bleeding_tendency", "unstable_vital_signs", "cachexia",
)
# What the template writes where only the team can answer (the patient, the drug and its dose, each
# contraindication): a plan nobody filled in does not pass.
UNANSWERED = "?"
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
# Optional body measures, printed on the record (and a base for dosing): ranges that hold every adult
# and adolescent a HIPEC team treats; a value outside is a typo (kg for lb, m for cm).
BODY_RANGES: dict[str, tuple[float, float, str]] = {
    "patient.weight_kg": (20.0, 250.0, "kg"),
    "patient.height_cm": (100.0, 230.0, "cm"),
    "patient.bsa_m2": (0.5, 3.0, "m2"),
}
# A single drug dose above this is a unit slip (g for mg, a total for a daily dose): no HIPEC regimen of
# the standard's drugs gives more than a few grams (fluorouracil the most).
MAX_DOSE_MG = 5000.0
# A pseudonymous id: a code of letters and digits with . _ - (never a name: it has a digit, no space).
PATIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,31}")
# An override's reason: a sentence someone can be held to.
MIN_REASON_CHARS = 10


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    overridable: bool = False

    def __str__(self) -> str:
        hint = " (an [[override]] of this field with a reason allows it)" if self.overridable else ""
        return f"{self.field}: {self.message}{hint}"



def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def number_problem(name: str, value: Any, unit: str) -> Problem | None:
    """A value that is not a finite number (TOML allows nan and inf) is refused before any range."""
    if value is None:
        return None  # reported as missing
    if not is_number(value):
        return Problem(name, f"{value!r} is not a number ({unit})")
    if not math.isfinite(value):
        return Problem(name, f"{value} is not a finite number ({unit})")
    return None


def check_choices(plan: SessionPlan, problems: list[Problem]) -> None:
    def choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
        if value is None:
            return  # not written: the plan's key check names it among the missing keys, once
        if value not in allowed:
            near = did_you_mean(value, allowed) if isinstance(value, str) else ""
            problems.append(Problem(name, f"{value!r} is not one of: {', '.join(allowed)}{near}"))

    choice("treatment.mode", plan.mode, MODES)
    choice("treatment.technique", plan.technique, TECHNIQUES)
    choice("treatment.primary_tumour", plan.primary_tumour, PRIMARIES)
    choice("treatment.carrier", None if plan.carrier is None else plan.carrier_name, CARRIERS)
    choice("perfusion.controlled_point", plan.controlled_point, CONTROLLED_POINTS)


def check_patient(plan: SessionPlan, problems: list[Problem], now: dt.datetime | None) -> None:
    pid = plan.patient_id
    if pid == UNANSWERED:
        problems.append(Problem("patient.id", "not filled in: the patient's pseudonymous id (never the name)"))
    elif not isinstance(pid, str) or not pid.strip():
        problems.append(Problem("patient.id", "a pseudonymous patient id is required (never the name)"))
    elif not PATIENT_ID.fullmatch(pid) or not any(c.isdigit() for c in pid):
        problems.append(Problem("patient.id", f"{pid!r} is not a pseudonymous id: letters and digits with . _ -, "
                                              "at least one digit, no spaces, e.g. P-0001 (never the name)"))
    for name, (low, high, unit) in BODY_RANGES.items():
        value = getattr(plan, name.split(".")[1])
        problem = number_problem(name, value, unit)
        if problem:
            problems.append(problem)
        elif value is not None and not low <= value <= high:
            problems.append(Problem(name, f"{value:g} {unit} is outside {low:g}..{high:g} {unit}"))
    number = plan.session_number
    if not is_whole(number) or number < 1:
        problems.append(Problem("patient.session_number", f"{number!r} must be a whole number, 1 or more"))
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
            if hours < 0:
                problems.append(Problem("patient.previous_session", f"{plan.previous_session} is in the future "
                                                                    f"({-hours:.1f} h from now): a mistyped date"))
            elif hours < MIN_HOURS_BETWEEN_SESSIONS:
                problems.append(Problem("patient.previous_session", f"{hours:.1f} h since the previous session; the "
                                        f"standard needs at least {MIN_HOURS_BETWEEN_SESSIONS:g} h", overridable=True))


def check_perfusion(plan: SessionPlan, problems: list[Problem]) -> None:
    for name, (low, high, abs_low, abs_high, unit) in RANGES.items():
        value = getattr(plan, name.split(".")[1])
        problem = number_problem(name, value, unit)
        if problem:
            problems.append(problem)
        elif value is None:
            continue  # reported as missing
        elif not abs_low <= value <= abs_high:
            problems.append(Problem(name, f"{value:g} {unit} is outside the board's absolute limits "
                                          f"{abs_low:g}..{abs_high:g} {unit} (no override possible)"))
        elif not low <= value <= high:
            problems.append(Problem(name, f"{value:g} {unit} is outside the standard {low:g}..{high:g} {unit}",
                                    overridable=True))


def check_drugs(plan: SessionPlan, problems: list[Problem]) -> None:
    if not plan.drugs:
        problems.append(Problem("drug", "at least one drug is required ([[drug]] with name and dose_mg)"))
    glucose_needed: list[str] = []
    for i, drug in enumerate(plan.drugs):
        where = f"drug[{i + 1}]"
        written = drug.written
        if written == UNANSWERED:
            problems.append(Problem(f"{where}.name", "not filled in: the drug's generic name, as prescribed"))
        elif not isinstance(written, str) or not written.strip():
            problems.append(Problem(f"{where}.name", "a drug name is required"))
        elif drug.generic is None:
            problems.append(Problem(f"{where}.name", f"{written!r} is not a drug of the standard "
                                                     f"({', '.join(vocabulary.DRUGS)})"
                                                     f"{vocabulary.drug_suggestion(written)}", overridable=True))
        elif drug.generic in GLUCOSE_ONLY_DRUGS:
            glucose_needed.append(drug.generic if drug.generic == written.strip() else f"{drug.generic} ({written.strip()})")
        dose = drug.dose_mg
        problem = number_problem(f"{where}.dose_mg", dose, "mg")
        if dose == UNANSWERED:
            problems.append(Problem(f"{where}.dose_mg", "not filled in: the prescribed dose, in mg"))
        elif problem:
            problems.append(problem)
        elif dose is not None and dose <= 0:
            problems.append(Problem(f"{where}.dose_mg", f"{dose:g} mg: a dose must be above 0 mg"))
        elif dose is not None and dose > MAX_DOSE_MG:
            problems.append(Problem(f"{where}.dose_mg", f"{dose:g} mg is outside 0..{MAX_DOSE_MG:g} mg (above 0; more "
                                                        "is a unit slip)"))
    if plan.carrier_name in CARRIERS and plan.carrier_name != "glucose_5":
        for name in glucose_needed:
            problems.append(Problem("treatment.carrier", f"{name} is unstable in {plan.carrier_name}: it must be "
                                                         "given in 5 % glucose (carrier = \"glucose_5\")"))


def check_scores(plan: SessionPlan, problems: list[Problem]) -> None:
    regions = plan.pci_regions
    if not isinstance(regions, list) or len(regions) != PCI_REGIONS:
        problems.append(Problem("scores.pci_regions", f"needs {PCI_REGIONS} region scores (regions 0-12), got "
                                                      f"{len(regions) if isinstance(regions, list) else regions!r}"))
    else:
        for i, score in enumerate(regions):
            if not is_whole(score) or not 0 <= score <= 3:
                problems.append(Problem(f"scores.pci_regions[{i}]", f"{score!r} is not a lesion-size score 0..3"))
    if plan.cc is not None and (not is_whole(plan.cc) or not 0 <= plan.cc <= 3):
        problems.append(Problem("scores.cc", f"{plan.cc!r} is not a completeness-of-cytoreduction score 0..3"))


def check_contraindications(plan: SessionPlan, problems: list[Problem]) -> None:
    for name in CONTRAINDICATIONS:
        value = plan.contraindications.get(name)
        if value is None:
            problems.append(Problem(f"contraindications.{name}", "must be confirmed (false when absent)"))
        elif value == UNANSWERED:
            problems.append(Problem(f"contraindications.{name}", "not answered yet: false when absent, true when "
                                    "present"))
        elif not isinstance(value, bool):
            problems.append(Problem(f"contraindications.{name}", f"{value!r} must be true or false"))
        elif value:
            problems.append(Problem(f"contraindications.{name}", "is present (true): a contraindication to HIPEC",
                                    overridable=True))


