"""The dashboard live on the terminal while the session runner follows the board: the screen redrawn
whole at every refresh (the alternate screen, so a resize leaves nothing behind), keys read on their
own thread, their actions carried out between pulls on the runner's thread (it owns the link).
"""
from __future__ import annotations

import queue
from collections.abc import Callable

from rich.console import Console

from hipec.bedside import BedsideState, held_vitals
from hipec.dashboard import Action, Dashboard, carry_out
from hipec.keys import KeyReader
from hipec.runner import Outcome, SessionRunner
from hipec.session_model import Progress
from hipec.store import Store
from hipec.vitals import BY_FIELD

# The board's status is read again this often in records (its fault and the patient values it holds).
STATUS_EVERY_RECORDS = 20


def attach(runner: SessionRunner, dashboard: Dashboard,
           actions: queue.Queue[Action]) -> Callable[[Progress], None]:
    """The runner's on_progress for a dashboard: keeps its state, carries out the queued actions."""
    last_alarms = [-1]
    since_status = [STATUS_EVERY_RECORDS]
    limits_read = [False]

    def refresh_status() -> None:
        status = runner.link.request("status")
        dashboard.state.fault = str(status.get("fault", "none"))
        dashboard.state.vitals.board = held_vitals(status)
        since_status[0] = 0

    def on_progress(progress: Progress) -> None:
        state = dashboard.state
        state.config = runner.config
        if not limits_read[0]:  # the board's absolute limits (core critical, cut-out), from its hello
            state.limits = dict((runner.store.session(runner.session_id).hello or {}).get("limits", {}))
            limits_read[0] = True
        dashboard.update(progress, runner.boot_id)
        bits = progress.record["alarms"]
        if bits != last_alarms[0]:
            last_alarms[0] = bits
            state.alarms = runner.link.request("get_alarms")["alarms"] if bits else []
            since_status[0] = STATUS_EVERY_RECORDS  # a new alarm may have faulted the session
        since_status[0] += 1
        if since_status[0] >= STATUS_EVERY_RECORDS:
            refresh_status()
        for sign in state.vitals.expired(state.now_s()):
            carry_out(Action("vitals", {sign.field: None, "expired": True}), runner.link.request,
                      lambda kind, detail: runner.store.add_event(runner.session_id, kind, detail), dashboard)
        while not actions.empty():
            action = actions.get()
            if action.kind == "quit":
                left = {"action": "quit", **action.detail, **state.action_time()}
                runner.store.add_event(runner.session_id, "operator", left)
                runner.leave_running = True
                runner.stop()
                continue
            carry_out(action, runner.link.request,
                      lambda kind, detail: runner.store.add_event(runner.session_id, kind, detail), dashboard)
            if action.kind in ("vitals", "resume", "ack"):
                refresh_status()

    return on_progress


def run_live(runner: SessionRunner, dashboard: Dashboard, console: Console | None = None,
             follow: Callable[[], Outcome] | None = None) -> Outcome:
    """Run (or, with follow, resume or continue) the session with the dashboard on screen and the
    operator's keys live. In FAULT the session is not over: the operator may correct, acknowledge and
    resume, or abort; the dashboard ends at COMPLETE, ABORTED, a reset, or when the operator leaves."""
    from rich.live import Live

    actions: queue.Queue[Action] = queue.Queue()
    keys = KeyReader(dashboard, actions)
    runner.on_progress = attach(runner, dashboard, actions)
    runner.final_phases = tuple(p for p in runner.final_phases if p != "FAULT")
    screen = console is None or console.is_terminal
    with Live(dashboard, console=console, refresh_per_second=4, screen=screen, transient=False,
              redirect_stdout=False, redirect_stderr=False):
        keys.start()
        try:
            return (follow or runner.run)()
        finally:
            keys.stop()


def seed_from_record(state: BedsideState, store: Store, session_id: int) -> None:
    """A dashboard that takes over a session (--resume, a continuation) starts from what the record
    holds: the clocks, the phase and since when, the trend, the patient values and when each was
    entered, and the board's limits from its hello."""
    row = store.session(session_id)
    state.limits = dict((row.hello or {}).get("limits", {}))
    state.config = dict(row.config or {})
    names = row.tables.phases
    for r in store.telemetry(session_id):
        state.update(Progress(r, names[r["phase"]], 0), int(r["boot"]))
    for _at, kind, detail in store.events(session_id):
        if kind != "operator":
            continue
        if detail.get("action") in ("pause", "resume") and "refused" not in detail:
            state.paused_by_operator = detail["action"] == "pause"
        if detail.get("action") == "vitals" and "refused" not in detail:
            for name, value in detail.items():
                sign = BY_FIELD.get(name)
                if sign is not None:
                    state.vitals.enter(sign, value, float(detail.get("session_s", state.now_s())))
