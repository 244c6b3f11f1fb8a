"""A reader that goes away (`hipec history | head -1`) ends the command quietly, as a shell tool ends on
SIGPIPE: no traceback, no error line about a broken pipe."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hipec.cli.exits import EXIT_BROKEN_PIPE
from hipec.runner import Plan
from hipec.store import Store

SESSIONS = 3000  # lines enough to overflow a pipe's buffer while the reader is gone


def test_history_into_a_reader_that_left_ends_quietly(tmp_path: Path) -> None:
    db = tmp_path / "record.sqlite"
    store = Store(db)
    for _ in range(SESSIONS):
        store.end_session(store.new_session("emulated", "0", Plan().fields()), "COMPLETE")
    store.close()
    history = subprocess.Popen([sys.executable, "-m", "hipec", "history", "--db", str(db)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert history.stdout is not None and history.stderr is not None
    first = history.stdout.readline()
    history.stdout.close()  # the reader leaves after one line
    said = history.stderr.read().decode()
    assert history.wait(timeout=60) == EXIT_BROKEN_PIPE, said
    assert first and said == "", said
