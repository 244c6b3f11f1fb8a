"""`hipec run`: check the plan, push it, start on confirmation and follow the session to its end; and
`--resume`, which carries on a session the bridge left, or continues one a board reset interrupted."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from hipec.cli.exits import EXIT_USAGE, session_exit, warn_conflicts
from hipec.cli.plan import summary_line
from hipec.cli.progress import ProgressPrinter
from hipec.cli.records import open_record

if TYPE_CHECKING:
    from hipec.store import Store


def _resume(args: argparse.Namespace) -> int:
    from hipec.bridge import BoardLink
    from hipec.runner import Plan, SessionRunner

    store = open_record(args.db)
    session = store.unfinished_session()
    if session is None:
        interrupted = store.last_interrupted_session()
        if interrupted is not None:
            return _continue(args, store, interrupted.id, Plan(**interrupted.plan))
        print(f"hipec run: no unfinished session in {args.db} to resume", file=sys.stderr)
        return EXIT_USAGE
    plan = Plan(**session.plan)
    with BoardLink(args.port) as link:
        runner = SessionRunner(link, store, plan, None if args.headless else ProgressPrinter(plan.duration_min * 60),
                               reconnect=lambda: BoardLink(args.port))
        outcome = runner.resume(session.id)
    print(f"session {outcome.session_id} ended {outcome.phase} (fault: {outcome.fault}); "
          f"{outcome.records} more records in {args.db}")
    warn_conflicts(store)
    return session_exit(outcome.phase)


def _continue(args: argparse.Namespace, store: "Store", session_id: int, plan: Any) -> int:
    """A board reset interrupted the session: continue it for the treatment time that remains, or not."""
    from hipec import continuation
    from hipec.bridge import BoardLink
    from hipec.runner import SessionRunner

    with BoardLink(args.port) as link:
        runner = SessionRunner(link, store, plan, None if args.headless else ProgressPrinter(plan.duration_min * 60),
                               reconnect=lambda: BoardLink(args.port))
        given_s, left_min = continuation.remaining_min(runner, session_id)
        print(f"session {session_id} was interrupted by a board reset after {given_s / 60.0:.1f} of "
              f"{plan.duration_min:g} min of treatment; continuing it runs {left_min:.1f} min more at "
              f"{plan.target_temp_c} °C, {plan.flow_ml_min:g} mL/min, recorded as the same session")
        if not args.yes:
            answer = input("Continue the treatment on the board? Type yes to continue: ")
            if answer.strip().lower() != "yes":
                print(f"not continued; session {session_id} stays ended INTERRUPTED")
                return EXIT_USAGE
        outcome = continuation.continue_session(runner, session_id)
    print(f"session {outcome.session_id} (continued) ended {outcome.phase} (fault: {outcome.fault}); "
          f"{outcome.records} more records in {args.db}")
    warn_conflicts(store)
    return session_exit(outcome.phase)


def cmd_run(args: argparse.Namespace) -> int:
    from hipec import plans
    from hipec.bridge import BoardLink
    from hipec.runner import Plan, SessionRunner
    from hipec.store import Store

    if args.resume:
        return _resume(args)
    record = None
    plan = Plan()
    if args.plan is not None:
        session_plan = plans.load(args.plan)
        problems = plans.check(session_plan)
        if problems:
            print(f"hipec run: {args.plan}: {len(problems)} problem(s); not started:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return EXIT_USAGE
        plan = session_plan.board_plan()
        record = session_plan.record()
        print(summary_line(session_plan))
    if not args.yes and not args.headless:
        answer = input("Start the session on the board? Type yes to start: ")
        if answer.strip().lower() != "yes":
            print("not started")
            return EXIT_USAGE
    store = Store(args.db)
    with BoardLink(args.port) as link:
        runner = SessionRunner(link, store, plan, plan_record=record, reconnect=lambda: BoardLink(args.port))
        if args.headless or not sys.stdout.isatty():
            runner.on_progress = None if args.headless else ProgressPrinter(plan.duration_min * 60)
            outcome = runner.run()
        else:
            from hipec.dashboard import Dashboard, run_live

            patient = str(record["patient_id"]) if record else ""
            outcome = run_live(runner, Dashboard(plan, patient))
    print(f"session {outcome.session_id} ended {outcome.phase} (fault: {outcome.fault}); "
          f"{outcome.records} records in {args.db}")
    warn_conflicts(store)
    return session_exit(outcome.phase)
