"""The safety channel against a heater switch stuck on, and its false alarms: the firmware in-process
(bench/inprocess.py) on the plant model.

Detection: on the reference circuit and its variants (flows, probe noise, an SSR heater, the switch
sticking early in HEATING), a session runs until it has been in the phase for the given time, the switch
sticks, and the table gives the time to the first high-priority alarm (and which) from the first tick
the switch conducted against its command (an SSR that sticks while its window has it on anyway fails
only when the window would have opened it), the heat exchanger's peak and the hottest fluid that reached
the patient.

False alarms: random circuits (every plant parameter drawn over its documented range, a line that
pumps the plan's flow, the site's settings as bench/scenario_gen.py makes them) run a fault-free session
through priming, heating and treatment; every high-priority alarm of the safety channel
(heater_runaway, inflow_disagreement) raised in one is counted, with the run's closest approach of the
runaway excess to its tolerance (degC; positive is an alarm). The thermal alarms that judge control
(heat_balance, temp_high, temp_low) are withheld, so that a circuit the controller does not hold well
still runs its whole session past the watch instead of stopping in FAULT before it has been tested.

Noise: with --noise-seeds N, detection in TREATMENT (60 s in, plus 0.37 s per seed so that the sticking
falls at every point of a tick and of the noise) on converters of 0.05 to 0.2 degC of noise, over N noise
seeds each: the median and worst detection time.

With --current the random circuits have a heater current transducer fitted (an element drawing 0.92-1.18
times its nameplate current, transducers of every standard range and noise): its alarms count as well.

Usage: python bench/runaway.py [--random N] [--seed S] [--workers W] [--noise-seeds N] [--current] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
from collections import Counter
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hipec.emulator.params import PlantParams  # noqa: E402
from hipec.runner import Plan  # noqa: E402
from hipec.tables import phase_names, protocol  # noqa: E402
from inprocess import Harness  # noqa: E402
from controller.errors import CommandError  # noqa: E402
from controller.heater_current import HEATER_CURRENT_MARGIN  # noqa: E402
import scenario_gen  # noqa: E402
from workers import run_all  # noqa: E402

# After the switch sticks, how long a run goes on (the alarm comes in seconds; the slug's peak after).
AFTER_S = 60.0
# A fault-free run ends this long into TREATMENT.
TREATMENT_S = 300.0
GIVE_UP_S = 3600.0
SAFETY_CHANNEL = ("heater_runaway", "inflow_disagreement", "heater_switch_failed", "heater_current_lost")
WITHHELD = ("heat_balance", "temp_high", "temp_low")
# A fault-free run is over once the session has ended or waits for an operator.
ENDED = phase_names(protocol.FINAL + (protocol.PAUSED,))
# A circuit with the heater current transducer fitted, and the board told so.
SENSED_PLANT: dict[str, Any] = {"heater_current_sensor": 1}
SENSED: dict[str, Any] = {"heater_current_fitted": 1}
VARIANTS: tuple[tuple[str, dict[str, Any], dict[str, Any], str, float], ...] = (
    # name, plant overrides, site settings, phase, seconds in the phase before the switch sticks
    ("reference, 500 mL/min", {}, {}, "TREATMENT", 60.0),
    ("reference, 400 mL/min", {}, {"flow_ml_min": 400.0}, "TREATMENT", 60.0),
    ("reference, 600 mL/min", {}, {"flow_ml_min": 600.0}, "TREATMENT", 60.0),
    ("probe noise 0.05 degC", {"probe_noise_c": 0.05}, {}, "TREATMENT", 60.0),
    ("probe noise 0.2 degC", {"probe_noise_c": 0.2}, {}, "TREATMENT", 60.0),
    ("SSR heater (2 s windows)", {}, {"heater_output": 1}, "TREATMENT", 60.0),
    ("5 s into HEATING", {}, {}, "HEATING", 5.0),
    ("60 s into HEATING", {}, {}, "HEATING", 60.0),
    ("in PRIMING, bypass open", {}, {}, "PRIMING", 30.0),
    # The same switch with a current transducer on the heater's supply (heater_current.py).
    ("transducer: reference, 500 mL/min", SENSED_PLANT, SENSED, "TREATMENT", 60.0),
    ("transducer: probe noise 0.2 degC", {**SENSED_PLANT, "probe_noise_c": 0.2}, SENSED, "TREATMENT", 60.0),
    ("transducer: SSR heater (2 s windows)", SENSED_PLANT, {**SENSED, "heater_output": 1}, "TREATMENT", 60.0),
    ("transducer: 5 s into HEATING", SENSED_PLANT, SENSED, "HEATING", 5.0),
    ("transducer: in PRIMING, bypass open", SENSED_PLANT, SENSED, "PRIMING", 30.0),
)
PLAN_FIELDS = ("flow_ml_min",)


def _phase(h: Harness) -> str:
    return str(protocol.PHASE_NAMES[h.ctl.session.phase])


def detection(name: str, plant: dict[str, Any], settings: dict[str, Any], phase: str, after_s: float) -> dict[str, Any]:
    plan = Plan(**{k: v for k, v in settings.items() if k in PLAN_FIELDS})
    config = {k: v for k, v in settings.items() if k not in PLAN_FIELDS}
    h = Harness(replace(PlantParams(), **plant), plan, config)
    h.send("start")
    since_s: float | None = None
    stuck_s: float | None = None
    wrong_s: float | None = None  # the first tick the stuck switch conducted against its command
    result: dict[str, Any] = {"variant": name, "phase": phase, "detect_s": None, "alarm": None,
                              "duty_pm_at_stick": None, "exchanger_peak_c": 0.0, "patient_max_c": 0.0}
    t_s = 0.0
    while t_s < GIVE_UP_S:
        h.step()
        t_s += 0.1
        if stuck_s is None:
            if _phase(h) == phase and since_s is None:
                since_s = t_s
            if since_s is not None and t_s - since_s >= after_s:
                result["duty_pm_at_stick"] = h.board.heater_pm
                h.plant.faults.heater_stuck_on = True
                stuck_s = t_s
                if h.board.heater_pm < 1000:  # the command written now holds until the next tick
                    wrong_s = t_s
            continue
        if wrong_s is None and h.board.heater_pm < 1000:
            wrong_s = t_s
        result["exchanger_peak_c"] = max(result["exchanger_peak_c"], h.plant.t_hx)
        if not h.board.bypass:
            result["patient_max_c"] = max(result["patient_max_c"], h.plant.line_in[-1])
        if result["detect_s"] is None and h.ctl.alarms.high_active():
            result["detect_s"] = round(t_s - (stuck_s if wrong_s is None else wrong_s), 1)
            result["alarm"] = ",".join(h.ctl.alarms.active_names())
        if t_s - stuck_s >= AFTER_S:
            break
    result["exchanger_peak_c"] = round(result["exchanger_peak_c"], 2)
    result["patient_max_c"] = round(result["patient_max_c"], 2)
    return result


NOISE_LEVELS_C = (0.05, 0.1, 0.15, 0.2)


def noise_detection(seeds: int) -> list[dict[str, Any]]:
    """Detection in TREATMENT against converter noise: per noise level, the median and worst over seeds,
    without and with the heater current transducer."""
    rows = []
    for noise_c in NOISE_LEVELS_C:
        row: dict[str, Any] = {"probe_noise_c": noise_c, "seeds": seeds}
        for key, plant, settings in (("", {}, {}), ("sensed_", SENSED_PLANT, SENSED)):
            times = []
            for seed in range(1, seeds + 1):
                r = detection("noise", {**plant, "probe_noise_c": noise_c, "seed": seed}, settings, "TREATMENT",
                              60.0 + (seed - 1) * 0.37)
                times.append(r["detect_s"] if r["detect_s"] is not None else float("inf"))
            times.sort()
            row[key + "median_s"] = statistics.median(times)
            row[key + "worst_s"] = times[-1]
        rows.append(row)
    return rows


# Standard ranges of heater current transducers, A: a circuit's is the smallest above its element's
# current with a quarter to spare.
TRANSDUCER_RANGES_A = (5.0, 10.0, 20.0, 30.0, 50.0)


def _fit_transducer(seed: int, plant_overrides: dict[str, Any], config: dict[str, Any]) -> None:
    """A current transducer on a random circuit's heater, from its own draws (the circuit's stay as they
    were): the supply such that the element draws 0.92-1.18 times its nameplate current (rated power over
    230 V), the transducer's range and its noise (0.1-1 % of its range)."""
    rng = random.Random(seed * 7919 + 17)
    nameplate_a = config.get("heater_rated_w", PlantParams().heater_max_w) / 230.0
    full_scale_a = next((r for r in TRANSDUCER_RANGES_A if r >= 1.25 * nameplate_a), TRANSDUCER_RANGES_A[-1])
    plant_overrides.update(heater_current_sensor=1, heater_supply_v=rng.uniform(195.0, 250.0),
                           heater_current_full_scale_a=full_scale_a,
                           heater_current_noise_a=rng.uniform(0.001, 0.01) * full_scale_a)
    config.update(heater_current_fitted=1, heater_supply_v=230.0, heater_current_full_scale_a=full_scale_a)


