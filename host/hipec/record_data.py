"""What the treatment record says of one session, read from the SQLite record: the plan, the board, the
phases and when each began, the board's verdicts (time in band, deviation of the value it controlled),
per-probe statistics and thermal dose, the alarms with their acknowledgement and clearing, the
operator's actions with their values, and the patient values entered.

The figures are the board's verdicts, not re-derived here: time in band is the board's treatment
timer, in band or not is the flag the board set on each record, the deviation is that of the value the
board controlled (the inflow, or the cavity mean in a cascade). Records of a firmware that sent no
verdict are judged on the inflow against the board's band as its stored configuration gives it.
Times are session times: board time since the session's first record, summed over boots.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hipec import alarm_words
from hipec.bedside import SessionClock, clock
from hipec.store import SessionRow, Store
from hipec.tables import NO_READING, PROBE_NAMES
from hipec.thermal_dose import cem43
from hipec.vitals import VITALS_EXPIRED

# The band a record's own board used when it sent no in-band verdict and no configuration was kept.
DEFAULT_BAND_C = 0.1
# What the 'd' key records: the moment the drug went into the circuit.
DRUG_ADDED_NOTE = "drug added"


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


@dataclass(frozen=True)
class ProbeStats:
    probe: str
    minimum_c: float
    mean_c: float
    maximum_c: float  # of the treatment phase
    session_max_c: float
    cem43_min: float  # over the whole session


@dataclass(frozen=True)
class AlarmEntry:
    raised: str
    priority: str
    name: str
    words: str
    reading: str
    limit: str
    acknowledged: str  # session time, or ""
    cleared: str  # session time, or "" (still active when the record ends)


@dataclass(frozen=True)
class ActionEntry:
    at: str
    action: str
    values: str


def reading(value: int | None) -> bool:
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


def session_plan(store: Store, session_id: int) -> dict[str, Any] | None:
    for _at, kind, d in store.events(session_id):
        if kind == "session_plan":
            return d
    return None


def session_clock(rows: list[dict[str, int]]) -> SessionClock:
    timeline = SessionClock()
    for r in rows:
        timeline.observe(r["boot"], r["t_ms"])
    return timeline


def summarize(store: Store, session_id: int) -> Summary:
    session = store.session(session_id)
    names = session.tables.phases
    rows = store.telemetry(session_id)
    target_mc = float(session.plan.get("target_temp_c", 0.0)) * 1000.0
    treat = [r for r in rows if names[r["phase"]] == "TREATMENT"]
    deviations = [abs(controlled_mc(r) - (target_mc or r["setpoint_mc"])) / 1000.0 for r in treat
                  if controlled_mc(r) != NO_READING]
    judged_in_band = sum(1 for r in treat if in_band(session, r))
    flows = [r["flow_ml_min"] for r in rows if r["flow_ml_min"] > 0]
    return Summary(
        records=len(rows),
        treatment_min=treatment_s(rows) / 60.0,
        time_in_band_pct=100.0 * judged_in_band / len(treat) if treat else 0.0,
        max_deviation_c=max(deviations) if deviations else 0.0,
        delivered_l=per_boot_sum(rows, "volume_ml") / 1000.0,
        mean_flow_ml_min=sum(flows) / len(flows) if flows else 0.0,
        phases=[name for name, _at in phase_starts(store, session_id)],
        alarms_raised=[f"{d['alarm']} ({d['priority']})" for _at, kind, d in store.events(session_id)
                       if kind == "alarm" and d.get("state") == "raised"],
    )


def phase_starts(store: Store, session_id: int) -> list[tuple[str, str]]:
    """(phase, session time it began) for every phase the records show, in order."""
    session = store.session(session_id)
    names = session.tables.phases
    rows = store.telemetry(session_id)
    timeline = session_clock(rows)
    starts: list[tuple[str, str]] = []
    for r in rows:
        name = names[r["phase"]]
        if not starts or starts[-1][0] != name:
            starts.append((name, clock(timeline.at_s(r["boot"], r["t_ms"]))))
    return starts


def probe_stats(store: Store, session_id: int) -> list[ProbeStats]:
    """Per probe: minimum, mean and maximum during treatment, the session's maximum, and its CEM43."""
    session = store.session(session_id)
    names = session.tables.phases
    rows = store.telemetry(session_id)
    timeline = session_clock(rows)
    found = []
    for probe in PROBE_NAMES:
        key = probe + "_mc"
        read = [r for r in rows if reading(r.get(key))]
        if not read:
            continue
        treat = [r[key] / 1000.0 for r in read if names[r["phase"]] == "TREATMENT"] or [r[key] / 1000.0 for r in read]
        dose = cem43((timeline.at_s(r["boot"], r["t_ms"]), r[key] / 1000.0) for r in read)
        found.append(ProbeStats(probe, min(treat), sum(treat) / len(treat), max(treat),
                                max(r[key] / 1000.0 for r in read), dose))
    return found


