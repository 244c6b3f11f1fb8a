"""What a clinician reads after a session: a summary of the numbers and a temperature plot."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hipec.store import Store  # noqa: E402

PHASES = ("IDLE", "PRIMING", "HEATING", "TREATMENT", "COOLDOWN", "DRAIN", "COMPLETE", "PAUSED",
          "ABORTED", "FAULT")
TREATMENT = PHASES.index("TREATMENT")
BAND_C = 0.1
NO_READING = -1000000
PHASE_COLOURS = {"PRIMING": "#fff3cd", "HEATING": "#ffe5d0", "TREATMENT": "#d1e7dd", "COOLDOWN": "#cfe2ff",
                 "DRAIN": "#e2e3e5", "PAUSED": "#f8d7da", "FAULT": "#f5c2c7", "ABORTED": "#f5c2c7"}
PROBE_STYLE = (("inflow_mc", "inflow", "#d62728"), ("outflow_mc", "outflow", "#1f77b4"),
               ("abdominal_1_mc", "abdominal 1", "#2ca02c"), ("abdominal_2_mc", "abdominal 2", "#98df8a"),
               ("reservoir_mc", "reservoir", "#9467bd"), ("abdominal_3_mc", "abdominal 3", "#17becf"),
               ("abdominal_4_mc", "abdominal 4", "#bcbd22"))


@dataclass(frozen=True)
class Summary:
    records: int
    treatment_min: float
    time_in_band_pct: float
    max_deviation_c: float
    delivered_l: float
    mean_flow_ml_min: float
    phases: list[str]
    alarms_raised: list[str]


def summarize(store: Store, session_id: int) -> Summary:
    rows = store.telemetry(session_id)
    treat = [r for r in rows if r["phase"] == TREATMENT and r["inflow_mc"] != NO_READING]
    deviations = [abs(r["inflow_mc"] - r["setpoint_mc"]) / 1000.0 for r in treat]
    in_band = sum(1 for d in deviations if d <= BAND_C)
    phases: list[str] = []
    for r in rows:
        name = PHASES[r["phase"]]
        if not phases or phases[-1] != name:
            phases.append(name)
    flows = [r["flow_ml_min"] for r in rows if r["flow_ml_min"] > 0]
    return Summary(
        records=len(rows),
        treatment_min=(rows[-1]["treatment_s"] / 60.0) if rows else 0.0,
        time_in_band_pct=100.0 * in_band / len(treat) if treat else 0.0,
        max_deviation_c=max(deviations) if deviations else 0.0,
        delivered_l=(rows[-1]["volume_ml"] / 1000.0) if rows else 0.0,
        mean_flow_ml_min=sum(flows) / len(flows) if flows else 0.0,
        phases=phases,
        alarms_raised=[f"{d['alarm']} ({d['priority']})" for _at, kind, d in store.events(session_id)
                       if kind == "alarm" and d.get("state") == "raised"],
    )


def plot_temperatures(store: Store, session_id: int, path: Path) -> Path:
    rows = store.telemetry(session_id)
    if not rows:
        raise ValueError(f"session {session_id} has no telemetry to plot")
    t0 = rows[0]["t_ms"]
    minutes = [(r["t_ms"] - t0) / 60000.0 for r in rows]
    fig, (ax, ax_flow) = plt.subplots(2, 1, figsize=(11, 7), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i]["phase"] != rows[start]["phase"]:
            name = PHASES[rows[start]["phase"]]
            colour = PHASE_COLOURS.get(name)
            if colour:
                for a in (ax, ax_flow):
                    a.axvspan(minutes[start], minutes[i - 1], color=colour, lw=0)
                ax.text((minutes[start] + minutes[i - 1]) / 2, 0.99, name, transform=ax.get_xaxis_transform(),
                        ha="center", va="top", fontsize=8)
            start = i
    for key, label, colour in PROBE_STYLE:
        xs = [m for m, r in zip(minutes, rows) if r[key] != NO_READING]
        ys = [r[key] / 1000.0 for r in rows if r[key] != NO_READING]
        ax.plot(xs, ys, label=label, color=colour, lw=1.2)
    heated = [(m, r["setpoint_mc"] / 1000.0) for m, r in zip(minutes, rows) if r["setpoint_mc"] > 0]
    if heated:
        band_x = [m for m, _ in heated]
        ax.fill_between(band_x, [sp - BAND_C for _, sp in heated], [sp + BAND_C for _, sp in heated],
                        color="black", alpha=0.25, lw=0, label="setpoint ±0.1 °C")
    ax.set_ylabel("temperature (°C)")
    ax.legend(loc="lower right", fontsize=8, ncol=3)
    ax.grid(alpha=0.3)
    ax.set_title(f"Session {session_id}: temperatures")
    ax_flow.plot(minutes, [r["flow_ml_min"] for r in rows], color="#17becf", label="flow (mL/min)")
    ax_flow.plot(minutes, [r["heater_pm"] for r in rows], color="#ff7f0e", label="heater (‰)")
    ax_flow.set_xlabel("time (min)")
    ax_flow.legend(loc="upper right", fontsize=8)
    ax_flow.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