def false_alarms(seed: int, sensed: bool = False) -> dict[str, Any]:
    """One fault-free session on a random circuit: the safety channel's alarms raised in it. sensed: with
    the heater current transducer fitted."""
    rng = random.Random(seed)
    plant_overrides = scenario_gen._plant(rng)
    plan = replace(scenario_gen._plan(rng, replace(PlantParams(), **plant_overrides)),
                   duration_min=TREATMENT_S / 60.0 + 1.0)
    scenario_gen._working_line(rng, plant_overrides, plan.flow_ml_min)
    params = replace(PlantParams(), **plant_overrides)
    config = scenario_gen._config(rng, params)
    if sensed:
        _fit_transducer(seed, plant_overrides, config)
        params = replace(PlantParams(), **plant_overrides)
    try:
        h = Harness(params, plan, config)
    except CommandError as exc:  # the generator's one-in-ten converter the board refuses
        return {"seed": seed, "alarms": [], "safety_channel": [], "ended_in": f"refused: {exc.message}",
                "board_s": 0, "runaway_closest_c": None, "exchanger_peak_c": 0.0, "element_lag_s": params.heater_tau_s}
    _withhold(h, WITHHELD)
    h.send("start")
    raised: list[str] = []
    seen: set[str] = set()
    worst: float | None = None
    current_worst: float | None = None  # the current watch's closest approach to its margin (share of rated)
    exchanger_peak_c = 0.0
    treatment_s = 0.0
    t_s = 0.0
    while t_s < GIVE_UP_S and treatment_s < TREATMENT_S:
        h.step()
        t_s += 0.1
        watch = h.ctl.supervisor.runaway
        exchanger_peak_c = max(exchanger_peak_c, h.plant.t_hx)
        if watch.started and watch.settle_s <= 0.0:
            closest = watch.excess_c - watch.limit_c
            worst = closest if worst is None else max(worst, closest)
        current = h.ctl.supervisor.current
        if sensed and h.ctl.inputs.heater_enabled:
            closest = current.excess_share - HEATER_CURRENT_MARGIN
            current_worst = closest if current_worst is None else max(current_worst, closest)
        for name in h.ctl.alarms.active_names():
            if name not in seen:
                seen.add(name)
                raised.append(name)
        phase = _phase(h)
        if phase == "TREATMENT":
            treatment_s += 0.1
        elif phase in ENDED:
            break
    return {"seed": seed, "alarms": raised, "safety_channel": [a for a in raised if a in SAFETY_CHANNEL],
            "ended_in": _phase(h), "board_s": round(t_s),
            "runaway_closest_c": None if worst is None else round(worst, 3),
            "current_closest": None if current_worst is None else round(current_worst, 3),
            "exchanger_peak_c": round(exchanger_peak_c, 2), "element_lag_s": params.heater_tau_s}


