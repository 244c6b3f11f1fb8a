"""The treatment record of one session: a PDF a perfusionist and a surgeon sign (record_pdf.py), its
figure as PNG (record_plot.py), every telemetry record as CSV, and the summary the command line
prints. What each part says is read from the record by record_data.py.
"""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from hipec.record_data import (Summary, alarm_table, band_c, drug_added, operator_actions, phase_starts,
                               probe_stats, reading, session_clock, session_plan, summarize, treatment_s,
                               vitals_trend)
from hipec.bedside import clock
from hipec.dosing import body_surface_m2, dose_text
from hipec.record_pdf import Section, write_document
from hipec.record_plot import Mark, event_marks, plot_record
from hipec.store import SessionRow, Store

__all__ = ["Summary", "summarize", "summary_rows", "write_report", "write_csv", "session_plan", "band_c",
           "treatment_s", "event_marks", "record_sections"]


# The board's absolute limits (hello `limits`) in words, with their units.
LIMIT_WORDS = {"max_setpoint_c": ("highest target", "°C"), "cutoff_c": ("cut-out", "°C"),
               "max_flow_ml_min": ("highest flow", "mL/min"), "core_critical_c": ("patient core critical", "°C")}


def _started(session: SessionRow) -> str:
    return dt.datetime.fromtimestamp(session.started_at).strftime("%Y-%m-%d %H:%M")


def _ended(store: Store, session: SessionRow) -> str:
    """When the record closed the session (the host's clock), and how long it ran on the board's clock,
    the one every other time of the record is counted in (an emulated board may run faster than the wall)."""
    if session.ended_at is None:
        return "not ended (a bridge may still follow it)"
    ended = dt.datetime.fromtimestamp(session.ended_at)
    board_s = session_clock(store.telemetry(session.id)).now_s()
    return f"{ended:%Y-%m-%d %H:%M}, after {clock(board_s)} of session time on the board"


def _limit(key: str, value: Any) -> str:
    words, unit = LIMIT_WORDS.get(key, (key.replace("_", " "), ""))
    return f"{words} {value:g} {unit}".strip() if isinstance(value, (int, float)) else f"{words} {value}"


def _limits(limits: dict[str, Any]) -> str:
    """The board's absolute limits in words, in LIMIT_WORDS' order, any other after them."""
    known = [key for key in LIMIT_WORDS if key in limits]
    return ", ".join(_limit(key, limits[key]) for key in known + [k for k in limits if k not in LIMIT_WORDS])


def treatment_given(session: SessionRow, treatment_min: float) -> str:
    """The treatment time against the plan's, and whether the treatment was given in full."""
    planned = session.plan.get("duration_min") if session.plan else None
    if planned is None:
        return f"{treatment_min:.1f} min"
    given = f"{treatment_min:.1f} of {planned:g} min planned"
    if treatment_min + 0.05 < planned:  # the board's timer counts whole seconds
        # What is missing rounded as the given time is, so that the two add up to the plan as printed.
        missing = float(planned) - round(treatment_min, 1)
        return f"{given}: INCOMPLETE, {missing:.1f} min of treatment not given"
    return f"{given}: given in full"


def summary_rows(store: Store, session_id: int) -> list[tuple[str, str]]:
    """What was planned and what happened, as (label, value) rows (the command line prints them)."""
    session = store.session(session_id)
    s = summarize(store, session_id)
    plan = session_plan(store, session_id)
    rows = [("session", f"{session_id} of this record, started {_started(session)}, ended "
                        f"{session.outcome or 'not ended'}"),
            ("board", f"{session.board}, firmware {session.firmware}")]
    if plan is not None:
        drugs = ", ".join(f"{d['name']} {d['dose_mg']:g} mg" for d in plan["drugs"])
        rows += [("patient", f"{plan['patient_id']}, session {plan['session_number']}"),
                 ("treatment", f"{plan['mode']}, {plan['technique']}, primary {plan['primary_tumour']}"),
                 ("drugs", f"{drugs} in {plan['carrier']}"),
                 ("scores", f"PCI {plan['pci']}, CC-{plan['cc']}")]
    perfusion = session.plan
    if perfusion:
        rows.append(("plan", f"{perfusion['target_temp_c']:g} °C at the {perfusion['controlled_point']}, "
                             f"{perfusion['duration_min']:g} min, {perfusion['volume_l']:g} L, "
                             f"{perfusion['flow_ml_min']:g} mL/min"))
    rows += [("treatment time in band", treatment_given(session, s.treatment_min)),
             (f"time in ±{band_c(session):g} °C (treatment)", f"{s.time_in_band_pct:.1f} %"),
             ("largest deviation (treatment)", f"{s.max_deviation_c:.3f} °C"),
             ("delivered volume", f"{s.delivered_l:.2f} L"),
             ("mean flow", f"{s.mean_flow_ml_min:.0f} mL/min"),
             ("phases", " → ".join(s.phases) or "none recorded"),
             ("alarms raised", ", ".join(s.alarms_raised) or "none")]
    if plan is not None:
        for override in plan["overrides"]:
            rows.append(("override", f"{override['field']}: {override['reason']}"))
    operator = [a.action for a in operator_actions(store, session_id)]
    rows.append(("operator actions", ", ".join(operator) or "none"))
    return rows


