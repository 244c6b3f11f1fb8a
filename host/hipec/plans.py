"""Session plans as TOML files, checked against the C-HIPEC standard (docs/clinical-standard.md).

`hipec plan new` writes the template (plan_template.py); `hipec plan check FILE` loads a plan and
reports every problem with the field, the value and what is allowed. A key the plan may not hold is
refused with the nearest valid one (plan_keys.py); drugs are read through the vocabulary
(vocabulary.py). Values outside the standard's ranges are refused unless the plan carries an override
for that field with a reason (recorded with the session); what the board's absolute limits forbid, or
chemistry forbids, no override allows.
"""
from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hipec import plan_rules, vocabulary
from hipec.plan_keys import key_problems
from hipec.plan_rules import (CONTRAINDICATIONS, CONTROLLED_POINTS, MODES, PCI_REGIONS, PRIMARIES, RANGES,
                              TECHNIQUES, UNANSWERED, Problem, check_choices, check_contraindications, check_drugs,
                              check_patient, check_perfusion, check_scores)
from hipec.vocabulary import CARRIERS, GLUCOSE_ONLY_DRUGS
from hipec.plan_template import TEMPLATE
from hipec.runner import Plan

__all__ = ["TEMPLATE", "SessionPlan", "Problem", "Override", "Drug", "PlanFileError", "load", "check", "MODES",
           "TECHNIQUES", "PRIMARIES", "CARRIERS", "CONTROLLED_POINTS", "CONTRAINDICATIONS", "RANGES",
           "GLUCOSE_ONLY_DRUGS", "PCI_REGIONS", "UNANSWERED"]

class PlanFileError(ValueError):
    """A plan file that cannot be read at all (not a file, not TOML)."""


@dataclass(frozen=True)
class Override:
    field: str
    reason: str


@dataclass(frozen=True)
class Drug:
    written: Any  # as the plan wrote it
    dose_mg: Any

    @property
    def generic(self) -> str | None:
        """The generic name behind what was written, None when the vocabulary does not know it."""
        return vocabulary.drug(self.written) if isinstance(self.written, str) else None

    @property
    def name(self) -> str:
        return self.generic or str(self.written).strip()


@dataclass
class SessionPlan:
    patient_id: Any = "P-0001"
    session_number: Any = 1
    previous_session: Any = ""
    weight_kg: Any = None
    height_cm: Any = None
    bsa_m2: Any = None
    mode: Any = "prophylactic"
    technique: Any = "closed"
    primary_tumour: Any = "gastric"
    carrier: Any = "saline"
    drugs: list[Drug] = field(default_factory=list)
    target_temp_c: Any = 43.0
    duration_min: Any = 60.0
    volume_l: Any = 5.0
    flow_ml_min: Any = 500.0
    controlled_point: Any = "inflow"
    pci_regions: Any = field(default_factory=lambda: [0] * PCI_REGIONS)
    cc: Any = 0
    contraindications: dict[str, Any] = field(default_factory=lambda: {c: False for c in CONTRAINDICATIONS})
    overrides: list[Override] = field(default_factory=list)
    # Problems found while reading the file (unknown or missing keys): reported by check() first.
    file_problems: list[Problem] = field(default_factory=list)

    @property
    def pci(self) -> int:
        return sum(self.pci_regions)

    @property
    def carrier_name(self) -> str:
        """The carrier in the plan's vocabulary (a synonym such as "5% glucose" read as glucose_5)."""
        if not isinstance(self.carrier, str):
            return ""
        return vocabulary.carrier(self.carrier) or self.carrier

    def board_plan(self) -> Plan:
        """What the board runs (the rest is the record's)."""
        return Plan(target_temp_c=self.target_temp_c, duration_min=self.duration_min, volume_l=self.volume_l,
                    flow_ml_min=self.flow_ml_min, controlled_point=self.controlled_point)

    def record(self) -> dict[str, Any]:
        """The whole plan as stored with the session."""
        drugs = []
        for d in self.drugs:
            entry: dict[str, Any] = {"name": d.name, "dose_mg": d.dose_mg}
            if d.name != d.written:  # a brand name or another spelling: what was written is kept too
                entry["written"] = d.written
            drugs.append(entry)
        body = {"weight_kg": self.weight_kg, "height_cm": self.height_cm, "bsa_m2": self.bsa_m2}
        return {
            "patient_id": self.patient_id, "session_number": self.session_number,
            "previous_session": self.previous_session, "mode": self.mode, "technique": self.technique,
            "primary_tumour": self.primary_tumour, "carrier": self.carrier_name, "drugs": drugs,
            **{k: v for k, v in body.items() if v is not None},
            "perfusion": self.board_plan().fields(), "pci_regions": self.pci_regions, "pci": self.pci,
            "cc": self.cc, "contraindications": self.contraindications,
            "overrides": [{"field": o.field, "reason": o.reason} for o in self.overrides],
        }

    def notes(self) -> list[str]:
        """What the standard asks the team to do beside the perfusion for this plan's drugs and carrier."""
        found = [vocabulary.DRUG_NOTES[d.generic] for d in self.drugs if d.generic in vocabulary.DRUG_NOTES]
        if self.carrier_name == "glucose_5":
            found.append("5 % glucose carrier: blood glucose may rise (watch diabetic patients)")
        return found