def _withhold(h: Harness, names: tuple[str, ...]) -> None:
    """The named alarms' conditions are never set on this harness's board."""
    alarms = h.ctl.alarms
    withheld = {protocol.ALARM_NAMES.index(n) for n in names}
    set_condition = alarms.set

    def set_unless_withheld(i: int, present: bool, value: float) -> None:
        set_condition(i, present and i not in withheld, value)

    alarms.set = set_unless_withheld


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=50, help="random circuits for the false-alarm count")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--noise-seeds", type=int, default=0, help="noise seeds per level for the noise table")
    parser.add_argument("--current", action="store_true",
                        help="fit the heater current transducer on the random circuits")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = [detection(*variant) for variant in VARIANTS]
    noise_rows = noise_detection(args.noise_seeds) if args.noise_seeds > 0 else []
    runs = run_all(list(range(args.seed, args.seed + args.random)),
                   partial(false_alarms, sensed=args.current), args.workers, 3600.0,
                   lambda seed, why: {"seed": seed, "alarms": [], "safety_channel": [f"run failed: {why}"],
                                      "ended_in": "failed", "board_s": 0, "runaway_closest_c": None,
                                      "exchanger_peak_c": 0.0, "element_lag_s": 0.0},
                   lambda _result: None)
    runs.sort(key=lambda r: int(r["seed"]))
    flagged = [r for r in runs if r["safety_channel"]]
    summary = {"random_circuits": len(runs), "with_safety_channel_alarms": len(flagged),
               "flagged": [(r["seed"], r["safety_channel"], r["element_lag_s"], r["exchanger_peak_c"]) for r in flagged],
               "runaway_closest_c": max((r["runaway_closest_c"] for r in runs if r["runaway_closest_c"] is not None),
                                        default=None),
               "current_closest": max((r["current_closest"] for r in runs if r.get("current_closest") is not None),
                                      default=None),
               "ended_in": dict(sorted(Counter(str(r["ended_in"]).split(":")[0] for r in runs).items()))}
    if args.json:
        print(json.dumps({"detection": rows, "noise": noise_rows, "false_alarms": runs, "summary": summary}))
        return 0
    print("| variant | phase | duty at sticking (per mille) | detected in (s) | by | heat exchanger peak (°C) | "
          "to the patient, max (°C) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['phase']} | {r['duty_pm_at_stick']} | {r['detect_s']} | {r['alarm']} | "
              f"{r['exchanger_peak_c']} | {r['patient_max_c'] or '-'} |")
    if noise_rows:
        print()
        print("| converter noise (°C) | detected in, median (s) | worst (s) | with the current transducer, median (s) "
              "| worst (s) | seeds |")
        print("|---|---|---|---|---|---|")
        for n in noise_rows:
            print(f"| {n['probe_noise_c']} | {n['median_s']} | {n['worst_s']} | {n['sensed_median_s']} | "
                  f"{n['sensed_worst_s']} | {n['seeds']} |")
    print()
    print(f"fault-free sessions on {len(runs)} random circuits from seed {args.seed}: "
          f"{len(flagged)} raised a safety-channel alarm (seed, alarms, true element lag s, true exchanger peak "
          f"degC): {summary['flagged']}; the runaway excess came within "
          f"{summary['runaway_closest_c']} degC of its tolerance (positive: over it)"
          + (f", the heater current's excess within {summary['current_closest']} of its margin (share of the rated "
             f"current)" if args.current else "") + "; sessions ended in "
          f"{summary['ended_in']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
