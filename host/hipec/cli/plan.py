"""`hipec plan new` and `hipec plan check`."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from hipec.cli.exits import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from hipec.plans import SessionPlan


def cmd_plan(args: argparse.Namespace) -> int:
    from hipec import plans

    if args.plan_command == "new":
        if args.file.exists():
            print(f"hipec plan new: {args.file} exists; not overwritten", file=sys.stderr)
            return EXIT_USAGE
        args.file.write_text(plans.TEMPLATE)
        print(f"wrote {args.file}: fill it in, then `hipec plan check {args.file}`")
        return EXIT_OK
    plan = plans.load(args.file)
    problems = plans.check(plan)
    if problems:
        print(f"{args.file}: {len(problems)} problem(s); the plan may not run:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    print(summary_line(plan))
    for override in plan.overrides:
        print(f"  override {override.field}: {override.reason}")
    for note in plan.notes():
        print(f"  note: {note}")
    return EXIT_OK


def summary_line(plan: SessionPlan) -> str:
    drugs = ", ".join(f"{d.name} {d.dose_mg:g} mg" for d in plan.drugs)
    return (f"plan OK: patient {plan.patient_id}, session {plan.session_number} ({plan.mode}, {plan.technique}); "
            f"{plan.target_temp_c:g} °C at the {plan.controlled_point}, {plan.duration_min:g} min, "
            f"{plan.volume_l:g} L, {plan.flow_ml_min:g} mL/min; {drugs} in {plan.carrier_name}; PCI {plan.pci}, "
            f"CC-{plan.cc}")