def _limits(session: SessionRow) -> alarm_words.Limits:
    plan = session.plan
    return alarm_words.Limits(dict(session.config or {}), dict((session.hello or {}).get("limits", {})),
                              float(plan.get("target_temp_c", 0.0)), float(plan.get("target_temp_c", 0.0)),
                              float(plan.get("duration_min", 0.0)))


def alarm_table(store: Store, session_id: int) -> list[AlarmEntry]:
    """Every alarm the board raised: when, its priority and words, the reading and the limit, and when
    it was acknowledged and cleared."""
    session = store.session(session_id)
    timeline = session_clock(store.telemetry(session_id))
    limits = _limits(session)
    entries: list[dict[str, Any]] = []
    open_alarms: dict[tuple[int, str], dict[str, Any]] = {}
    for boot, d in store.board_events(session_id, "alarm"):
        name, state = str(d.get("alarm")), d.get("state")
        at = clock(timeline.at_s(boot, int(d.get("t_ms", 0))))
        if state == "raised":
            entry = {"raised": at, "priority": str(d.get("priority", "")), "name": name, "value": d.get("value"),
                     "acknowledged": "", "cleared": ""}
            entries.append(entry)
            open_alarms[(boot, name)] = entry
        elif (boot, name) in open_alarms:
            field = "acknowledged" if state == "acknowledged" else "cleared"
            open_alarms[(boot, name)][field] = at
            if state == "cleared":
                del open_alarms[(boot, name)]
    return [AlarmEntry(e["raised"], e["priority"], e["name"], alarm_words.words(e["name"]),
                       alarm_words.reading(e["name"], e["value"]), limits.text(e["name"]), e["acknowledged"],
                       e["cleared"]) for e in entries]


# How the values an operator action carries read in the record.
VALUE_WORDS = {"core_temp_c": "core {} °C", "heart_rate_bpm": "heart rate {} /min", "confirmed": "confirmed: {}",
               "refused": "refused by the board: {}", "source": "from the {}", "alarm": "alarm {}",
               "expired": "expired entry cleared", "of": "{} not confirmed", "note": "{}",
               "after_end": "after the session had ended", "continuation": "continuing the interrupted treatment",
               "alarms": "alarms {}"}


def _values(detail: dict[str, Any]) -> str:
    skip = {"action", "t_ms", "boot_id", "session_s", "asked_session_s"}
    parts = []
    for key, value in detail.items():
        if key in skip:
            continue
        if value is None and key in ("core_temp_c", "heart_rate_bpm"):
            parts.append(f"{key.split('_')[0]} cleared")
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        parts.append(VALUE_WORDS.get(key, key.replace("_", " ") + " {}").format(value))
    return "; ".join(parts)


def action_session_s(timeline: SessionClock, detail: dict[str, Any]) -> float | None:
    """The session time of an operator action: as the bridge counted it, else from the board's time on
    the boot it was given on (the latest, for an action recorded without one); None when it has no time."""
    if "session_s" in detail:
        return float(detail["session_s"])
    if "t_ms" in detail:
        return timeline.at_s(int(detail.get("boot_id", max(timeline.spans, default=1))), int(detail["t_ms"]))
    return None


def operator_actions(store: Store, session_id: int) -> list[ActionEntry]:
    """What people did, in order, with its values (the note's text, the value entered, the word typed
    to confirm, a refusal), at the session time it was done."""
    timeline = session_clock(store.telemetry(session_id))
    found = []
    for _at, kind, d in store.events(session_id):
        if kind != "operator":
            continue
        when = action_session_s(timeline, d)
        if when is None and d.get("action") == "start" and not d.get("continuation"):
            when = 0.0  # the start is the session clock's origin
        found.append(ActionEntry("" if when is None else clock(when), str(d.get("action", "")), _values(d)))
    return found


def drug_added(store: Store, session_id: int) -> list[str]:
    """The session times the drug was recorded as added."""
    return [a.at for a in operator_actions(store, session_id) if a.action == "event" and DRUG_ADDED_NOTE in a.values]


def vitals_trend(store: Store, session_id: int) -> list[tuple[str, str, str]]:
    """(session time, core temperature, heart rate) of every entry accepted by the board, and of every one
    the bridge cleared when it expired."""
    found = []
    for _at, kind, d in store.events(session_id):
        entered = kind == "operator" and d.get("action") == "vitals"
        if (entered or kind == VITALS_EXPIRED) and "refused" not in d:
            gone = "cleared" if entered else "expired"
            core, rate = d.get("core_temp_c", "-"), d.get("heart_rate_bpm", "-")
            at = clock(float(d["session_s"])) if "session_s" in d else ""
            found.append((at, gone if core is None else f"{core}", gone if rate is None else f"{rate}"))
    return found
