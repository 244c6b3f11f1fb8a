"""Commands that read the record: the treatment report of one session and the list of sessions."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hipec.cli.exits import EXIT_OK, EXIT_USAGE
from hipec.user_errors import DEFAULT_RECORD

if TYPE_CHECKING:
    from hipec.store import Store


def open_record(path: Path) -> Store:
    from hipec.store import RecordError, Store

    if not path.exists():
        raise RecordError(f"no record at {path}; give the record file with --db (default {DEFAULT_RECORD}, in the "
                          "folder `hipec run` was started from)")
    return Store(path)


def _session(store: Store, number: int, command: str) -> bool:
    try:
        store.session(number)
    except KeyError as exc:
        print(f"hipec {command}: {exc.args[0]}; `hipec history --db {store.path}` lists the sessions",
              file=sys.stderr)
        return False
    return True


def cmd_report(args: argparse.Namespace) -> int:
    from hipec.report import summary_rows, write_report

    store = open_record(args.db)
    if not _session(store, args.session, "report"):
        return EXIT_USAGE
    for label, value in summary_rows(store, args.session):
        print(f"{label:<30} {value}")
    for path in write_report(store, args.session, args.out):
        print(f"wrote {path}")
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from hipec.report import session_plan, summarize

    store = open_record(args.db)
    sessions = store.sessions()
    if not sessions:
        print(f"no sessions in {args.db}")
    for row in sessions:
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.started_at))
        plan = session_plan(store, row.id)
        patient = f"patient {plan['patient_id']} #{plan['session_number']}" if plan else "no plan file"
        p = row.plan
        if row.outcome == "NOT_STARTED":
            refused = [d["message"] for _at, kind, d in store.events(row.id) if kind == "start_refused"]
            print(f"{row.id:>4}  {started}  not started: {refused[0] if refused else 'refused by the board'}")
            continue
        s = summarize(store, row.id)
        print(f"{row.id:>4}  {started}  {row.outcome or 'not ended':<12} {patient:<18} "
              f"{p['target_temp_c']:g} °C {p['duration_min']:g} min {p['flow_ml_min']:g} mL/min  "
              f"treatment {s.treatment_min:.1f} min, {s.time_in_band_pct:.1f} % in band")
    return EXIT_OK
