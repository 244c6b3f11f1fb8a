"""What a clinician reads after a session: a summary of the numbers, a temperature plot with the
alarms on its timeline, a PDF of both, and the telemetry as CSV.

The figures are the board's verdicts, not re-derived here: time in band is the board's treatment
timer, in band or not is the flag the board set on each record, the deviation is that of the value the
board controlled (the inflow, or the cavity mean in a cascade). Records of a firmware that sent no
verdict are judged on the inflow against the board's band as its stored configuration gives it."""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hipec.store import SessionRow, Store  # noqa: E402
from hipec.tables import NO_READING, PROBE_NAMES  # noqa: E402

# The band a record's own board used when it sent no in-band verdict and no configuration was kept.
DEFAULT_BAND_C = 0.1
PHASE_COLOURS = {"PRIMING": "#fff3cd", "HEATING": "#ffe5d0", "TREATMENT": "#d1e7dd", "COOLDOWN": "#cfe2ff",
                 "DRAIN": "#e2e3e5", "PAUSED": "#f8d7da", "FAULT": "#f5c2c7", "ABORTED": "#f5c2c7"}
PROBE_COLOURS = {"inflow": "#d62728", "outflow": "#1f77b4", "abdominal_1": "#2ca02c", "abdominal_2": "#98df8a",
                 "reservoir": "#9467bd", "abdominal_3": "#17becf", "abdominal_4": "#bcbd22",
                 "inflow_2": "#ff7f0e", "heater_outlet": "#8c564b"}


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


def _reading(value: int | None) -> bool:
    """A temperature was measured (not NO_READING, and not a column older records do not have)."""
    return value is not None and value != NO_READING


def band_c(session: SessionRow) -> float:
    """The board's band around its target, as its configuration said at the start of the session."""
    return float((session.config or {}).get("band_c", DEFAULT_BAND_C))


def controlled_mc(r: dict[str, int]) -> int:
    """The value the board judged against its target (the inflow, for a firmware that did not say)."""
    value = r.get("controlled_mc")
    return r["inflow_mc"] if value is None else value


def in_band(session: SessionRow, r: dict[str, int]) -> bool:
    """The board's verdict on a record; re-judged on the inflow only for a firmware that gave none."""
    verdict = session.tables.flag("in_band", r["flags"])
    if verdict is not None:
        return verdict
    return r["inflow_mc"] != NO_READING and abs(r["inflow_mc"] - r["setpoint_mc"]) <= band_c(session) * 1000.0


def per_boot_sum(rows: list[dict[str, int]], column: str) -> int:
    """A counter of the board's (treatment time, delivered volume) over the whole record: each boot's
    counter starts again at 0, so the record's total is the sum of each boot's highest."""
    highest: dict[int, int] = {}
    for r in rows:
        highest[r["boot"]] = max(highest.get(r["boot"], 0), r[column])
    return sum(highest.values())


def treatment_s(rows: list[dict[str, int]]) -> int:
    """The board's treatment timer over the whole record, every boot counted."""
    return per_boot_sum(rows, "treatment_s")


def summarize(store: Store, session_id: int) -> Summary:
    session = store.session(session_id)
    names = session.tables.phases
    rows = store.telemetry(session_id)
    target_mc = float(session.plan.get("target_temp_c", 0.0)) * 1000.0
    treat = [r for r in rows if names[r["phase"]] == "TREATMENT"]
    deviations = [abs(controlled_mc(r) - (target_mc or r["setpoint_mc"])) / 1000.0 for r in treat
                  if controlled_mc(r) != NO_READING]
    judged_in_band = sum(1 for r in treat if in_band(session, r))
    phases: list[str] = []
    for r in rows:
        name = names[r["phase"]]
        if not phases or phases[-1] != name:
            phases.append(name)
    flows = [r["flow_ml_min"] for r in rows if r["flow_ml_min"] > 0]
    return Summary(
        records=len(rows),
        treatment_min=treatment_s(rows) / 60.0,
        time_in_band_pct=100.0 * judged_in_band / len(treat) if treat else 0.0,
        max_deviation_c=max(deviations) if deviations else 0.0,
        delivered_l=per_boot_sum(rows, "volume_ml") / 1000.0,
        mean_flow_ml_min=sum(flows) / len(flows) if flows else 0.0,
        phases=phases,
        alarms_raised=[f"{d['alarm']} ({d['priority']})" for _at, kind, d in store.events(session_id)
                       if kind == "alarm" and d.get("state") == "raised"],
    )


