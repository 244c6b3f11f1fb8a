"""The treatment record's figure: the whole session's temperatures with the phases and numbered event
markers, a zoomed treatment panel in which the ±band around the target is visible, and flow and heater
(in %) below. Nothing is written on the data: phase names sit in a strip of their own and only where
they fit, events are numbers on staggered rows (their text is in the record's event table), and the
legend sits beside the axes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from hipec.record_data import action_session_s, band_c, controlled_mc, reading, session_clock  # noqa: E402
from hipec.store import Store  # noqa: E402
from hipec.tables import PROBE_NAMES  # noqa: E402

PHASE_COLOURS = {"PRIMING": "#fff3cd", "HEATING": "#ffe5d0", "TREATMENT": "#d1e7dd", "COOLDOWN": "#cfe2ff",
                 "DRAIN": "#e2e3e5", "PAUSED": "#f8d7da", "FAULT": "#f5c2c7", "ABORTED": "#f5c2c7"}
PROBE_COLOURS = {"inflow": "#d62728", "outflow": "#1f77b4", "abdominal_1": "#2ca02c", "abdominal_2": "#98df8a",
                 "reservoir": "#9467bd", "abdominal_3": "#17becf", "abdominal_4": "#bcbd22",
                 "inflow_2": "#ff7f0e", "heater_outlet": "#8c564b"}
# Event markers closer than this fraction of the time axis go on different rows.
MARKER_SPACING = 0.025
MARKER_ROWS = 4
# The zoomed treatment panel shows at most this far from the target, so the band stays readable.
ZOOM_MAX_C = 1.0
# Characters of a phase name per fraction of the axis: a name is written only where its phase is wider.
PHASE_LABEL_FRACTION_PER_CHAR = 0.012


@dataclass(frozen=True)
class Mark:
    number: int
    minute: float
    text: str
    alarm: bool


def event_marks(store: Store, session_id: int) -> list[Mark]:
    """Alarms raised by the board, its resets and the operator's actions, numbered in time order, on the
    session's time axis in minutes."""
    rows = store.telemetry(session_id)
    timeline = session_clock(rows)
    found: list[tuple[float, str, bool]] = []
    for boot, d in store.board_events(session_id, "alarm"):
        if d.get("state") == "raised":
            found.append((timeline.at_s(boot, int(d["t_ms"])) / 60.0, f"{d['alarm']} ({d['priority']})", True))
    for _at, kind, d in store.events(session_id):
        if kind == "board_reset" and int(d.get("boot_id", 0)) in timeline.spans:
            boot = int(d["boot_id"])  # marked where the new boot's first record is, the session's clock
            found.append((timeline.at_s(boot, timeline.spans[boot][0]) / 60.0,
                          f"board reset ({d.get('reset_cause', 'cause unknown')}): boot {d['boot_id']}", True))
        if kind == "gap" and d.get("from") is not None and int(d.get("boot_id", 0)) in timeline.spans:
            boot, first = int(d["boot_id"]), int(d["from"])
            before = [r["t_ms"] for r in rows if r["boot"] == boot and r["seq"] < first]
            at_ms = before[-1] if before else timeline.spans[boot][0]
            found.append((timeline.at_s(boot, at_ms) / 60.0, f"records {first}-{d.get('to')} of boot {boot} not "
                          f"received (the board's ring had moved past them): a gap in the record", True))
        at_s = action_session_s(timeline, d) if kind == "operator" else None
        if at_s is not None:
            label = d.get("note") or d.get("action", "")
            found.append((at_s / 60.0, f"operator: {label}", False))
    found.sort(key=lambda m: m[0])
    return [Mark(i + 1, minute, text, alarm) for i, (minute, text, alarm) in enumerate(found)]


def _probe_c(key: str) -> Callable[[dict[str, int]], float | None]:
    """A record's reading of one probe in °C, None where it read nothing."""
    def value(r: dict[str, int]) -> float | None:
        return r[key] / 1000.0 if reading(r.get(key)) else None
    return value