def load(path: Path) -> SessionPlan:
    """Read a plan file. A file that is not TOML raises PlanFileError; every other problem (an unknown or
    missing key among them) is reported by check()."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise PlanFileError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a text file"
        if Path(path).is_dir():
            raise PlanFileError(f"{path}: a folder, not a plan file; `hipec plan new {Path(path) / 'session.toml'}` "
                                f"writes one there") from None
        raise PlanFileError(f"{path}: cannot be read ({reason}); `hipec plan new {path}` writes one") from None
    found = [Problem(f, m) for f, m in key_problems(data, CONTRAINDICATIONS)]

    def table(name: str) -> dict[str, Any]:
        value = data.get(name, {})
        return value if isinstance(value, dict) else {}

    def tables(name: str) -> list[dict[str, Any]]:
        value = data.get(name, [])
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    patient, treatment, perfusion, scores = table("patient"), table("treatment"), table("perfusion"), table("scores")
    return SessionPlan(
        patient_id=patient.get("id", ""), session_number=patient.get("session_number", 1),
        previous_session=patient.get("previous_session", ""), weight_kg=patient.get("weight_kg"),
        height_cm=patient.get("height_cm"), bsa_m2=patient.get("bsa_m2"),
        mode=_word(treatment.get("mode")), technique=_word(treatment.get("technique")),
        primary_tumour=_word(treatment.get("primary_tumour")), carrier=treatment.get("carrier"),
        drugs=[Drug(d.get("name", ""), d.get("dose_mg")) for d in tables("drug")],
        target_temp_c=perfusion.get("target_temp_c"), duration_min=perfusion.get("duration_min"),
        volume_l=perfusion.get("volume_l"), flow_ml_min=perfusion.get("flow_ml_min"),
        controlled_point=_word(perfusion.get("controlled_point")),
        pci_regions=scores.get("pci_regions", []), cc=scores.get("cc"),
        contraindications=dict(table("contraindications")),
        overrides=[Override(str(o.get("field", "")), str(o.get("reason", ""))) for o in tables("override")],
        file_problems=found,
    )


def _word(value: Any) -> Any:
    """A choice as written, case and stray spaces aside (as drug and carrier names are read)."""
    return value.strip().lower() if isinstance(value, str) else value


def check(plan: SessionPlan, now: dt.datetime | None = None, found_elsewhere: Sequence[Problem] = ()) -> list[Problem]:
    """Every problem with the plan, with those found_elsewhere (the record's, patient_history.py), overrides
    applied; an empty list means it may run."""
    problems: list[Problem] = list(plan.file_problems) + list(found_elsewhere)
    check_patient(plan, problems, now)
    check_choices(plan, problems)
    check_perfusion(plan, problems)
    check_drugs(plan, problems)
    check_scores(plan, problems)
    check_contraindications(plan, problems)
    return _apply_overrides(plan, problems)


def _apply_overrides(plan: SessionPlan, problems: list[Problem]) -> list[Problem]:
    overridden = {o.field: o for o in plan.overrides}
    kept: list[Problem] = []
    used: set[str] = set()
    for problem in problems:
        override = overridden.get(problem.field)
        if override is not None and problem.overridable:
            if len(override.reason.strip()) < plan_rules.MIN_REASON_CHARS:
                kept.append(Problem(problem.field, f"{problem.message}; the override needs a reason "
                                                   f"(a sentence, at least {plan_rules.MIN_REASON_CHARS} characters)"))
            used.add(problem.field)
            continue
        if override is not None:
            used.add(problem.field)
            said = problem.message if "no override possible" in problem.message else \
                f"{problem.message}; this cannot be overridden"
            kept.append(Problem(problem.field, said))  # said once, however the rule words it
            continue
        kept.append(problem)
    for name in overridden:
        if name not in used:
            kept.append(Problem(f"override[{name}]", "overrides nothing: the field is within the standard or "
                                                     "not a field of the plan"))
    return kept
