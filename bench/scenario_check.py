"""The campaign's invariants, checked after each scenario against what the emulator knows to be true
(its plant, its output log, its resets) and what the record holds. Each returns the violations it
found, one line each; an empty list is a pass.
"""
from __future__ import annotations

import json

import sqlite3
from pathlib import Path
from typing import Any

from hipec.cli import EXIT_LINK, EXIT_OK, EXIT_SESSION_NOT_COMPLETE, EXIT_USAGE
from hipec.emulator.mcu import EmulatedMCU
from hipec.runner import INTERRUPTED, NOT_STARTED
from hipec.store import DISCONNECTED, Store
from hipec.tables import protocol

from scenario_gen import Scenario
from scenario_run import Observed

ABSOLUTE_LIMIT_C = 45.0
TICK_MS: int = protocol.TICK_MS
# Alarms whose reaction turns the heater off: read from the board's own rule table.
HEATER_OFF_ALARMS = frozenset(name for name, reaction in zip(protocol.ALARM_NAMES, protocol.ALARM_REACTIONS)
                              if reaction & protocol.HEATER_OFF)
# A record's alarm bit and the alarm event for it come from ticks a record period apart at most.
EVENT_SLACK_MS = 1500


class Facts:
    """What one scenario left behind, read once for all the checks."""

    def __init__(self, scenario: Scenario, mcu: EmulatedMCU, seen: Observed, db: Path):
        self.scenario, self.mcu, self.seen = scenario, mcu, seen
        store = Store(db)
        try:
            self.sessions = store.sessions()
            sid = seen.session_id
            self.rows = store.telemetry(sid) if sid else []
            self.events = store.events(sid) if sid else []
            self.board_seqs = _board_events_in_stored_order(db, sid)
            # The board's events with the boot each belongs to: their t_ms is that boot's uptime.
            self.board_events = [(int(boot), kind, json.loads(detail)) for boot, kind, detail in store.db.execute(
                "SELECT boot, kind, detail_json FROM events WHERE session_id = ? AND boot IS NOT NULL ORDER BY id",
                (sid,))] if sid else []
        finally:
            store.close()
        self.resets = [(at, cause) for at, cause in mcu.resets[1:] if at >= seen.t0_ms]
        # Where each boot's uptime starts in the emulator's virtual time: the emulated board numbers
        # its boots 1, 2, ... from a fresh flash, in the order the emulator started them.
        self.boot_start_ms = {n + 1: at for n, (at, _cause) in enumerate(mcu.resets)}
        # Windows in which a heater switch was stuck on (the relay alone then decides).
        self.stuck_on: list[tuple[int, int]] = []
        for step in scenario.steps:
            if step.what == "heater_stuck_on":
                start = seen.t0_ms + int(step.at_s * 1000)
                end = start + int(step.duration_s * 1000) if step.duration_s is not None else 2**62
                self.stuck_on.append((start, end))

    def virtual_ms(self, boot: int, uptime_ms: int) -> int:
        """A board time (a record's or an event's t_ms, its boot's uptime) on the emulator's clock."""
        return int(self.boot_start_ms.get(boot, 0)) + uptime_ms

    def driving(self, entry: tuple[int, int, bool, int, bool]) -> bool:
        """Whether the heater is given power from this output-log entry on."""
        at, pm, relay = entry[0], entry[1], entry[2]
        return relay and (pm > 0 or any(s <= at < e for s, e in self.stuck_on))


def _board_events_in_stored_order(db: Path, session_id: int) -> list[tuple[int, int]]:
    with sqlite3.connect(db) as conn:
        cur = conn.execute("SELECT boot, seq FROM events WHERE session_id = ? AND seq IS NOT NULL ORDER BY id",
                           (session_id,))
        return [(int(b), int(q)) for b, q in cur]


def patient_fluid(f: Facts) -> list[str]:
    """The fluid reaching the patient (the cavity, and the inflow while the bypass is closed) < 45 degC."""
    hottest, at = 0.0, 0
    for s in f.mcu.truth:
        temps = [v for k, v in s.temps_c.items() if k.startswith("abdominal")]
        if not s.bypass_open:
            temps.append(s.temps_c["inflow"])
        if max(temps) > hottest:
            hottest, at = max(temps), s.t_ms
    if hottest >= ABSOLUTE_LIMIT_C:
        return [f"fluid reaching the patient at {hottest:.2f} degC (t = {at / 1000:.1f} s)"]
    return []


