"""`hipec run`: check the plan, check the board can start, start on confirmation and follow the session
to its end on the dashboard; and `--resume`, which carries on a session the bridge left (running,
paused or in FAULT), or continues one a board reset interrupted, on the same dashboard."""
from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hipec.cli.exits import EXIT_INTERRUPTED, EXIT_LEFT_RUNNING, EXIT_USAGE, session_exit, warn_conflicts
from hipec.cli.plan import checked
from hipec.cli.progress import ProgressPrinter
from hipec.cli.records import open_record

if TYPE_CHECKING:
    from hipec.runner import Outcome, Plan, SessionRunner
    from hipec.store import Store


class BridgeStopped(Exception):
    """The bridge itself was stopped (Ctrl-C, SIGTERM) while following a session the board carries on."""

    def __init__(self, session_id: int) -> None:
        super().__init__(f"session {session_id}")
        self.session_id = session_id


def _on_sigterm(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # a service manager's stop ends the bridge the way Ctrl-C does


def _follow(args: argparse.Namespace, runner: SessionRunner, patient: str,
            follow: Callable[[], Outcome], session_id: int = 0) -> Outcome:
    """Follow the session on the dashboard (a terminal) or with progress lines (a log, --headless); a
    stopped bridge raises BridgeStopped naming the session the board goes on with."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _follow_until_ended(args, runner, patient, follow, session_id)
    except KeyboardInterrupt:
        raise BridgeStopped(runner.session_id or session_id) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _follow_until_ended(args: argparse.Namespace, runner: SessionRunner, patient: str,
                        follow: Callable[[], Outcome], session_id: int) -> Outcome:
    plan = runner.plan
    if args.headless or not sys.stdout.isatty():
        runner.on_progress = None if args.headless else ProgressPrinter(plan.duration_min * 60)
        runner.on_wait = _print_wait
        return follow()
    from hipec.dashboard import Dashboard
    from hipec.live import run_live, seed_from_record

    dashboard = Dashboard(plan, patient)
    runner.on_wait = lambda message: dashboard.say(f"waiting: {message}")
    if session_id:
        seed_from_record(dashboard.state, runner.store, session_id)
    return run_live(runner, dashboard, follow=follow)


def _print_wait(message: str) -> None:
    """What the board waits for before it starts (runner.on_wait), on a line of its own."""
    print(f"waiting: {message}", flush=True)


def _stopped(stop: BridgeStopped, args: argparse.Namespace) -> int:
    """What an operator who stopped the bridge needs to know: the board did not stop, and how to follow
    it again."""
    session = f"session {stop.session_id}" if stop.session_id else "the session"
    print(f"\nhipec run: the bridge was stopped; the board carries on with {session} and pauses with the heater "
          f"off once no bridge has spoken for its grace period; `hipec run --resume --port {args.port} --db "
          f"{args.db}` carries on following it", file=sys.stderr)
    return EXIT_INTERRUPTED


def _ended(outcome: Outcome, args: argparse.Namespace, store: Store, continued: str = "") -> int:
    from hipec.runner import INTERRUPTED

    row = store.session(outcome.session_id)
    if not outcome.ended:
        print(f"session {outcome.session_id}{continued} left running on the board ({outcome.phase}): it carries on, "
              f"and pauses with the heater off once no bridge has spoken for its grace period; "
              f"`hipec run --resume --port {args.port} --db {args.db}` carries on following it")
        return EXIT_LEFT_RUNNING
    # After --resume or a continuation this bridge stored only part of the session: the count is the record's.
    total = store.record_count(outcome.session_id)
    this_run = f" ({outcome.records} by this bridge)" if outcome.records != total else ""
    print(f"session {outcome.session_id}{continued} ended {row.outcome} (fault: {outcome.fault}); "
          f"{total} records stored in {args.db}{this_run}")
    if row.outcome == INTERRUPTED:
        print(f"a board reset interrupted it: `hipec run --resume --port {args.port} --db {args.db}` offers to "
              f"continue it for the treatment time that remains")
    print(f"the treatment record: hipec report {outcome.session_id} --db {args.db}")
    warn_conflicts(store)
    return session_exit(outcome.phase)


def _patient(store: Store, session_id: int) -> str:
    from hipec.record_data import session_plan

    plan = session_plan(store, session_id)
    return str(plan["patient_id"]) if plan else ""


def _resume(args: argparse.Namespace) -> int:
    from hipec.runner import Plan, SessionRunner
    from hipec.user_errors import open_board

    store = open_record(args.db)
    session = store.unfinished_session()
    if session is None:
        last = store.last_session()
        interrupted = store.last_interrupted_session()
        if interrupted is not None:
            return _continue(args, store, interrupted.id, Plan(**interrupted.plan))
        if last is None or last.outcome != "FAULT":
            ended = f" (the last, session {last.id}, ended {last.outcome})" if last else ""
            print(f"hipec run: no session in {args.db} to resume{ended}; `hipec history --db {args.db}` lists them",
                  file=sys.stderr)
            return EXIT_USAGE
        session = last  # a session a bridge left in FAULT: it may still be corrected and resumed
    from hipec.continuation import plan_in_force
    plan = plan_in_force(Plan(**session.plan), store.events(session.id))
    with open_board(args.port) as link:
        runner = SessionRunner(link, store, plan, reconnect=lambda: open_board(args.port))
        if session.outcome == "FAULT":
            runner.final_phases = tuple(p for p in runner.final_phases if p != "FAULT")
            store.reopen_session(session.id)
        outcome = _follow(args, runner, _patient(store, session.id), lambda: runner.resume(session.id), session.id)
    return _ended(outcome, args, store)


def _continue(args: argparse.Namespace, store: Store, session_id: int, plan: Plan) -> int:
    """A board reset interrupted the session: continue it for the treatment time that remains, or not."""
    from hipec import continuation
    from hipec.runner import SessionRunner
    from hipec.user_errors import open_board

    with open_board(args.port) as link:
        runner = SessionRunner(link, store, plan, reconnect=lambda: open_board(args.port))
        given_s, left_min = continuation.remaining_min(runner, session_id)
        print(f"session {session_id} was interrupted by a board reset after {given_s / 60.0:.1f} of "
              f"{plan.duration_min:g} min of treatment; continuing it runs {left_min:.1f} min more at "
              f"{plan.target_temp_c} °C, {plan.flow_ml_min:g} mL/min, recorded as the same session")
        confirmed = "--yes"
        if not args.yes:
            answer = _typed_yes("Continue the treatment on the board?", "continue")
            if answer is None:
                return EXIT_USAGE
            if not answer:
                print(f"not continued; session {session_id} stays ended INTERRUPTED")
                return EXIT_USAGE
            confirmed = "typed yes"
        runner.on_wait = _print_wait
        continuation.start_continuation(runner, session_id, lambda names: _acknowledged(args, names), confirmed)
        outcome = _follow(args, runner, _patient(store, session_id), lambda: runner.follow_started(session_id),
                          session_id)
    return _ended(outcome, args, store, " (continued)")


def _acknowledged(args: argparse.Namespace, names: list[str]) -> bool:
    """The operator's acknowledgement of alarms the board raised since the reset and whose cause is gone."""
    from hipec import alarm_words

    listed = "; ".join(f"{name} ({alarm_words.words(name)})" for name in names)
    print(f"the board holds alarms whose cause is gone: {listed}; they keep the session from starting until "
          f"acknowledged")
    if args.yes:
        print("acknowledged (--yes)")
        return True
    return _typed_yes("Acknowledge them and continue?", "acknowledge") is True


def _typed_yes(question: str, verb: str) -> bool | None:
    """Whether the operator typed yes; None, said in one line, where the input ends before an answer (no
    terminal to ask at: /dev/null, a script), which `input` ends in a traceback."""
    try:
        return input(f"{question} Type yes to {verb}: ").strip().lower() == "yes"
    except EOFError:
        print(f"\nhipec run: error: \"{question}\" needs yes typed at a terminal; give --yes to {verb} "
              f"without asking", file=sys.stderr)
        return None


def _checked_plan(args: argparse.Namespace, store: Store | None) -> tuple[Plan, dict[str, Any] | None] | None:
    """The plan to run (the standard session without a file) and its whole record, checked against the
    patient's earlier sessions in the record; None when refused."""
    from hipec.runner import Plan

    if args.plan is None:
        return Plan(), None
    session_plan = checked(args.plan, f"hipec run: {args.plan}", "not started", store)
    if session_plan is None:
        return None
    return session_plan.board_plan(), session_plan.record()


def cmd_run(args: argparse.Namespace) -> int:
    previous = signal.signal(signal.SIGTERM, _on_sigterm)  # stopped at a question, too, it says so
    try:
        return _resume(args) if args.resume else _start(args)
    except BridgeStopped as stop:
        return _stopped(stop, args)
    except KeyboardInterrupt:
        print("\nhipec run: the bridge was stopped before the board was asked to start; nothing started",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)


def _start(args: argparse.Namespace) -> int:
    from hipec.readiness import start_refusal
    from hipec.runner import SessionRunner
    from hipec.store import Store
    from hipec.user_errors import open_board

    # The patient's earlier sessions are in the record if it exists; a refused plan creates none.
    to_run = _checked_plan(args, Store(args.db) if args.db.exists() else None)
    if to_run is None:
        return EXIT_USAGE
    plan, record = to_run
    if record is None:  # nothing of a patient was checked: said before anything is asked or started
        print(f"no plan file: the standard bench session ({plan.target_temp_c:g} °C at the {plan.controlled_point}, "
              f"{plan.duration_min:g} min, {plan.volume_l:g} L, {plan.flow_ml_min:g} mL/min) with no patient, drug "
              f"or contraindication checklist; for a patient, `hipec plan new FILE` and `hipec run FILE`")
    # An existing --db that is not a record is refused before the board is touched; a new record file is
    # made only once the session starts (a busy port, a board that refuses or a "no" leave no empty file).
    Store.check_path(args.db)
    store = Store(args.db) if args.db.exists() else None
    with open_board(args.port) as link:
        refusal = start_refusal(link, args.port, str(args.db))
        if refusal:
            print(f"hipec run: not started: {refusal}", file=sys.stderr)
            return EXIT_USAGE
        if not args.yes and not args.headless:
            what = "the standard bench session, no patient," if record is None else \
                f"the session of patient {record['patient_id']}"
            answer = _typed_yes(f"Start {what} on the board?", "start")
            if answer is None:
                return EXIT_USAGE
            if not answer:
                print("not started")
                return EXIT_USAGE
        if store is None:
            store = Store(args.db)
        runner = SessionRunner(link, store, plan, plan_record=record, reconnect=lambda: open_board(args.port))
        outcome = _follow(args, runner, str(record["patient_id"]) if record else "", runner.run)
    return _ended(outcome, args, store)