def plot_temperatures(store: Store, session_id: int, path: Path) -> Path:
    rows = store.telemetry(session_id)
    if not rows:
        raise ValueError(f"session {session_id} has no telemetry to plot")
    session = store.session(session_id)
    names = session.tables.phases
    band = band_c(session)
    t0 = rows[0]["t_ms"]
    minutes = [(r["t_ms"] - t0) / 60000.0 for r in rows]
    fig, (ax, ax_flow) = plt.subplots(2, 1, figsize=(11, 7), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i]["phase"] != rows[start]["phase"]:
            name = names[rows[start]["phase"]]
            colour = PHASE_COLOURS.get(name)
            if colour:
                for a in (ax, ax_flow):
                    a.axvspan(minutes[start], minutes[i - 1], color=colour, lw=0)
                ax.text((minutes[start] + minutes[i - 1]) / 2, 0.99, name, transform=ax.get_xaxis_transform(),
                        ha="center", va="top", fontsize=8)
            start = i
    for probe in PROBE_NAMES:
        key, label, colour = probe + "_mc", probe.replace("_", " "), PROBE_COLOURS[probe]
        xs = [m for m, r in zip(minutes, rows) if _reading(r[key])]
        ys = [r[key] / 1000.0 for r in rows if _reading(r[key])]
        if xs:
            ax.plot(xs, ys, label=label, color=colour, lw=1.2)
    heated = [(m, r["setpoint_mc"] / 1000.0) for m, r in zip(minutes, rows) if r["setpoint_mc"] > 0]
    if heated:
        band_x = [m for m, _ in heated]
        ax.fill_between(band_x, [sp - band for _, sp in heated], [sp + band for _, sp in heated],
                        color="black", alpha=0.25, lw=0, label=f"setpoint ±{band:g} °C")
    for minute, label in board_event_marks(store, session_id, t0):
        ax.axvline(minute, color="#b02a37", lw=0.8, ls="--")
        ax.text(minute, 0.02, label, transform=ax.get_xaxis_transform(), rotation=90, fontsize=7,
                color="#b02a37", va="bottom", ha="right")
    ax.set_ylabel("temperature (°C)")
    ax.legend(loc="lower right", fontsize=8, ncol=3)
    ax.grid(alpha=0.3)
    ax.set_title(f"Session {session_id}: temperatures")
    ax_flow.plot(minutes, [r["flow_ml_min"] for r in rows], color="#17becf", label="flow (mL/min)")
    ax_flow.plot(minutes, [r["heater_demand_pm"] for r in rows], color="#ff7f0e", label="heater demand (‰)")
    ax_flow.set_xlabel("time (min)")
    ax_flow.legend(loc="upper right", fontsize=8)
    ax_flow.grid(alpha=0.3)
    fig.tight_layout()
    if str(path).endswith(".pdf"):
        raise ValueError("use write_pdf for a PDF report")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def board_event_marks(store: Store, session_id: int, t0_ms: int) -> list[tuple[float, str]]:
    """Alarms raised by the board and the operator's actions during the session, placed on the
    session's time axis (minutes from the first record)."""
    marks = []
    for _at, kind, d in store.events(session_id):
        if "t_ms" not in d:
            continue
        if kind == "alarm" and d.get("state") == "raised":
            marks.append(((d["t_ms"] - t0_ms) / 60000.0, f"{d['alarm']} ({d['priority']})"))
        elif kind == "operator":
            label = d.get("note") or d.get("action", "")
            marks.append(((d["t_ms"] - t0_ms) / 60000.0, f"operator: {label}"))
    return marks


def session_plan(store: Store, session_id: int) -> dict[str, Any] | None:
    for _at, kind, d in store.events(session_id):
        if kind == "session_plan":
            return d
    return None