def heater_holds(f: Facts) -> list[str]:
    """After a heater-off alarm, a FAULT or a reset, the heater stays off from the next control tick
    until the operator resumes (or starts) a session: it never starts heating again by itself."""
    holds: list[tuple[int, str]] = [(at, f"reset ({cause})") for at, cause in f.resets]
    for boot, kind, d in f.board_events:
        if kind == "alarm" and d.get("state") == "raised" and d.get("alarm") in HEATER_OFF_ALARMS:
            holds.append((f.virtual_ms(boot, int(d["t_ms"])), f"alarm {d['alarm']}"))
        elif kind == "state" and d.get("phase") == "FAULT":
            holds.append((f.virtual_ms(boot, int(d["t_ms"])), "FAULT"))
    alarm_bits = sum(1 << i for i, name in enumerate(protocol.ALARM_NAMES) if name in HEATER_OFF_ALARMS)
    before = 0
    for row in f.rows:  # the alarm as the records show it rising, in case its event is missing
        rising = row["alarms"] & alarm_bits & ~before
        if rising:
            holds.append((f.virtual_ms(int(row["boot"]), int(row["t_ms"])), "heater-off alarm in a record"))
        before = row["alarms"]
    resumes = sorted(d.t_ms for d in f.seen.done if d.accepted and d.what in ("resume", "start"))
    problems = []
    for held_ms, why in sorted(holds):
        until = next((r for r in resumes if r > held_ms), 2**62)
        for entry in f.mcu.output_log:
            if held_ms + TICK_MS <= entry[0] < until and f.driving(entry):
                problems.append(f"heater driven at t = {entry[0] / 1000:.1f} s after {why} at {held_ms / 1000:.1f} s "
                                f"with no resume from the operator")
                break
        # The state at the moment of the hold counts too: an output already on must be off one tick later.
        so_far = [e for e in f.mcu.output_log if e[0] <= held_ms + TICK_MS]
        if so_far and f.driving(so_far[-1]) and held_ms + TICK_MS < until:
            problems.append(f"heater still driven one tick after {why} at {held_ms / 1000:.1f} s")
        if problems:
            break
    return problems


def _gaps(f: Facts) -> list[tuple[Any, ...]]:
    return [(d.get("boot_id"), d.get("from"), d.get("to"), d.get("events_from")) for _a, k, d in f.events if k == "gap"]


def record_integrity(f: Facts) -> list[str]:
    """Every (boot, seq) record and board event once, in order, in the one session, of the one board."""
    problems = []
    if len(f.sessions) != 1:
        problems.append(f"{len(f.sessions)} sessions in the record, expected 1")
    if f.sessions and (f.sessions[0].hello or {}).get("board_id") != f.seen.board_id:
        problems.append("the session's board id is not the board's")
    recorded_gaps = {(g[0], g[1], g[2]) for g in _gaps(f) if g[1] is not None}
    by_boot: dict[int, list[int]] = {}
    for row in f.rows:
        by_boot.setdefault(int(row["boot"]), []).append(int(row["seq"]))
    first_boot = min(by_boot) if by_boot else None
    for boot, seqs in by_boot.items():
        if boot != first_boot and seqs[0] != 1 and (boot, 1, seqs[0] - 1) not in recorded_gaps:
            problems.append(f"boot {boot}: records 1..{seqs[0] - 1} missing and no gap recorded")
        for a, b in zip(seqs, seqs[1:]):
            if b != a + 1 and (boot, a + 1, b - 1) not in recorded_gaps:
                problems.append(f"boot {boot}: records {a + 1}..{b - 1} missing and no gap recorded")
                break
    event_gaps = {(g[3], g[2]) for g in _gaps(f) if g[3] is not None}
    ev_by_boot: dict[int, list[int]] = {}
    for boot, seq in f.board_seqs:
        ev_by_boot.setdefault(boot, []).append(seq)
    for boot, seqs in ev_by_boot.items():
        if sorted(set(seqs)) != seqs:
            problems.append(f"boot {boot}: board events stored out of order or twice: {seqs}")
            continue
        for a, b in zip(seqs, seqs[1:]):
            if b != a + 1 and (a + 1, b - 1) not in event_gaps:
                problems.append(f"boot {boot}: board events {a + 1}..{b - 1} missing and no gap recorded")
                break
    if any(k == "record_conflict" for _a, k, _d in f.events):
        problems.append("a record arrived twice with different content")
    problems += _alarms_recorded(f)
    problems += _resets_recorded(f)
    return problems


def _alarms_recorded(f: Facts) -> list[str]:
    """Each alarm the records show rising has its raised event in the record, on the same boot, between the
    record before (the alarm may have risen anywhere in a gap the ring lost) and this one."""
    raised: dict[tuple[int, str], list[int]] = {}
    for boot, kind, d in f.board_events:
        if kind == "alarm" and d.get("state") == "raised":
            raised.setdefault((boot, d["alarm"]), []).append(int(d["t_ms"]))
    before, prev_boot, prev_t = 0, None, 0
    for row in f.rows:
        boot, t, bits = int(row["boot"]), int(row["t_ms"]), int(row["alarms"])
        if boot != prev_boot:  # a new boot starts with no alarm raised
            before, prev_t = 0, 0
        for i, name in enumerate(protocol.ALARM_NAMES):
            if bits & (1 << i) and not before & (1 << i):
                if not any(prev_t - EVENT_SLACK_MS <= ts <= t + EVENT_SLACK_MS for ts in raised.get((boot, name), ())) \
                        and not _connect_alarm(f, name):
                    return [f"alarm {name} in the record at t = {t / 1000:.1f} s (boot {boot}) has no raised event "
                            f"since the record before at {prev_t / 1000:.1f} s"]
        before, prev_boot, prev_t = bits, boot, t
    return []


