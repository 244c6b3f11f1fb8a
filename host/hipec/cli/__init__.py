"""The `hipec` command: one entry point with a subcommand per task at the bedside or the bench.

Each subcommand lives in a module of its own (run, board, records, plan, demo); the parser in parser.py;
exit statuses and the one-line error in exits.py.
"""
from __future__ import annotations

import os
import sys
from typing import Sequence

from hipec.cli.bedside import BEDSIDE_COMMANDS, cmd_bedside, cmd_status
from hipec.cli.board import OPERATE_COMMANDS, cmd_bench, cmd_emulate, cmd_flash, cmd_operate, cmd_tune
from hipec.cli.demo import cmd_demo
from hipec.cli.exits import (EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_LEFT_RUNNING, EXIT_LINK, EXIT_OK, EXIT_SESSION_NOT_COMPLETE,
                             EXIT_USAGE, error_exit, error_line, session_exit, warn_conflicts)
from hipec.cli.parser import build_parser
from hipec.cli.plan import cmd_plan, summary_line
from hipec.cli.records import cmd_history, cmd_report
from hipec.cli.run import cmd_run

__all__ = ["main", "build_parser", "error_exit", "session_exit", "warn_conflicts", "summary_line", "EXIT_OK",
           "EXIT_USAGE", "EXIT_SESSION_NOT_COMPLETE", "EXIT_LINK", "EXIT_LEFT_RUNNING"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "emulate":
            return cmd_emulate(args)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "plan":
            return cmd_plan(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command in BEDSIDE_COMMANDS:
            return cmd_bedside(args)
        if args.command in OPERATE_COMMANDS:
            return cmd_operate(args)
        if args.command == "history":
            return cmd_history(args)
        if args.command == "status":
            return cmd_status(args)
        if args.command == "tune":
            return cmd_tune(args)
        if args.command == "flash":
            return cmd_flash(args)
        if args.command == "demo":
            return cmd_demo(args)
        if args.command == "bench":
            return cmd_bench(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`hipec history | head`): end as a shell tool does on SIGPIPE, without a
        # traceback or a second error when Python flushes the closed stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # one clear line for the operator, not a traceback
        status = error_exit(exc)
        if status is None:
            raise
        print(error_line(args.command, exc), file=sys.stderr)
        return status
    return EXIT_USAGE


