"""Control benchmark: a whole session on the emulated MCU in virtual time, judged on the plant's truth.

Usage: python bench/control.py [--plant FILE] [--json] [--drug-at-min M]
       hipec bench control [--plant FILE] [--json]
A plant file (bench/plant_file.py) gives plant parameters (docs/plant-model.md) as top-level lines or
a [plant] table, and optionally a [plan] table (target_temp_c, duration_min, volume_l, flow_ml_min,
controlled_point) and a [config] table (the board's settings). The session runs in lockstep
(bench/lockstep.py): a rerun of the same file gives the same figures to the last digit, apart from the
firmware's own cost and the wall time. Prints one JSON object (--json) or a readable summary:

  max_abs_error_c, p99_abs_error_c   true temperature at the controlled point (the inflow; for a
                                     cascade plan the cavity at its probes) vs the target, from the start of TREATMENT (target first
                                     reached with the abdomen filled) to its end; the firmware only sees
                                     noisy probes, the emulator knows the true value
  max_abs_error_measured_c           the same on what the firmware measured (its telemetry)
  time_in_band_pct                   share of that time the true value was within +-0.1 degC
  overshoot_c                        highest true value above the target while heating
  inflow_max_c                       highest true inflow while perfusing (the cascade's inflow cap)
  heatup_s, heatup_min_s             start to the true value first within 0.1 degC of the target; and
                                     the physical minimum: the heater at the firmware's cap (44 degC
                                     outlet limit, with the [config] the board is given) from an ideal
                                     element, from the same start, on the same plant (bench/physics.py)
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
import json
import sys
import time
from pathlib import Path
from typing import Any

from hipec.emulator.params import PlantFileError, PlantParams
from hipec.emulator.plant import PROBES
from hipec.runner import Plan
from hipec.tables import PHASE_NAMES as PHASES, phase_names, protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lockstep import LiveSession, SessionTrace, run_session  # noqa: E402
from physics import BAND_C, CAVITY_PROBES, FILLED_SHARE, controlled_truth, heatup_minimum_s  # noqa: E402
from plant_file import load, load_all  # noqa: E402

__all__ = ["BAND_C", "FILLED_SHARE", "PHASES", "HEATING_UP", "controlled_truth", "controlled_measured",
           "heatup_minimum_s", "load", "load_all", "percentile", "run", "main"]

# Phases in which the session heats toward or holds the target (overshoot is judged over them).
HEATING_UP = phase_names((protocol.PRIMING, protocol.HEATING, protocol.TREATMENT))


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
# The board's own figures are asked for at 10 min and at the end (heap high-water mark over a session).
DIAGNOSTICS_AT_MS = 600_000


class Disturbances:
    """What --drug-at-min, --flow-steps and --noise-burst do, each at a board time fixed from the
    treatment's first record: the same instants on every run."""

    def __init__(self, drug_at_min: float | None, flow_steps: bool, noise_burst: bool):
        self.drug_at_min = drug_at_min
        self.flow_steps = flow_steps
        self.noise_burst = noise_burst
        self.treatment_ms: int | None = None
        self.steps_done = 0

    def __call__(self, live: LiveSession) -> None:
        if self.treatment_ms is None:
            self.treatment_ms = live.first_ms("TREATMENT")
            if self.treatment_ms is None:
                return
            if self.drug_at_min is not None:
                live.schedule(self.treatment_ms + int(self.drug_at_min * 60000), "drug_added",
                              volume_l=0.25, temp_c=22.0)
            if self.noise_burst:
                for probe in PROBES:
                    live.schedule(self.treatment_ms + int(NOISE_BURST_AT_MIN * 60000), "probe_noise",
                                  probe=probe, duration_s=NOISE_BURST_S, noise_c=NOISE_BURST_C)
        if self.flow_steps and self.steps_done < len(FLOW_STEPS):
            at_min, flow = FLOW_STEPS[self.steps_done]
            if live.now_ms >= self.treatment_ms + at_min * 60000:
                live.request("set_flow", {"flow_ml_min": flow})
                self.steps_done += 1


