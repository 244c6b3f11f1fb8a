"""Continuing a treatment a board reset interrupted, as a documented continuation of the same session.

A board that resets (power loss, watchdog) comes back at rest and never resumes heating by itself; the
record closes the session INTERRUPTED. The operator may then continue it: the same board (checked by
its identity), the same plan with only the treatment time that remains, pushed again and confirmed by
the board before it starts, and every record of the new boot stored under the same session, after a
`continuation` event that says how much treatment had been given and how much remains.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hipec.runner import INTERRUPTED, Outcome, Plan, SessionError, SessionRunner
from hipec.tables import phase_names, protocol
from hipec.operate import safe_mode_text
from hipec.report import treatment_s
from hipec.starting import start_when_ready

# The board's shortest plan (firmware plan.py duration_min range): less remaining ends the treatment.
MIN_CONTINUATION_MIN = 1.0


def remaining_min(runner: SessionRunner, session_id: int) -> tuple[int, float]:
    """(treatment seconds given over every boot so far, minutes of the plan that remain)."""
    given_s = treatment_s(runner.store.telemetry(session_id))
    return given_s, runner.plan.duration_min - given_s / 60.0


def plan_in_force(runner_plan: Plan, events: list[tuple[float, str, dict[str, Any]]]) -> Plan:
    """The plan the board runs for a session: the plan it started with, or, once continued, the rest of it
    the last continuation pushed (its duration is what remained)."""
    pushed = [detail["plan"] for _at, kind, detail in events if kind == "continuation" and detail.get("plan")]
    if not pushed:
        return runner_plan
    known = runner_plan.fields().keys()
    return replace(runner_plan, **{k: v for k, v in pushed[-1].items() if k in known})


def continue_session(runner: SessionRunner, session_id: int,
                     acknowledge: Callable[[list[str]], bool] | None = None) -> Outcome:
    """Push the rest of the plan to the board the session ran on, start it and follow it."""
    start_continuation(runner, session_id, acknowledge)
    return runner.follow_started(session_id)


def start_continuation(runner: SessionRunner, session_id: int,
                       acknowledge: Callable[[list[str]], bool] | None = None, confirmed: str = "") -> None:
    """Push the rest of the plan to the board the session ran on and start it once the board is ready: the
    fluid the reset left standing in the heat exchanger warms from the element's stored heat, past the
    cut-off after a power loss in treatment, and has to cool first; acknowledge is asked about the alarms
    that raised whose cause has gone since (None: none are acknowledged, and the start is refused);
    confirmed says how the operator confirmed the continuation, for the record."""
    store = runner.store
    row = store.session(session_id)
    if row.outcome != INTERRUPTED:
        raise SessionError(f"session {session_id} ended {row.outcome}, not interrupted by a reset; "
                           f"nothing to continue")
    runner.session_id = session_id
    runner.board_id = str((row.hello or {}).get("board_id", ""))
    hello = runner.link.request("hello")
    runner._same_board(session_id, hello)
    if hello.get("safe_mode"):
        raise SessionError(safe_mode_text(hello["safe_mode"]) + "; not continued")
    status = runner.link.request("status")
    if status["phase"] not in phase_names(protocol.REQUESTS["start"]):
        raise SessionError(f"the board is in {status['phase']}, not at rest: `hipec reset` first")
    given_s, left_min = remaining_min(runner, session_id)
    if left_min < MIN_CONTINUATION_MIN:
        raise SessionError(f"session {session_id} has {given_s / 60.0:.1f} of {runner.plan.duration_min:g} min "
                           f"of treatment already; less than {MIN_CONTINUATION_MIN:g} min remains: not continued")
    runner.plan = replace(runner.plan, duration_min=round(left_min, 1))
    accepted = runner.push_plan()
    store.reopen_session(session_id)
    store.add_event(session_id, "continuation", {"boot_id": int(hello["boot_id"]), "treatment_given_s": given_s,
                                                 "duration_min": runner.plan.duration_min, "plan": accepted})
    runner.boot_id = int(hello["boot_id"])
    # Events of this boot a bridge stored already are not stored again; the rest from the first unstored.
    stored = store.last_board_event(session_id, runner.boot_id)
    runner.event_next = stored + 1 if stored else int(status["event_next"])
    try:
        _started, acknowledged = start_when_ready(runner.link, lambda message: runner.waiting(session_id, message),
                                                 acknowledge)
    except BaseException as exc:  # refused, not ready in time, or the bridge stopped: nothing was continued
        store.add_event(session_id, "continuation_not_started", {"reason": getattr(exc, "message", str(exc))})
        store.end_session(session_id, INTERRUPTED)
        raise
    at = {"boot_id": runner.boot_id, "t_ms": int(runner.link.request("heartbeat")["uptime_ms"])}
    if acknowledged:
        store.add_event(session_id, "operator", {"action": "acknowledge", "alarms": acknowledged, **at})
    started = {"action": "start", "continuation": True, **({"confirmed": confirmed} if confirmed else {}), **at}
    store.add_event(session_id, "operator", started)
    runner.phase_names = list(runner.link.request("describe")["phases"])
    # The new boot's records from the one after the last stored (from its first, if none is): the wait at
    # rest is in the record with what the board read then, the fluid the reset left standing included; a
    # wait longer than the board's ring holds is recorded as a gap.
    last = store.last_record(session_id)
    runner.first_seq = runner.since = last[1] + 1 if last is not None and last[0] == runner.boot_id else 1
    runner.stored = 0
    runner.config = row.config or runner.link.request("get_config")