def _unbroken(minutes: list[float], rows: list[dict[str, int]],
              value: Callable[[dict[str, int]], float | None]) -> tuple[list[float], list[float]]:
    """A series with a break (NaN) where records are missing (a gap in a boot's sequence numbers, or a
    reset) or the value was not read: a line is never drawn across what was not recorded."""
    xs: list[float] = []
    ys: list[float] = []
    previous: dict[str, int] | None = None
    for m, r in zip(minutes, rows):
        v = value(r)
        joined = previous is not None and previous["boot"] == r["boot"] and r["seq"] == previous["seq"] + 1
        if xs and (v is None or not joined) and ys[-1] == ys[-1]:
            xs.append(m)
            ys.append(float("nan"))
        if v is not None:
            xs.append(m)
            ys.append(v)
        previous = r
    return xs, ys


def _stagger(marks: list[Mark], span_min: float) -> list[int]:
    """A row for each marker so that no two on a row are closer than MARKER_SPACING of the axis."""
    last_on_row: list[float] = []
    rows = []
    for mark in marks:
        for row, last in enumerate(last_on_row):
            if mark.minute - last >= MARKER_SPACING * span_min:
                last_on_row[row] = mark.minute
                rows.append(row)
                break
        else:
            last_on_row.append(mark.minute)
            rows.append(min(len(last_on_row) - 1, MARKER_ROWS - 1))
    return rows


def _phases(ax: Axes, strip: Axes, minutes: list[float], phases: list[str], span_min: float) -> None:
    start = 0
    for i in range(1, len(phases) + 1):
        if i == len(phases) or phases[i] != phases[start]:
            name = phases[start]
            colour = PHASE_COLOURS.get(name, "#ffffff")
            left, right = minutes[start], minutes[i - 1]
            ax.axvspan(left, right, color=colour, lw=0)
            strip.axvspan(left, right, color=colour, lw=0)
            if (right - left) / max(span_min, 1e-9) >= len(name) * PHASE_LABEL_FRACTION_PER_CHAR:
                strip.text((left + right) / 2, 0.5, name, ha="center", va="center", fontsize=7)
            start = i


