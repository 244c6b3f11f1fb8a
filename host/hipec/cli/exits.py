"""Exit statuses of the `hipec` command, and the one line an operator is told for an error."""
from __future__ import annotations

import sqlite3
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hipec.store import Store

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_SESSION_NOT_COMPLETE = 3
EXIT_LINK = 4
# The operator left the bridge (`q`) while the board carries the session on: nothing failed, nothing ended.
EXIT_LEFT_RUNNING = 5
# The bridge was stopped (Ctrl-C, SIGTERM) while the board carries on: the shell's 128 + SIGINT.
EXIT_INTERRUPTED = 130
# What the command printed had no reader any more (`| head`): the shell's 128 + SIGPIPE.
EXIT_BROKEN_PIPE = 141


def error_exit(exc: BaseException) -> int | None:
    """The exit status for an error the operator is told about in one line (4 for the link, 2 for the
    rest); None for an error that is a defect and must show its traceback."""
    from hipec.bridge import BoardError, LinkTimeout, PortBusy
    from hipec.emulator.cable import PortLinkBusy
    from hipec.emulator.faults import FaultFileError
    from hipec.emulator.params import PlantFileError
    from hipec.flash import FlashError
    from hipec.plans import PlanFileError
    from hipec.runner import SessionError
    from hipec.store import RecordError
    from hipec.tune import TuneError

    from hipec.user_errors import PortError

    known = (BoardError, LinkTimeout, FaultFileError, PlantFileError, PlanFileError, SessionError, TuneError,
             RecordError, FlashError, PortLinkBusy, OSError, sqlite3.Error)
    if not isinstance(exc, known):
        return None
    if isinstance(exc, (PortError, PortBusy)) or (isinstance(exc, LinkTimeout) and exc.never_answered):
        return EXIT_USAGE  # a port that is not the board's, or another bridge's: the operator acts first
    return EXIT_LINK if isinstance(exc, (LinkTimeout, OSError)) else EXIT_USAGE


def error_line(command: str, exc: BaseException) -> str:
    """The one line an operator reads for an error: what went wrong with what, and the way out."""
    from hipec.user_errors import explain

    return f"hipec {command}: error: {explain(exc) or exc}"


def warn_conflicts(store: Store) -> None:
    """Records that came again with other content are kept aside in the record: say so, loudly."""
    if store.conflicts:
        print(f"WARNING: {store.conflicts} record(s) arrived again with other content than stored; both "
              f"versions are in the record as record_conflict events", file=sys.stderr)


def session_exit(phase: str) -> int:
    """The exit status of `hipec run`: 0 completed (its whole planned treatment time), 4 the link never
    came back, 3 ended otherwise (STOPPED early by the operator among them)."""
    from hipec.store import DISCONNECTED

    if phase == "COMPLETE":
        return EXIT_OK
    return EXIT_LINK if phase == DISCONNECTED else EXIT_SESSION_NOT_COMPLETE