def _plan_section(store: Store, session_id: int, session: SessionRow) -> Section:
    plan = session_plan(store, session_id)
    perfusion = session.plan
    rows: list[tuple[str, str]] = []
    if plan is None:
        rows.append(("plan file", "none: the standard session was run without a plan file (no patient data)"))
    else:
        body = [f"{label} {plan[key]:g} {unit}" for key, label, unit in
                (("weight_kg", "weight", "kg"), ("height_cm", "height", "cm"), ("bsa_m2", "BSA", "m²")) if key in plan]
        bsa = body_surface_m2(plan.get("bsa_m2"), plan.get("weight_kg"), plan.get("height_cm"))
        if bsa is not None and "bsa_m2" not in plan:
            body.append(f"BSA {bsa:.2f} m² (Mosteller, from height and weight)")
        rows += [("patient (pseudonymous)", f"{plan['patient_id']}, the patient's session {plan['session_number']}"
                  + (f", previous session {plan['previous_session']}" if plan.get("previous_session") else "")),
                 ("body", ", ".join(body) or "not given"),
                 ("treatment", f"{plan['mode']}, {plan['technique']} technique, primary {plan['primary_tumour']}"),
                 ("drugs", "; ".join(dose_text(d["name"], d["dose_mg"], bsa) + (f" (written {d['written']!r})"
                                                                                 if d.get("written") else "")
                                     for d in plan["drugs"])),
                 ("carrier", str(plan["carrier"])),
                 ("scores", f"PCI {plan['pci']} (regions {plan['pci_regions']}), CC-{plan['cc']}"),
                 ("contraindications", "each confirmed absent" if not any(plan["contraindications"].values())
                  else "present: " + ", ".join(k for k, v in plan["contraindications"].items() if v))]
        rows += [(f"override {o['field']}", o["reason"]) for o in plan["overrides"]] or [("overrides", "none")]
    if perfusion:
        rows.append(("perfusion plan", f"{perfusion['target_temp_c']:g} °C at the {perfusion['controlled_point']}, "
                                       f"{perfusion['duration_min']:g} min, volume {perfusion['volume_l']:g} L, "
                                       f"flow {perfusion['flow_ml_min']:g} mL/min"))
    return Section("Patient and plan", rows)


def _board_section(store: Store, session: SessionRow) -> Section:
    hello = session.hello or {}
    config = session.config or {}
    resets = [d for _at, kind, d in store.events(session.id) if kind == "board_reset"]
    rows = [("board", f"{session.board}, id {hello.get('board_id', 'not reported')}"),
            ("firmware", f"{session.firmware}, protocol {hello.get('protocol', '?')}"),
            ("band and alarm band", f"±{band_c(session):g} °C, ±{config.get('alarm_band_c', '?')} °C"),
            ("absolute limits", _limits(hello.get("limits", {})) or "not reported"),
            ("resets during the session", ", ".join(f"boot {d['boot_id']} ({d['reset_cause']})" for d in resets)
             or "none")]
    return Section("Board", rows)


def _outcome(store: Store, session: SessionRow) -> str:
    """The outcome, and for one a reset interrupted, what happened and what may follow."""
    if not session.outcome:
        return "not ended (a bridge may still follow it)"
    if session.outcome != "INTERRUPTED":
        return session.outcome
    resets = [d for _at, kind, d in store.events(session.id) if kind == "board_reset"]
    cause = f" ({resets[-1]['reset_cause']})" if resets else ""
    return (f"INTERRUPTED: the board reset{cause} and came back at rest, as it always does; `hipec run --resume` "
            f"offers to continue the treatment for the time that remains, as the same session")


def _interruptions(store: Store, session_id: int) -> str:
    """Each board reset in the session's time, the treatment given before it, and the continuation that
    followed: a treatment given in parts reads as such, not as one."""
    rows = store.telemetry(session_id)
    timeline = session_clock(rows)
    said = []
    for _at, kind, d in store.events(session_id):
        boot = int(d.get("boot_id", 0))
        if kind == "board_reset" and boot in timeline.spans:
            given_s = treatment_s([r for r in rows if r["boot"] < boot])
            said.append(f"board reset ({d.get('reset_cause', 'cause unknown')}) at "
                        f"{clock(timeline.at_s(boot, timeline.spans[boot][0]))}, after {given_s / 60.0:.1f} min "
                        f"of treatment")
        elif kind == "continuation":
            said.append(f"continued on boot {boot} for the {d.get('duration_min', 0):g} min that remained")
    return "; ".join(said) or "none"