def plot_record(store: Store, session_id: int, path: Path) -> tuple[Path, list[Mark]]:
    """The figure as a PNG, and the event markers it numbers."""
    rows = store.telemetry(session_id)
    if not rows:
        raise ValueError(f"session {session_id} has no telemetry to plot")
    session = store.session(session_id)
    names = session.tables.phases
    band = band_c(session)
    target = float(session.plan.get("target_temp_c", 43.0))
    timeline = session_clock(rows)
    minutes = [timeline.at_s(r["boot"], r["t_ms"]) / 60.0 for r in rows]
    span = max(minutes[-1] - minutes[0], 1e-6)
    phases = [names[r["phase"]] for r in rows]
    fig = plt.figure(figsize=(11.0, 9.5))
    grid = fig.add_gridspec(5, 1, height_ratios=[0.35, 0.45, 3, 2.2, 1.3], hspace=0.5)
    strip, mark_ax, ax, zoom, ax_flow = (fig.add_subplot(grid[i]) for i in range(5))
    for a in (strip, mark_ax):
        a.set_yticks([])
        a.set_xticks([])
        a.set_xlim(minutes[0], minutes[-1])
    strip.set_title(f"Session {session_id}: temperatures, phases and events", fontsize=11, loc="left")
    _phases(ax, strip, minutes, phases, span)
    for probe in PROBE_NAMES:
        key = probe + "_mc"
        if any(reading(r.get(key)) for r in rows):
            ax.plot(*_unbroken(minutes, rows, _probe_c(key)),
                    label=probe.replace("_", " "), color=PROBE_COLOURS.get(probe, "#333333"), lw=1.0)
    marks = event_marks(store, session_id)
    mark_ax.set_ylabel("events", fontsize=7, rotation=0, ha="right", va="center")
    if not marks:
        mark_ax.text(0.5, 0.5, "no alarm, no board reset and no operator action", transform=mark_ax.transAxes,
                     ha="center", va="center", fontsize=7, color="#555555")
    for mark, row in zip(marks, _stagger(marks, span)):
        colour = "#b02a37" if mark.alarm else "#0b5394"
        ax.axvline(mark.minute, color=colour, lw=0.6, ls="--")
        mark_ax.text(mark.minute, 1 - (row + 0.5) / MARKER_ROWS, str(mark.number), ha="center", va="center",
                     fontsize=6, color="white", bbox={"boxstyle": "circle,pad=0.15", "fc": colour, "ec": "none"})
    ax.set_ylabel("temperature (°C)")
    ax.set_xlim(minutes[0], minutes[-1])
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, title="probes", title_fontsize=7)
    # The treatment records, a break (NaN) wherever another phase came between them.
    xs: list[float] = []
    ys: list[float] = []
    for m, r, p in zip(minutes, rows, phases):
        if p == "TREATMENT" and reading(controlled_mc(r)):
            ys.append(controlled_mc(r) / 1000.0)
        elif xs and ys[-1] == ys[-1]:
            ys.append(float("nan"))
        else:
            continue
        xs.append(m)
    values = [v for v in ys if v == v]
    if values:
        zoom.axhspan(target - band, target + band, color="#2ca02c", alpha=0.2, lw=0, label=f"target ±{band:g} °C")
        zoom.axhline(target, color="#2ca02c", lw=0.8)
        zoom.plot(xs, ys, color="#d62728", lw=0.9, label=f"controlled ({session.plan.get('controlled_point', 'inflow')})")
        low = max(target - ZOOM_MAX_C, min(target - 3 * band, min(values) - 0.05))
        high = min(target + ZOOM_MAX_C, max(target + 3 * band, max(values) + 0.05))
        zoom.set_ylim(low, high)
        if min(values) < low or max(values) > high:
            zoom.text(0.99, 0.02, f"readings beyond ±{ZOOM_MAX_C:g} °C are off this scale: see the panel above",
                      ha="right", va="bottom", fontsize=7, transform=zoom.transAxes)
        zoom.set_xlim(xs[0], xs[-1])
        zoom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    else:
        zoom.text(0.5, 0.5, "no treatment phase recorded", ha="center", va="center", transform=zoom.transAxes)
    zoom.set_title("treatment phase, zoomed: the controlled temperature against its band", fontsize=9, loc="left")
    zoom.set_ylabel("°C")
    zoom.grid(alpha=0.3)
    ax_flow.plot(*_unbroken(minutes, rows, lambda r: r["flow_ml_min"]), color="#17becf", lw=1.0,
                 label="flow (mL/min)")
    ax_flow.set_ylabel("mL/min")
    # Headroom above the highest flow, so a steady flow is not drawn on the panel's frame.
    ax_flow.set_ylim(0, max([r["flow_ml_min"] for r in rows] + [100]) * 1.25)
    heater = ax_flow.twinx()
    heater.plot(*_unbroken(minutes, rows, lambda r: r["heater_demand_pm"] / 10.0), color="#ff7f0e", lw=0.8,
                label="heater (%)")
    heater.set_ylabel("heater %")
    heater.set_ylim(0, 100)
    ax_flow.set_xlim(minutes[0], minutes[-1])
    ax_flow.set_xlabel("session time (min)")
    ax_flow.grid(alpha=0.3)
    lines = ax_flow.get_lines() + heater.get_lines()
    ax_flow.legend(lines, [str(line.get_label()) for line in lines], loc="upper left", bbox_to_anchor=(1.06, 1.0),
                   fontsize=7)
    fig.subplots_adjust(left=0.07, right=0.8, top=0.96, bottom=0.06)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path, marks
