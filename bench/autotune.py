"""The autotune on every benchmark plant: what it identifies against the plant's truth, and how the
controller does with the settings it stores.

Usage: python bench/autotune.py [--json] [PLANT.toml ...]   (default: every inflow-controlled plant in
       bench/plants)
       hipec bench autotune [--json] [PLANT.toml ...]

Per plant, in-process (bench/inprocess.py; a session takes seconds): the relay experiment while
priming, the model and settings it derives, the plant's true heat-exchanger and inflow-line volumes
beside them, then a whole session with the stored settings: max |error| of the true inflow during
TREATMENT, time in +-0.1 degC, overshoot.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hipec import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
from control import load_all  # noqa: E402
from inprocess import figures, session_run, tune  # noqa: E402


def evaluate(path: Path) -> dict[str, Any]:
    params, plan, config = load_all(path)
    result = tune(params, plan, config)
    proposed = result["proposed"]
    session = figures(session_run("tuned", params, plan, dict(config, **proposed), None), plan)
    return {
        "plant": path.stem,
        "pu_s": round(result["pu_s"], 1),
        "amplitude_c": round(result["amplitude_c"], 3),
        "lag_s": round(result["lag_s"], 1),
        "dead_time_s": round(result["dead_time_s"], 1),
        "heater_volume_ml": {"identified": round(proposed["heater_volume_ml"]), "true": params.heater_volume_l * 1000},
        "inflow_line_ml": {"identified": round(proposed["inflow_line_ml"]), "true": params.line_in_volume_l * 1000},
        "kp_w_per_c": round(proposed["kp_w_per_c"], 2),
        "ti_s": round(proposed["ti_s"], 1),
        **{key: session[key] for key in ("outcome", "alarms_raised", "max_abs_error_c", "p99_abs_error_c",
                                         "time_in_band_pct", "overshoot_c")},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hipec bench autotune", description=__doc__.splitlines()[0])
    parser.add_argument("plants", nargs="*", type=Path, help="plant files (default: bench/plants/*.toml)")
    parser.add_argument("--json", action="store_true", help="print one JSON list")
    args = parser.parse_args(argv)
    paths = args.plants or [p for p in sorted((REPO_ROOT / "bench" / "plants").glob("*.toml"))
                            if not p.stem.startswith("cascade")]
    rows = [evaluate(path) for path in paths]
    if args.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