def run(params: PlantParams, plan: Plan, drug_at_min: float | None = None,
        config: dict[str, Any] | None = None, flow_steps: bool = False,
        trace: Path | None = None, noise_burst: bool = False) -> dict[str, Any]:
    started = time.perf_counter()
    disturbances = Disturbances(drug_at_min, flow_steps, noise_burst)
    session = run_session(params, plan, config, on_step=disturbances, diagnostics_at_ms=(DIAGNOSTICS_AT_MS,))
    wall_s = time.perf_counter() - started
    records = session.records
    setpoint = plan.target_temp_c
    phase_of = {r["t_ms"] // 1000: PHASES[r["phase"]] for r in records}
    cavity_probes = int((config or {}).get("abdominal_probes", 2))
    truth = [(s.t_ms // 1000, controlled_truth(s.temps_c, plan, cavity_probes)) for s in session.truth]
    in_treatment = [(t, temp) for t, temp in truth if phase_of.get(t) == "TREATMENT"]
    errors = [abs(temp - setpoint) for _t, temp in in_treatment]
    measured = [abs(controlled_measured(r, plan, cavity_probes) - setpoint) for r in records if PHASES[r["phase"]] == "TREATMENT"]
    heated = [temp for t, temp in truth if phase_of.get(t) in HEATING_UP]
    inflow_truth = [s.temps_c["inflow"] for s in session.truth if phase_of.get(s.t_ms // 1000) in HEATING_UP[1:]]
    filled_l = params.abdomen_capacity_l * FILLED_SHARE if plan.controlled_point == "abdominal" else 0.0
    reached = next((s.t_ms // 1000 for s in session.truth
                    if s.abdomen_l >= filled_l and controlled_truth(s.temps_c, plan, cavity_probes) >= setpoint - BAND_C),
                   None)
    commanded_ml = sum(r["flow_ml_min"] / 60.0 for r in records)  # one record per second
    delivered_ml = session.delivered_ml
    end = session.diagnostics[session.end_ms]
    at_10min = session.diagnostics.get(DIAGNOSTICS_AT_MS, {})
    perf = end["perf"]
    figures: dict[str, Any] = {
        "outcome": session.outcome,
        "alarms_raised": [name for _t, name in session.alarms_raised],
        "max_abs_error_c": round(max(errors), 4) if errors else None,
        "p99_abs_error_c": round(percentile(errors, 0.99), 4) if errors else None,
        "max_abs_error_measured_c": round(max(measured), 4) if measured else None,
        "time_in_band_pct": round(100.0 * sum(e <= BAND_C for e in errors) / len(errors), 2) if errors else None,
        "overshoot_c": round(max(0.0, max(heated) - setpoint), 4) if heated else None,
        "heatup_s": reached,
        "heatup_min_s": heatup_minimum_s(params, plan, config, cavity_probes),
        "flow_error_pct": round(100.0 * (delivered_ml - commanded_ml) / commanded_ml, 3) if commanded_ml else None,
        "alloc_bytes_per_tick": perf["alloc_bytes_per_tick_max"],
        "gc_pause_us_max": perf["gc_us_max"],
        "tick_us": {"median": perf["tick_us_median"], "p99": perf["tick_us_p99"], "max": perf["tick_us_max"]},
        "tick_and_gc_us": {"median": perf["tick_gc_us_median"], "p99": perf["tick_gc_us_p99"]},
        "tick_and_gc_pct_of_period": round(100.0 * perf["tick_gc_us_median"] / 100000.0, 2),
        "heap_high_water_bytes": {"10min": at_10min.get("heap_peak_bytes"), "end": end["heap_peak_bytes"]},
        "treatment_s": session.status["treatment_s"],
        "controlled_point": plan.controlled_point,
        "inflow_max_c": round(max(inflow_truth), 3) if inflow_truth else None,
        "wall_s": round(wall_s, 1),
    }
    if trace is not None:
        write_trace(trace, session)
    if drug_at_min is not None and disturbances.treatment_ms is not None:
        at_s = disturbances.treatment_ms // 1000 + int(drug_at_min * 60)
        after = [(t, temp) for t, temp in truth if t >= at_s]
        peak = max((abs(temp - setpoint), t) for t, temp in after[:600])
        back = next((t for t, temp in after if t > peak[1] and abs(temp - setpoint) <= BAND_C), None)
        figures["drug_addition"] = {"at_s": at_s, "peak_deviation_c": round(peak[0], 3),
                                    "recovery_s": None if back is None else back - at_s}
    return figures


def write_trace(path: Path, session: SessionTrace) -> None:
    """One CSV row per second: the plant's truth beside what the firmware measured and commanded."""
    by_s = {r["t_ms"] // 1000: r for r in session.records}
    with path.open("w") as out:
        out.write("t_s,phase,true_inflow_c,measured_inflow_c,true_reservoir_c,true_abdomen_c,"
                  "heater_w,heater_pm,flow_ml_min\n")
        for s in session.truth:
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
    try:
        params, plan, config = load_all(args.plant)
    except PlantFileError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
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
