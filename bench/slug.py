"""The slug after a stop: fluid that stood in the heat exchanger while the pump was stopped and the
element's stored heat went on warming it, and what of it reaches the patient once the pump runs again.

The firmware in-process (bench/inprocess.py) on the reference plant: a session heats up, the pump stalls
(an occlusion) at the given time into HEATING or TREATMENT, pressure_high stops pump and heater and holds
the session in FAULT, the occlusion clears ten seconds later, the operator acknowledges every alarm once
its cause is gone and resumes (once a second while the session is held in FAULT); the run goes on for
three minutes after the first resume. The table gives the exchanger's peak, the alarms that held the
session again after it, how long the bypass stayed open for the flush, and the hottest fluid that reached
the patient after the resume (the inflow line's end while the bypass was closed).

Usage: python bench/slug.py [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hipec.emulator.params import PlantParams  # noqa: E402
from hipec.runner import Plan  # noqa: E402
from hipec.tables import protocol  # noqa: E402
from inprocess import Harness  # noqa: E402

# Seconds the occlusion lasts, and the run after the resume.
STALL_S = 10.0
AFTER_RESUME_S = 180.0
GIVE_UP_S = 3600.0
VARIANTS: tuple[tuple[str, str, float, dict[str, Any], dict[str, Any]], ...] = (
    # name, phase, seconds into it when the pump stalls, plant overrides, site settings
    ("stall 30 s into HEATING", "HEATING", 30.0, {}, {}),
    ("stall 60 s into TREATMENT", "TREATMENT", 60.0, {}, {}),
    ("stall in HEATING, 3 kW heater", "HEATING", 30.0, {"heater_max_w": 3000.0}, {"heater_rated_w": 3000.0}),
    ("stall in HEATING, 30 s element lag", "HEATING", 30.0, {"heater_tau_s": 30.0}, {"heater_tau_s": 30.0}),
)


def _phase(h: Harness) -> str:
    return str(protocol.PHASE_NAMES[h.ctl.session.phase])


def run(name: str, phase: str, after_s: float, plant: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    h = Harness(replace(PlantParams(), **plant), Plan(), settings)
    h.send("start")
    t_s = 0.0
    since_s: float | None = None
    stalled_s: float | None = None
    resumed_s: float | None = None
    result: dict[str, Any] = {"variant": name, "phase": phase, "heater_pm_at_stall": None, "exchanger_peak_c": 0.0,
                              "fault": None, "faults_after_resume": [], "flush_s": None,
                              "patient_max_after_resume_c": None, "ended_in": None}
    faulted_again = False
    while t_s < GIVE_UP_S:
        h.step()
        t_s += 0.1
        if stalled_s is None:
            if since_s is None and _phase(h) == phase:
                since_s = t_s
            if since_s is not None and t_s - since_s >= after_s:
                result["heater_pm_at_stall"] = h.board.heater_pm
                h.plant.faults.pump_stall = True
                stalled_s = t_s
            continue
        result["exchanger_peak_c"] = max(result["exchanger_peak_c"], round(h.plant.t_hx, 2))
        if result["fault"] is None and _phase(h) == "FAULT":
            result["fault"] = h.ctl.fault_name()
        if t_s - stalled_s >= STALL_S:
            h.plant.faults.pump_stall = False
            if _phase(h) == "FAULT" and round(t_s * 10) % 10 == 0:  # once a second, as an operator would
                h.send("ack_alarm", {"alarm": "all"})
                h.send("resume")
        if resumed_s is None:
            if result["fault"] is not None and _phase(h) != "FAULT":
                resumed_s = t_s
            continue
        if _phase(h) == "FAULT" and not faulted_again:
            faulted_again = True
            result["faults_after_resume"].append(h.ctl.fault_name())
        elif _phase(h) != "FAULT":
            faulted_again = False
        if not h.board.bypass:
            if result["flush_s"] is None:
                result["flush_s"] = round(t_s - resumed_s, 1)
            fluid = round(h.plant.line_in[-1], 2)
            best = result["patient_max_after_resume_c"]
            result["patient_max_after_resume_c"] = fluid if best is None else max(best, fluid)
        if t_s - resumed_s >= AFTER_RESUME_S:
            break
    result["ended_in"] = _phase(h)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = [run(*variant) for variant in VARIANTS]
    if args.json:
        print(json.dumps(rows))
        return 0
    print("| variant | heater at the stall (per mille) | held by | exchanger peak (°C) | held again after the resume by | "
          "bypass held open after the resume (s) | to the patient after the resume, max (°C) | phase at the end |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        again = ", ".join(r["faults_after_resume"]) or "-"
        print(f"| {r['variant']} | {r['heater_pm_at_stall']} | {r['fault']} | {r['exchanger_peak_c']} | {again} | "
              f"{r['flush_s']} | {r['patient_max_after_resume_c']} | {r['ended_in']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
