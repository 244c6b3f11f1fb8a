"""Randomized plant campaign: this controller on hundreds of circuits drawn over the whole documented space,
each a whole session on the emulated MCU, judged on the plant's truth.

Usage: hipec bench campaign --plants N --seed S [--json] [--peers] [--workers W] [--duration-min M]
                            [--firmware REV | --in-process] [--set NAME=VALUE ...] [--histogram PNG]
                            [--plant-files DIR] [--save JSON]

Plant s (seeds S .. S+N-1) is drawn by bench/campaign_plants.py: a Latin hypercube over every parameter
of docs/plant-model.md and what the board is not told (room, losses, tubing calibration error, volumes,
element lag, probe lag and noise), its output stage (PWM, or an SSR and its period) and the planned flow.
Each runs a whole standard session (43.0 degC, M minutes of treatment, default 60) on the emulated MCU
in lockstep (bench/lockstep.py), W sessions at a time (default: one per core), and is judged by
bench/campaign_judge.py beside what its own heat balance allows (bench/physics.py): plants whose target
is not reachable under the 44.0 degC outlet limit and the heater's power are reported apart, with what
each session ended with. `--plants 1 --seed s` reruns plant s alone and prints the same figures to the
last digit. --peers runs simple-pid and the on/off thermostat (bench/peers.py) on the same plants, the
firmware in-process under CPython with only its heater controller swapped, with simple-pid's gains from
the autotune on the reference circuit. The firmware is built once at the start, from the working tree
or the git revision --firmware names, and every session runs that build. --in-process runs the firmware
too in-process under CPython (the working tree's, as bench/inprocess.py does): a few times faster, for
trying a change over many plants; the figures of record are the emulated MCU's. --plant-files writes
each failing or unreachable plant as a bench plant file (`hipec bench control --plant FILE` runs it).
--set gives every plant's board a setting over what the plant draws (checked by the firmware's own
configuration code, as set_config checks it): the same plants with and without it measure what a setting
does across the documented space; the summary, the rerun line and the plant files carry it.
Exit status 0 when every reachable session met the requirement, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any, NamedTuple

from hipec.operate import parse_setting
from hipec.tables import PHASE_NAMES
from hipec.vocabulary import nearest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from campaign_judge import Session, figures, verdict  # noqa: E402
from campaign_plants import DURATION_MIN, CampaignPlant, draw, reference  # noqa: E402
from campaign_report import histogram, summarize, text_lines  # noqa: E402
from firmware_at import build  # noqa: E402
from lockstep import ENDED, run_session  # noqa: E402
from physics import board_config, heatup_minimum_s, reachability  # noqa: E402
from controller.config import SPEC as BOARD_SETTINGS  # noqa: E402  (on the path physics set)
from controller.errors import CommandError  # noqa: E402
from workers import run_all  # noqa: E402

FIRMWARE = "firmware"
PEERS = ("simple-pid", "on/off")
# How close the inflow line the board found must be to the plant's, in transit time.
LINE_TRANSIT_SHARE = 0.10
LINE_TRANSIT_S = 2.5
# Wall seconds one session may take on a loaded machine before it is killed and reported.
SESSION_TIMEOUT_S = 3600.0


def firmware_session(plant: CampaignPlant, firmware: Path) -> Session:
    """The whole session on the emulated MCU, as a second-by-second series."""
    trace = run_session(plant.params, plant.plan, plant.config, firmware=firmware)
    phase_of = {r["t_ms"] // 1000: r["phase"] for r in trace.records}
    samples = [(s.t_ms // 1000, PHASE_NAMES[phase_of[s.t_ms // 1000]], s.temps_c["inflow"], s.temps_c["heater_outlet"])
               for s in trace.truth if s.t_ms // 1000 in phase_of]
    alarms: list[str] = []
    for _t, name in trace.alarms_raised:
        if name not in alarms:
            alarms.append(name)
    return Session(t_s=[t for t, _p, _c, _o in samples], phase=[p for _t, p, _c, _o in samples],
                   true_inflow_c=[c for _t, _p, c, _o in samples], true_outlet_c=[o for _t, _p, _c, o in samples],
                   outcome=trace.outcome, given_up=trace.given_up,
                   alarms=alarms, delivered_ml=trace.delivered_ml,
                   commanded_ml=sum(r["flow_ml_min"] / 60.0 for r in trace.records),
                   line_learnt_ml=trace.diagnostics.get(trace.end_ms, {}).get("inflow_line_learnt_ml"))


def inprocess_session(name: str, plant: CampaignPlant, pid: dict[str, float]) -> Session:
    """A whole session in-process (bench/inprocess.py): a peer's with the peers' settings and its heater
    controller swapped in, the firmware's (FIRMWARE) with the plant's settings and its own."""
    from inprocess import session_run
    from peers import PEER_SETTINGS, peer_heaters

    if name == FIRMWARE:
        config, heater = dict(plant.config), None
    else:
        config, heater = dict(plant.config, **PEER_SETTINGS), peer_heaters(pid)[name]
    run = session_run(name, plant.params, plant.plan, config, heater)
    return Session(t_s=run.t_s, phase=run.phase, true_inflow_c=run.true_inflow_c, true_outlet_c=run.true_outlet_c,
                   outcome=run.outcome,
                   given_up=run.outcome not in ENDED, alarms=run.alarms)


def judge(controller: str, plant: CampaignPlant, session: Session) -> dict[str, Any]:
    reach = reachability(plant.params, plant.plan, plant.config)
    result = {"seed": plant.seed, "controller": controller, "reachable": reach.reachable, "cause": reach.cause,
              "required_w": reach.required_w,
              **figures(session, plant.plan.target_temp_c, heatup_minimum_s(plant.params, plant.plan, plant.config))}
    result["problems"] = verdict(result, reach)
    if session.line_learnt_ml is not None:
        result["line"] = line_found(plant, session.line_learnt_ml)
    return result


def line_found(plant: CampaignPlant, learnt_ml: float) -> dict[str, Any]:
    """The inflow line the board found (line_delay.py) against the plant's: within a tenth of its transit
    or LINE_TRANSIT_S, whichever is more (the candidates are 2 s apart; mixing blurs a short transit)."""
    true_ml = plant.params.line_in_volume_l * 1000.0
    off_s = abs(learnt_ml - true_ml) * 60.0 / plant.plan.flow_ml_min
    transit_s = true_ml * 60.0 / plant.plan.flow_ml_min
    return {"true_ml": round(true_ml, 1), "learnt_ml": round(learnt_ml, 1), "found": learnt_ml > 0.0,
            "within": learnt_ml > 0.0 and off_s <= max(LINE_TRANSIT_SHARE * transit_s, LINE_TRANSIT_S)}


class Job(NamedTuple):
    """One controller on one plant. (A named tuple: `hipec bench` loads this file as a module of no
    package, where a dataclass cannot look itself up.)"""
    controller: str
    seed: int
    duration_min: float
    firmware: Path  # the emulated board's build
    pid: dict[str, float]  # simple-pid's gains (empty for the others)
    in_process: bool = False  # the firmware in-process under CPython instead of on the emulated MCU
    settings: dict[str, Any] | None = None  # board settings over the plant's own (--set)


def run_one(job: Job) -> dict[str, Any]:
    """One controller on one plant, in its own process (bench/workers.py)."""
    started = time.monotonic()
    plant = draw(job.seed, job.duration_min).told(job.settings)
    try:
        if job.controller == FIRMWARE and not job.in_process:
            session = firmware_session(plant, job.firmware)
        else:
            session = inprocess_session(job.controller, plant, job.pid)
        result = judge(job.controller, plant, session)
    except Exception as exc:
        where = [f"{Path(f.filename).name}:{f.lineno}" for f in traceback.extract_tb(exc.__traceback__)][-3:]
        result = failed_job(job, f"{type(exc).__name__}: {exc} (at {' < '.join(reversed(where))})")
    result["wall_s"] = round(time.monotonic() - started, 1)
    return result


def failed_job(job: Job, why: str) -> dict[str, Any]:
    plant = draw(job.seed, job.duration_min).told(job.settings)
    reach = reachability(plant.params, plant.plan, plant.config)
    return {"seed": job.seed, "controller": job.controller, "reachable": reach.reachable, "cause": reach.cause,
            "outcome": "NOT RUN", "completed": False, "given_up": False, "alarms": [],
            "max_abs_error_c": None, "problems": [f"the session itself failed: {why}"]}


def board_settings(texts: list[str]) -> dict[str, Any]:
    """--set NAME=VALUE ..., each checked as the board's set_config checks it (and all of them together);
    ValueError naming the one refused and what it allows."""
    settings: dict[str, Any] = {}
    for text in texts:
        try:
            name, value = parse_setting(text)
        except ValueError as exc:
            raise ValueError(f"--set {text}: {exc}") from None
        if name not in BOARD_SETTINGS:
            near = nearest(name, BOARD_SETTINGS)
            hint = f" (did you mean {near}?)" if near else ""
            raise ValueError(f"--set {text}: the board has no setting {name!r}{hint}; `hipec config get` lists them")
        try:
            board_config({name: value})
        except CommandError as exc:
            raise ValueError(f"--set {text}: {exc}") from None
        settings[name] = value
    try:
        board_config(dict(settings))
    except CommandError as exc:
        raise ValueError(f"--set: together, {exc}") from None
    return settings


def reference_pid() -> dict[str, float]:
    """simple-pid's gains: the plain PID the autotune proposes on the reference circuit."""
    from inprocess import tune

    ref = reference()
    return dict(tune(ref.params, ref.plan, ref.config)["pid"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hipec bench campaign", description=__doc__.splitlines()[0])
    parser.add_argument("--plants", type=int, default=20, help="how many plants (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first plant, from 1 (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object: the summary and every session")
    parser.add_argument("--peers", action="store_true", help="also run simple-pid and the on/off thermostat")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="sessions at a time (default: cores)")
    parser.add_argument("--duration-min", type=float, default=DURATION_MIN,
                        help=f"treatment minutes of each session (default {DURATION_MIN:g})")
    parser.add_argument("--firmware", metavar="REV", help="run the firmware as this git revision holds it "
                        "(default: as the working tree has it at the start)")
    parser.add_argument("--in-process", action="store_true", help="run the firmware in-process under CPython "
                        "(the working tree's; faster, for trying a change: the figures of record are the emulated MCU's)")
    parser.add_argument("--set", metavar="NAME=VALUE", action="append", default=[], dest="settings",
                        help="a board setting for every plant, over the plant's own (repeat for more)")
    parser.add_argument("--histogram", type=Path, help="draw the max |error| and heat-up histograms to this PNG")
    parser.add_argument("--plant-files", type=Path, help="write each failing or unreachable plant's file here")
    parser.add_argument("--save", type=Path, help="write what --json prints to this file as well")
    args = parser.parse_args(argv)
    for name, value, low in (("--plants", args.plants, 1), ("--seed", args.seed, 1), ("--workers", args.workers, 1)):
        if value < low:
            print(f"{parser.prog}: error: {name} = {value} must be at least {low}", file=sys.stderr)
            return 2
    if not 1.0 <= args.duration_min <= 180.0:
        print(f"{parser.prog}: error: --duration-min = {args.duration_min:g} must be in 1..180 min (the board's "
              f"limits)", file=sys.stderr)
        return 2
    if args.in_process and args.firmware:
        print(f"{parser.prog}: error: --in-process runs the working tree's firmware; it cannot take --firmware",
              file=sys.stderr)
        return 2
    try:
        settings = board_settings(args.settings)
    except ValueError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    seeds = list(range(args.seed, args.seed + args.plants))
    firmware, built_from = build(args.firmware)
    pid = reference_pid() if args.peers else {}
    controllers = (FIRMWARE,) + (PEERS if args.peers else ())
    jobs = [Job(controller, seed, args.duration_min, firmware, pid, args.in_process, settings)
            for seed in seeds for controller in controllers]
    done = [0]

    def report(result: dict[str, Any]) -> None:
        done[0] += 1
        state = "; ".join(result["problems"])
        if not state:
            state = "met the requirement" if result["reachable"] else \
                f"unreachable, ended in {result['outcome']} with {', '.join(result['alarms'])}"
        print(f"[{done[0]}/{len(jobs)}] seed {result['seed']} {result['controller']}: {state}", file=sys.stderr, flush=True)

    started = time.monotonic()
    results = run_all(jobs, run_one, args.workers, SESSION_TIMEOUT_S, failed_job, report)
    results.sort(key=lambda r: (r["seed"], controllers.index(r["controller"])))
    summary = summarize(results, controllers, args.seed, args.plants, args.duration_min, settings,
                        args.in_process)
    summary["firmware"] = "the working tree's, in-process" if args.in_process else f"{firmware.name} ({built_from})"
    summary["workers"] = args.workers
    summary["wall_min"] = round((time.monotonic() - started) / 60.0, 1)
    if args.histogram:
        histogram(results, controllers, args.histogram)
    if args.plant_files:
        args.plant_files.mkdir(parents=True, exist_ok=True)
        for result in results:
            if result["controller"] == FIRMWARE and (result["problems"] or not result["reachable"]):
                path = args.plant_files / f"campaign-{result['seed']}.toml"
                path.write_text(draw(result["seed"], args.duration_min).told(settings).plant_file())
    everything = json.dumps({**summary, "sessions": results})
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(everything + "\n")
    if args.json:
        print(everything)
    else:
        print("\n".join(text_lines(summary)))
    return 0 if summary["requirement_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
