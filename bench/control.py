"""Control benchmark: a whole session on the emulated MCU in virtual time, judged on the plant's truth.

Usage: python bench/control.py [--plant FILE] [--json] [--drug-at-min M]
       hipec bench control [--plant FILE] [--json]
A plant file has a [plant] table (docs/plant-model.md) and optionally a [plan] table (target_temp_c,
duration_min, volume_l, flow_ml_min). Prints one JSON object (--json) or a readable summary:

  max_abs_error_c, p99_abs_error_c   true temperature at the controlled point (the inflow; for a
                                     cascade plan the cavity at its probes) vs the target, from the start of TREATMENT (target first
                                     reached with the abdomen filled) to its end; the firmware only sees
                                     noisy probes, the emulator knows the true value
  max_abs_error_measured_c           the same on what the firmware measured (its telemetry)
  time_in_band_pct                   share of that time the true value was within +-0.1 degC
  overshoot_c                        highest true value above the target while heating
  inflow_max_c                       highest true inflow while perfusing (the cascade's inflow cap)
  heatup_s, heatup_min_s             start to the true value first within 0.1 degC of the target; and
                                     the physical minimum: full heater power (within the 44 degC outlet
                                     limit) from the same start, on the same plant
  flow_error_pct                     volume the plant received vs the volume the firmware commanded
  alloc_bytes_per_tick, gc_pause_us_max, tick_us (median, max)   the firmware's own cost, measured by
                                     itself under MicroPython on this machine
  heap_high_water_bytes              peak heap before a collection, at 10 min and at the end
  drug_addition                      with --drug-at-min: peak deviation and recovery into +-0.1 degC after
                                     0.25 L at 22 degC goes into the reservoir
With --flow-steps the operator changes the flow 500 -> 400 mL/min 10 min into treatment and
400 -> 600 mL/min 10 min later; the error figures then include both steps. With --noise-burst every
probe reads with 0.1 degC of extra noise for 2 min, 15 min into treatment.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

from hipec.bridge import BoardLink
from hipec.emulator.mcu import EmulatedMCU
from hipec.emulator.params import PlantParams, params_from_dict
from hipec.emulator.plant import PROBES, RHO_C_J_PER_L_C, Plant
from hipec.runner import Plan, Progress, SessionRunner
from hipec.store import Store
from hipec.tables import PHASE_NAMES as PHASES, PROBE_NAMES, phase_names, protocol

BAND_C = 0.1
# A cascade has heated up once the cavity is at the target with the abdomen this full (before that its
# probes read the first fluid to reach them, not the cavity).
FILLED_SHARE = 0.99
OUTLET_LIMIT_C = 44.0
# firmware config circuit_loss_w_per_c (1.5) x (44.0 - room_temp_c 22.0): what the heater cap allows for
HX_LOSS_ALLOWANCE_W = 1.5 * (44.0 - 22.0)


def load(path: Path | None) -> tuple[PlantParams, Plan]:
    params, plan, _config = load_all(path)
    return params, plan


def load_all(path: Path | None) -> tuple[PlantParams, Plan, dict[str, Any]]:
    """[plant] parameters, [plan] fields and [config]: board settings for this site (set_config)."""
    if path is None:
        return PlantParams(), Plan(), {}
    data = tomllib.loads(path.read_text())
    unknown = set(data) - {"plant", "plan", "config"}
    if unknown:
        raise SystemExit(f"{path}: unknown table(s) {', '.join(sorted(unknown))}; use [plant], [plan], [config]")
    return params_from_dict(data.get("plant", {}), str(path)), Plan(**data.get("plan", {})), data.get("config", {})


def heatup_minimum_s(params: PlantParams, plan: Plan, cavity_probes: int = 2) -> float:
    """Full heater power, capped only so the heater outlet stays at the 44 degC limit, from an element
    with the model's shortest lag (0.5 s): a lower bound no controller can beat. Bypass open until the
    inflow reaches the target; for the cascade, then perfusing until the cavity does."""
    plant = Plant(dataclasses.replace(params, heater_tau_s=0.5))
    msps = int(plan.flow_ml_min / 60.0 / params.pump_ml_per_rev * params.pump_steps_per_rev * 1000)
    flow_l_s = plan.flow_ml_min / 60000.0
    target = plan.target_temp_c - BAND_C
    bypass = True
    filled_l = params.abdomen_capacity_l * FILLED_SHARE
    for tick in range(int(3 * 3600 / 0.1)):
        # The firmware's own limit: outlet at 44 degC, allowing for the heat exchanger's loss.
        cap_w = flow_l_s * RHO_C_J_PER_L_C * (OUTLET_LIMIT_C - plant.t_reservoir) + HX_LOSS_ALLOWANCE_W
        duty = max(0, min(1000, int(1000 * cap_w / params.heater_max_w)))
        plant.step(0.1, duty, msps, bypass)
        temps = plant.true_temps()
        if bypass and temps["inflow"] >= target:
            if plan.controlled_point == "inflow":
                return (tick + 1) * 0.1
            bypass = False
        elif not bypass and plant.v_abdomen_l >= filled_l and controlled_truth(temps, plan, cavity_probes) >= target:
            return (tick + 1) * 0.1
    return math.inf


CAVITY_PROBES = tuple(PROBE_NAMES[i] for i in protocol.ABDOMINAL)
# Phases in which the session heats toward or holds the target (overshoot is judged over them).
HEATING_UP = phase_names((protocol.PRIMING, protocol.HEATING, protocol.TREATMENT))


def controlled_truth(temps_c: dict[str, float], plan: Plan, cavity_probes: int = 2) -> float:
    """The true temperature at the plan's controlled point: the inflow, or the cavity where its fitted
    probes sit (their mean, as the firmware takes it)."""
    if plan.controlled_point == "abdominal":
        return sum(temps_c[name] for name in CAVITY_PROBES[:cavity_probes]) / cavity_probes
    return temps_c["inflow"]


def controlled_measured(record: dict[str, Any], plan: Plan, cavity_probes: int = 2) -> float:
    if plan.controlled_point == "abdominal":
        return sum(record[name + "_mc"] for name in CAVITY_PROBES[:cavity_probes]) / cavity_probes / 1000.0
    return float(record["inflow_mc"]) / 1000.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# (minutes into treatment, new flow): the disturbance of --flow-steps.
FLOW_STEPS = ((10.0, 400.0), (20.0, 600.0))
# --noise-burst: interference (an electrosurgical unit nearby) on every probe, 10x the default noise.
NOISE_BURST_AT_MIN = 15.0
NOISE_BURST_S = 120.0
NOISE_BURST_C = 0.1


def run(params: PlantParams, plan: Plan, drug_at_min: float | None = None,
        config: dict[str, Any] | None = None, flow_steps: bool = False,
        trace: Path | None = None, noise_burst: bool = False) -> dict[str, Any]:
    mcu = EmulatedMCU(params=params, speed=None, host_sync=True)
    statuses: dict[str, dict[str, Any]] = {}
    treatment_start_ms: list[int] = []
    steps_done = [0]
    mcu.start()
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as folder, BoardLink(mcu.device) as link:
            store = Store(Path(folder) / "bench.sqlite")
            if config:
                link.request("set_config", config)

            runner: SessionRunner | None = None
            # A target the controller cannot reach never ends the session: give up at twice the plan.
            give_up_ms = int((2 * plan.duration_min + 60) * 60000)

            def watch(p: Progress) -> None:
                t_ms = p.record["t_ms"]
                if t_ms > give_up_ms and runner is not None:
                    runner.stop()
                if "10min" not in statuses and t_ms >= 600_000:
                    statuses["10min"] = link.request("diagnostics")
                if flow_steps and treatment_start_ms and steps_done[0] < len(FLOW_STEPS):
                    at_min, flow = FLOW_STEPS[steps_done[0]]
                    if t_ms >= treatment_start_ms[0] + at_min * 60000:
                        link.request("set_flow", {"flow_ml_min": flow})
                        steps_done[0] += 1
                if p.phase == "TREATMENT" and not treatment_start_ms:
                    treatment_start_ms.append(t_ms)
                    if drug_at_min is not None:
                        mcu.schedule(mcu.now_ms + int(drug_at_min * 60000), "drug_added",
                                     volume_l=0.25, temp_c=22.0)
                    if noise_burst:
                        for probe in PROBES:
                            mcu.schedule(mcu.now_ms + int(NOISE_BURST_AT_MIN * 60000), "probe_noise",
                                         probe=probe, duration_s=NOISE_BURST_S, noise_c=NOISE_BURST_C)

            runner = SessionRunner(link, store, plan, watch)
            outcome = runner.run()
            statuses["end"] = link.request("diagnostics")
            records = store.telemetry(outcome.session_id)
            alarms = [d["alarm"] for _at, kind, d in store.events(outcome.session_id)
                      if kind == "alarm" and d["state"] == "raised"]
    finally:
        mcu.stop()
    wall_s = time.perf_counter() - started
    setpoint = plan.target_temp_c
    phase_of = {r["t_ms"] // 1000: PHASES[r["phase"]] for r in records}
    cavity_probes = int((config or {}).get("abdominal_probes", 2))
    truth = [(s.t_ms // 1000, controlled_truth(s.temps_c, plan, cavity_probes)) for s in mcu.truth]
    in_treatment = [(t, temp) for t, temp in truth if phase_of.get(t) == "TREATMENT"]
    errors = [abs(temp - setpoint) for _t, temp in in_treatment]
    measured = [abs(controlled_measured(r, plan, cavity_probes) - setpoint) for r in records if PHASES[r["phase"]] == "TREATMENT"]
    heated = [temp for t, temp in truth if phase_of.get(t) in HEATING_UP]
    inflow_truth = [s.temps_c["inflow"] for s in mcu.truth if phase_of.get(s.t_ms // 1000) in HEATING_UP[1:]]
    filled_l = params.abdomen_capacity_l * FILLED_SHARE if plan.controlled_point == "abdominal" else 0.0
    reached = next((s.t_ms // 1000 for s in mcu.truth
                    if s.abdomen_l >= filled_l and controlled_truth(s.temps_c, plan, cavity_probes) >= setpoint - BAND_C),
                   None)
    commanded_ml = sum(r["flow_ml_min"] / 60.0 for r in records)  # one record per second
    delivered_ml = mcu.plant.delivered_ml
    perf = statuses["end"]["perf"]
    figures: dict[str, Any] = {
        "outcome": outcome.phase,
        "alarms_raised": alarms,
        "max_abs_error_c": round(max(errors), 4) if errors else None,
        "p99_abs_error_c": round(percentile(errors, 0.99), 4) if errors else None,
        "max_abs_error_measured_c": round(max(measured), 4) if measured else None,
        "time_in_band_pct": round(100.0 * sum(e <= BAND_C for e in errors) / len(errors), 2) if errors else None,
        "overshoot_c": round(max(0.0, max(heated) - setpoint), 4) if heated else None,
        "heatup_s": reached,
        "heatup_min_s": round(heatup_minimum_s(params, plan, cavity_probes), 1),
        "flow_error_pct": round(100.0 * (delivered_ml - commanded_ml) / commanded_ml, 3) if commanded_ml else None,
        "alloc_bytes_per_tick": perf["alloc_bytes_per_tick_max"],
        "gc_pause_us_max": perf["gc_us_max"],
        "tick_us": {"median": perf["tick_us_median"], "p99": perf["tick_us_p99"], "max": perf["tick_us_max"]},
        "tick_and_gc_us": {"median": perf["tick_gc_us_median"], "p99": perf["tick_gc_us_p99"]},
        "tick_and_gc_pct_of_period": round(100.0 * perf["tick_gc_us_median"] / 100000.0, 2),
        "heap_high_water_bytes": {"10min": statuses.get("10min", {}).get("heap_peak_bytes"),
                                  "end": statuses["end"]["heap_peak_bytes"]},
        "treatment_s": outcome.treatment_s,
        "controlled_point": plan.controlled_point,
        "inflow_max_c": round(max(inflow_truth), 3) if inflow_truth else None,
        "wall_s": round(wall_s, 1),
    }
    if trace is not None:
        write_trace(trace, mcu, records)
    if drug_at_min is not None and treatment_start_ms:
        at_s = treatment_start_ms[0] // 1000 + int(drug_at_min * 60)
        after = [(t, temp) for t, temp in truth if t >= at_s]
        peak = max((abs(temp - setpoint), t) for t, temp in after[:600])
        back = next((t for t, temp in after if t > peak[1] and abs(temp - setpoint) <= BAND_C), None)
        figures["drug_addition"] = {"at_s": at_s, "peak_deviation_c": round(peak[0], 3),
                                    "recovery_s": None if back is None else back - at_s}
    return figures


def write_trace(path: Path, mcu: EmulatedMCU, records: list[dict[str, Any]]) -> None:
    """One CSV row per second: the plant's truth beside what the firmware measured and commanded."""
    by_s = {r["t_ms"] // 1000: r for r in records}
    with path.open("w") as out:
        out.write("t_s,phase,true_inflow_c,measured_inflow_c,true_reservoir_c,true_abdomen_c,"
                  "heater_w,heater_pm,flow_ml_min\n")
        for s in mcu.truth:
            r = by_s.get(s.t_ms // 1000)
            if r is None:
                continue
            out.write(f"{s.t_ms / 1000:.0f},{PHASES[r['phase']]},{s.temps_c['inflow']:.4f},"
                      f"{r['inflow_mc'] / 1000:.3f},{s.temps_c['reservoir']:.4f},"
                      f"{s.temps_c['abdominal_1']:.4f},{s.heater_w:.1f},{s.heater_pm},{s.flow_ml_min:.1f}\n")


def plot_trace(trace: Path, path: Path, setpoint_c: float, title: str) -> None:
    """The true and the measured controlled temperature through the session, the band, the phases."""
    import csv

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(trace.open()))
    minutes = [int(r["t_s"]) / 60.0 for r in rows]
    fig, (whole, zoom) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    for ax in (whole, zoom):
        ax.plot(minutes, [float(r["true_inflow_c"]) for r in rows], label="true inflow", linewidth=0.9)
        ax.plot(minutes, [float(r["measured_inflow_c"]) for r in rows], label="measured inflow",
                linewidth=0.6, alpha=0.7)
        ax.axhspan(setpoint_c - BAND_C, setpoint_c + BAND_C, color="green", alpha=0.12, label="±0.1 °C")
        ax.set_ylabel("°C")
    whole.plot(minutes, [float(r["true_reservoir_c"]) for r in rows], label="reservoir (heater inlet)",
               linewidth=0.8, color="tab:purple")
    treatment = [m for m, r in zip(minutes, rows) if r["phase"] == "TREATMENT"]
    if treatment:
        for ax in (whole, zoom):
            ax.axvspan(treatment[0], treatment[-1], color="grey", alpha=0.07)
    zoom.set_ylim(setpoint_c - 0.25, setpoint_c + 0.25)
    zoom.set_xlabel("session time (min); grey: TREATMENT")
    whole.set_title(title)
    whole.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hipec bench control", description=__doc__.splitlines()[0])
    parser.add_argument("--plant", type=Path, help="TOML with [plant] and optional [plan] tables")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--drug-at-min", type=float, help="add 0.25 L at 22 degC this many minutes into treatment")
    parser.add_argument("--flow-steps", action="store_true", help="flow 500 -> 400 -> 600 mL/min during treatment")
    parser.add_argument("--noise-burst", action="store_true",
                        help=f"{NOISE_BURST_C} degC noise on every probe for {NOISE_BURST_S:.0f} s, "
                             f"{NOISE_BURST_AT_MIN:.0f} min into treatment")
    parser.add_argument("--trace", type=Path, help="write a CSV, one row per second of the session")
    parser.add_argument("--plot", type=Path, help="draw the session's inflow (true and measured) to this PNG")
    args = parser.parse_args(argv)
    params, plan, config = load_all(args.plant)
    trace = args.trace
    if args.plot and trace is None:
        trace = args.plot.with_suffix(".csv")
    figures = run(params, plan, args.drug_at_min, config, args.flow_steps, trace, args.noise_burst)
    if args.plot and trace is not None:
        name = args.plant.stem if args.plant else "default"
        plot_trace(trace, args.plot, plan.target_temp_c, f"{name}: inflow at {plan.target_temp_c} °C")
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:<28} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