def _connect_alarm(f: Facts, name: str) -> bool:
    for _a, kind, d in f.events:
        if kind == "alarms_active_at_connect" and any(a[0] == name for a in d["alarms"]):
            return True
    return False


def _resets_recorded(f: Facts) -> list[str]:
    """A reset while the bridge followed the session is recorded with its cause."""
    recorded = [d.get("reset_cause") for _a, k, d in f.events if k == "board_reset"]
    ended_ms = max((f.virtual_ms(int(r["boot"]), int(r["t_ms"])) for r in f.rows), default=0)
    expected = [cause for at, cause in f.resets if at < ended_ms]
    if recorded[:len(expected)] != expected:
        return [f"resets {expected} but the record says {recorded}"]
    return []


def exit_status(f: Facts) -> list[str]:
    """The bridge's exit status means what the README says, and the record agrees."""
    seen = f.seen
    if seen.crash:
        return [f"the bridge crashed: {seen.crash}"]
    if not f.sessions:  # refused before a session began: an error status, and said why
        if seen.exit_status in (None, EXIT_OK) or not seen.exit_error:
            return [f"no session was recorded, yet exit status {seen.exit_status} ({seen.exit_error!r})"]
        return []
    outcome = f.sessions[0].outcome
    if f.sessions[0].ended_at is None:
        return [f"the session was left open (exit {seen.exit_status})"]
    # A session the board refused to start (an alarm that would hold it at once) is the README's "a board
    # that cannot start": a usage error, said in one line.
    expected = {"COMPLETE": EXIT_OK, DISCONNECTED: EXIT_LINK, NOT_STARTED: EXIT_USAGE}.get(
        outcome or "", EXIT_SESSION_NOT_COMPLETE)
    if outcome == NOT_STARTED and not seen.exit_error:
        return [f"the session was not started, exit {seen.exit_status}, and nothing said why"]
    if seen.exit_status != expected:
        return [f"exit status {seen.exit_status} ({seen.exit_error or 'no error'}) but the session ended {outcome}"]
    problems = []
    if outcome == "COMPLETE":
        plan_s = int(f.scenario.plan.duration_min * 60)
        given = max((int(r["treatment_s"]) for r in f.rows), default=0)
        if given < plan_s:
            problems.append(f"COMPLETE after {given} of {plan_s} s of treatment")
    if outcome == DISCONNECTED and _cable_back(f):
        problems.append("the link was reported lost for good, but the cable was back")
    if outcome == INTERRUPTED and not f.resets:
        problems.append("INTERRUPTED, but the board never reset")
    return problems


def _cable_back(f: Facts) -> bool:
    pulls = [s for s in f.scenario.steps if s.what in ("link_unplug", "link_replug")]
    return not pulls or pulls[-1].what == "link_replug"


def board_and_bystanders(f: Facts) -> list[str]:
    """The board answers status afterwards; a second bridge on the port was refused in one line."""
    problems = []
    if f.mcu.failed:
        problems.append(f"the emulator failed: {f.mcu.failed}")
    if f.seen.stalled:
        problems.append(f"the board froze: {f.seen.stalled}")
    if f.seen.final_status is None:
        problems.append(f"the board did not answer status afterwards ({f.seen.status_error})")
    for status, err, other_db in f.seen.second_bridges:
        if status == EXIT_OK or "Traceback" in err or len(err.strip().splitlines()) != 1:
            problems.append(f"second bridge: exit {status}, said {err.strip()[-300:]!r}")
        elif Path(other_db).exists():
            with sqlite3.connect(other_db) as conn:
                try:
                    stored = conn.execute("SELECT COUNT(*) FROM telemetry").fetchone()[0]
                except sqlite3.Error:
                    stored = 0
            if stored:
                problems.append(f"second bridge recorded {stored} records")
    return problems


CHECKS = (patient_fluid, heater_holds, record_integrity, exit_status, board_and_bystanders)


def check(scenario: Scenario, mcu: EmulatedMCU, seen: Observed, db: Path) -> list[str]:
    facts = Facts(scenario, mcu, seen, db)
    problems: list[str] = []
    for invariant in CHECKS:
        problems += [f"{invariant.__name__}: {p}" for p in invariant(facts)]
    return problems
