"""One setting swept across plants (in-process firmware, bench/inprocess.py): how a gain or a model
value moves the control figures. For tuning decisions, recorded in docs/benchmarks.md.

Usage: python bench/sweep.py NAME=V1,V2,... PLANT [PLANT ...]     (e.g. td_s=0,3,6,12 default noisy-probes)
Prints per plant and value: outcome, max |error| of the true inflow during TREATMENT, heat-up overshoot.
"""
from __future__ import annotations

import json
import sys

from hipec import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
from control import load_all  # noqa: E402
from inprocess import figures, session_run  # noqa: E402


def main(argv: list[str]) -> int:
    if len(argv) < 2 or "=" not in argv[0]:
        print(__doc__, file=sys.stderr)
        return 2
    name, values = argv[0].split("=", 1)
    for plant in argv[1:]:
        params, plan, config = load_all(REPO_ROOT / "bench" / "plants" / f"{plant}.toml")
        for value in (float(v) for v in values.split(",")):
            result = figures(session_run(plant, params, plan, dict(config, **{name: value}), None), plan)
            print(json.dumps({"plant": plant, name: value, "outcome": result["outcome"],
                              "max_abs_error_c": result["max_abs_error_c"], "overshoot_c": result["overshoot_c"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
