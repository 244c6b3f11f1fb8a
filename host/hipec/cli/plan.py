"""`hipec plan new` and `hipec plan check`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hipec.cli.exits import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from hipec.plans import SessionPlan
    from hipec.store import Store


def cmd_plan(args: argparse.Namespace) -> int:
    from hipec import plans

    if args.plan_command == "new":
        if args.file.exists():
            print(f"hipec plan new: {args.file} exists; not overwritten", file=sys.stderr)
            return EXIT_USAGE
        args.file.write_text(plans.TEMPLATE)
        print(f"wrote {args.file}: fill it in, then `hipec plan check {args.file}`")
        return EXIT_OK
    from hipec.store import Store

    plan = checked(args.file, f"{args.file}", "the plan may not run", Store(args.db) if args.db.exists() else None)
    if plan is None:
        return EXIT_USAGE
    for override in plan.overrides:
        print(f"  override {override.field}: {override.reason}")
    return EXIT_OK


def summary_line(plan: SessionPlan) -> str:
    from hipec.dosing import body_surface_m2, dose_text

    bsa = body_surface_m2(plan.bsa_m2, plan.weight_kg, plan.height_cm)
    drugs = ", ".join(dose_text(d.name, d.dose_mg, bsa) for d in plan.drugs)
    return (f"plan OK: patient {plan.patient_id}, session {plan.session_number} ({plan.mode}, {plan.technique}); "
            f"{plan.target_temp_c:g} °C at the {plan.controlled_point}, {plan.duration_min:g} min, "
            f"{plan.volume_l:g} L, {plan.flow_ml_min:g} mL/min; {drugs} in {plan.carrier_name}; PCI {plan.pci}, "
            f"CC-{plan.cc}")


def checked(path: Path, where: str, verdict: str, store: Store | None = None) -> SessionPlan | None:
    """The plan file read and checked, against the patient's earlier sessions in store when given: its
    summary and notes printed, or every problem and None."""
    import datetime as dt

    from hipec import plans
    from hipec.patient_history import history_problems, prior_sessions

    plan = plans.load(path)
    now = dt.datetime.now()
    prior = prior_sessions(store, str(plan.patient_id)) if store is not None and plan.patient_id else []
    problems = plans.check(plan, now, history_problems(plan, prior, now))
    if problems:
        print(f"{where}: {len(problems)} problem(s); {verdict}:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return None
    print(summary_line(plan))
    for note in plan.notes():
        print(f"  note: {note}")
    return plan