def _course_section(store: Store, session_id: int, session: SessionRow) -> Section:
    s = summarize(store, session_id)
    starts = phase_starts(store, session_id)
    added = drug_added(store, session_id)
    rows = [("started", _started(session)),
            ("ended", _ended(store, session)),
            ("outcome", _outcome(store, session)),
            ("phases began at (session time)", ", ".join(f"{name} {at}" for name, at in starts) or "none recorded"),
            ("drug added at", ", ".join(added) or "not recorded"),
            ("interruptions", _interruptions(store, session_id)),
            ("treatment time in band", f"{treatment_given(session, s.treatment_min)} (the board's timer)"),
            (f"time in ±{band_c(session):g} °C", f"{s.time_in_band_pct:.1f} % of treatment records, as the board "
                                                 "judged them"),
            ("largest deviation", f"{s.max_deviation_c:.3f} °C of the controlled value during treatment"),
            ("delivered volume", f"{s.delivered_l:.2f} L pumped, mean flow {s.mean_flow_ml_min:.0f} mL/min (from the "
                                 "pump's steps and the tubing calibration: a worn tube delivers less by its wear)"),
            ("records", f"{s.records} telemetry records")]
    return Section("Course of the session", rows)


def record_sections(store: Store, session_id: int, figure: Path | None, marks: list[Mark]) -> list[Section]:
    """Every section of the treatment record, in the order it is read."""
    session = store.session(session_id)
    stats = probe_stats(store, session_id)
    alarms = alarm_table(store, session_id)
    actions = operator_actions(store, session_id)
    vitals = vitals_trend(store, session_id)
    return [
        _plan_section(store, session_id, session),
        _board_section(store, session),
        _course_section(store, session_id, session),
        Section("Probes and thermal dose",
                table=[["probe", "min °C", "mean °C", "max °C", "session max °C", "CEM43 (min)"]]
                + [[p.probe.replace("_", " "), f"{p.minimum_c:.2f}", f"{p.mean_c:.2f}", f"{p.maximum_c:.2f}",
                    f"{p.session_max_c:.2f}", f"{p.cem43_min:.1f}"] for p in stats],
                note="min, mean and max over the treatment phase; CEM43: cumulative equivalent minutes at 43 °C over "
                     "the whole session (Sapareto and Dewey 1984: Σ Δt · R^(43 − T), R = 0.5 at or above 43 °C, "
                     "0.25 below)." if stats else "no probe readings recorded"),
        Section("Temperatures", image=figure,
                note="" if figure else "no telemetry recorded: no figure"),
        Section("Events on the figure", table=[["#", "session time", "event"]]
                + [[str(m.number), clock(m.minute * 60.0), m.text] for m in marks],
                note="" if marks else "no alarm, no board reset and no operator action during the session"),
        Section("Alarms", table=[["raised", "priority", "alarm", "reading", "limit", "acknowledged", "cleared"]]
                + [[a.raised, a.priority, f"{a.words} [{a.name}]", a.reading, a.limit, a.acknowledged or "-",
                    a.cleared or "still active"] for a in alarms],
                note="" if alarms else "no alarm raised"),
        Section("Operator actions", table=[["time", "action", "values"]]
                + [[a.at, a.action, a.values] for a in actions],
                note="" if actions else "none recorded"),
        Section("Patient values entered", table=[["time", "core °C", "heart rate /min"]] + [list(v) for v in vitals],
                note="" if vitals else "none entered"),
    ]


def write_csv(store: Store, session_id: int, path: Path) -> Path:
    """Every telemetry record, temperatures in °C (empty where a probe gave no reading)."""
    rows = store.telemetry(session_id)
    names = store.session(session_id).tables.phases
    with Path(path).open("w", newline="") as out:
        writer = csv.writer(out)
        columns = list(rows[0]) if rows else []
        writer.writerow([c[:-3] + "_c" if c.endswith("_mc") else c for c in columns] + ["phase_name"])
        for r in rows:
            values: list[Any] = [(f"{r[c] / 1000.0:.3f}" if reading(r[c]) else "") if c.endswith("_mc") else r[c]
                                 for c in columns]
            writer.writerow(values + [names[r["phase"]]])
    return path


def write_report(store: Store, session_id: int, folder: Path) -> list[Path]:
    """The record's PDF, its figure (PNG, when there is telemetry) and the CSV; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    session = store.session(session_id)
    figure: Path | None = None
    marks: list[Mark] = []
    if store.telemetry(session_id):
        figure, marks = plot_record(store, session_id, folder / f"session-{session_id}-temperatures.png")
    plan = session_plan(store, session_id)
    who = f"patient {plan['patient_id']}, " if plan else ""
    title = f"HIPEC treatment record: {who}session {session_id} of this record ({_started(session)})"
    pdf = write_document(folder / f"session-{session_id}-record.pdf", title,
                         record_sections(store, session_id, figure, marks), f"HIPEC record, session {session_id}")
    table = write_csv(store, session_id, folder / f"session-{session_id}-telemetry.csv")
    return [pdf] + ([figure] if figure else []) + [table]