def summary_rows(store: Store, session_id: int) -> list[tuple[str, str]]:
    """The summary table of a report: what was planned and what happened, as (label, value) rows."""
    session = store.session(session_id)
    s = summarize(store, session_id)
    plan = session_plan(store, session_id)
    started = dt.datetime.fromtimestamp(session.started_at).strftime("%Y-%m-%d %H:%M")
    rows = [("session", f"{session_id}, started {started}, ended {session.outcome or 'not ended'}"),
            ("board", f"{session.board}, firmware {session.firmware}")]
    perfusion = session.plan
    if plan is not None:
        drugs = ", ".join(f"{d['name']} {d['dose_mg']:g} mg" for d in plan["drugs"])
        rows += [("patient", f"{plan['patient_id']}, session {plan['session_number']}"),
                 ("treatment", f"{plan['mode']}, {plan['technique']}, primary {plan['primary_tumour']}"),
                 ("drugs", f"{drugs} in {plan['carrier']}"),
                 ("scores", f"PCI {plan['pci']}, CC-{plan['cc']}")]
    rows += [("plan", f"{perfusion['target_temp_c']:g} °C at the {perfusion['controlled_point']}, "
                      f"{perfusion['duration_min']:g} min, {perfusion['volume_l']:g} L, "
                      f"{perfusion['flow_ml_min']:g} mL/min"),
             ("treatment time in band", f"{s.treatment_min:.1f} min"),
             (f"time in ±{band_c(session):g} °C (treatment)", f"{s.time_in_band_pct:.1f} %"),
             ("largest deviation (treatment)", f"{s.max_deviation_c:.3f} °C"),
             ("delivered volume", f"{s.delivered_l:.2f} L"),
             ("mean flow", f"{s.mean_flow_ml_min:.0f} mL/min"),
             ("phases", " → ".join(s.phases)),
             ("alarms raised", ", ".join(s.alarms_raised) or "none")]
    if plan is not None:
        for override in plan["overrides"]:
            rows.append(("override", f"{override['field']}: {override['reason']}"))
    operator = [d.get("action", "") for _at, kind, d in store.events(session_id) if kind == "operator"]
    rows.append(("operator actions", ", ".join(operator) or "none"))
    return rows


def write_csv(store: Store, session_id: int, path: Path) -> Path:
    """Every telemetry record, temperatures in °C (empty where a probe gave no reading)."""
    rows = store.telemetry(session_id)
    names = store.session(session_id).tables.phases
    with Path(path).open("w", newline="") as out:
        writer = csv.writer(out)
        columns = list(rows[0]) if rows else []
        writer.writerow([c[:-3] + "_c" if c.endswith("_mc") else c for c in columns] + ["phase_name"])
        for r in rows:
            values = [(f"{r[c] / 1000.0:.3f}" if _reading(r[c]) else "") if c.endswith("_mc") else r[c]
                      for c in columns]
            writer.writerow(values + [names[r["phase"]]])
    return path


def write_pdf(store: Store, session_id: int, path: Path, plot_png: Path) -> Path:
    """Page 1: the summary table; page 2: the temperature plot."""
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path) as pdf:
        fig = plt.figure(figsize=(8.27, 11.69))  # A4
        fig.text(0.08, 0.95, f"HIPEC session {session_id}: treatment report", fontsize=15, weight="bold")
        y = 0.9
        for label, value in summary_rows(store, session_id):
            fig.text(0.08, y, label, fontsize=9, weight="bold")
            fig.text(0.36, y, value, fontsize=9, wrap=True)
            y -= 0.028
        pdf.savefig(fig)
        plt.close(fig)
        fig = plt.figure(figsize=(11.69, 8.27))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.imshow(plt.imread(plot_png))
        ax.axis("off")
        pdf.savefig(fig)
        plt.close(fig)
    return path


def write_report(store: Store, session_id: int, folder: Path) -> list[Path]:
    """PNG, PDF and CSV of one session into folder; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    png = plot_temperatures(store, session_id, folder / f"session-{session_id}-temperatures.png")
    pdf = write_pdf(store, session_id, folder / f"session-{session_id}-report.pdf", png)
    table = write_csv(store, session_id, folder / f"session-{session_id}-telemetry.csv")
    return [pdf, png, table]
