"""Randomized scenario campaign, the project's own adversary: N scenarios from a seed (bench/scenario_gen.py),
each run on the emulated MCU through the real bridge (bench/scenario_run.py) and checked against the
invariants of bench/scenario_check.py: fluid to the patient below 45.0 degC; the heater off within one
control tick of a heater-off alarm and never on again by itself after a fault or a reset; every record
and board event stored once, in order, in the right session of the right board; an exit status that
means what the README says; a board that answers afterwards.

Usage: hipec bench scenarios [--count N] [--seed S] [--workers W] [--json]
Scenario i of a campaign has seed S + i: `--count 1 --seed S+i` runs it alone. Each scenario runs in
its own process, W at a time (default: one per core); one that has not finished after --timeout wall
seconds is a violation too. Exit status 0 when no scenario broke an invariant, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scenario_check import check  # noqa: E402
from scenario_gen import generate  # noqa: E402
from scenario_run import ScenarioRun  # noqa: E402
from workers import run_all  # noqa: E402


def run_one(seed: int) -> dict[str, Any]:
    """Generate, run and check one scenario; what it found, as plain data."""
    scenario = generate(seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hipec-scenario-") as folder:
        run = ScenarioRun(scenario, Path(folder))
        try:
            seen = run.run()
            violations = check(scenario, run.mcu, seen, run.db)
        except Exception as exc:
            where = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in traceback.extract_tb(exc.__traceback__)]
            violations = [f"the scenario itself failed: {type(exc).__name__}: {exc} (at {' < '.join(reversed(where[-3:]))})"]
            seen = run.seen
    final = seen.final_status or {}
    return {"seed": seed, "violations": violations, "exit_status": seen.exit_status,
            "board_phase": final.get("phase"), "board_fault": final.get("fault"),
            "wall_s": round(time.monotonic() - started, 2), "board_s": round(run.mcu.now_ms / 1000.0, 1),
            "steps": [s.what for s in scenario.steps]}


def campaign(seeds: list[int], workers: int, timeout_s: float, report: Any) -> list[dict[str, Any]]:
    """Each scenario in its own process (a hung one is killed and reported), `workers` at a time."""
    results = run_all(seeds, run_one, workers, timeout_s,
                      lambda seed, why: {"seed": seed, "violations": [f"the scenario failed to finish: {why}"]}, report)
    return sorted(results, key=lambda r: r["seed"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hipec bench scenarios", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="how many scenarios (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first scenario (default 1)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="scenarios at a time (default: cores)")
    parser.add_argument("--timeout", type=float, default=300.0, help="wall seconds one scenario may take (default 300)")
    parser.add_argument("--json", action="store_true", help="one JSON object per scenario, then a summary object")
    args = parser.parse_args(argv)
    if args.count < 1 or args.workers < 1:
        parser.error("--count and --workers must be at least 1")
    seeds = list(range(args.seed, args.seed + args.count))

    def report(result: dict[str, Any]) -> None:
        if args.json:
            print(json.dumps(result), flush=True)
            return
        for violation in result["violations"]:
            print(f"VIOLATION seed {result['seed']}: {violation}", flush=True)

    started = time.monotonic()
    results = campaign(seeds, args.workers, args.timeout, report)
    minutes = (time.monotonic() - started) / 60.0
    broken = [r["seed"] for r in results if r["violations"]]
    summary = {"scenarios": len(results), "seed": args.seed, "violations": sum(len(r["violations"]) for r in results),
               "scenarios_with_violations": broken, "workers": args.workers,
               "scenarios_per_min": round(len(results) / minutes, 1) if minutes > 0 else None,
               "board_hours": round(sum(r.get("board_s", 0.0) for r in results) / 3600.0, 1)}
    if args.json:
        print(json.dumps({"summary": summary}))
    else:
        print(f"{summary['scenarios']} scenarios from seed {args.seed} on {args.workers} worker(s): "
              f"{summary['violations']} violation(s) in {len(broken)} scenario(s); "
              f"{summary['scenarios_per_min']} scenarios/min, {summary['board_hours']} h of board time")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
