"""Commands that read the record: the treatment report of one session and the list of sessions."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from hipec.cli.exits import EXIT_OK, EXIT_USAGE


def open_record(path: Path) -> Any:
    from hipec.store import RecordError, Store

    if not path.exists():
        raise RecordError(f"no record at {path} (give the record file with --db)")
    return Store(path)


def cmd_report(args: argparse.Namespace) -> int:
    from hipec.report import summary_rows, write_report

    store = open_record(args.db)
    try:
        store.session(args.session)
    except KeyError as exc:
        print(f"hipec report: {exc.args[0]}", file=sys.stderr)
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
        patient = plan["patient_id"] if plan else "-"
        s = summarize(store, row.id)
        p = row.plan
        print(f"{row.id:>4}  {started}  {row.outcome or 'not ended':<9} patient {patient:<10} "
              f"{p['target_temp_c']:g} °C {p['duration_min']:g} min {p['flow_ml_min']:g} mL/min  "
              f"treatment {s.treatment_min:.1f} min, {s.time_in_band_pct:.1f} % in band")
    return EXIT_OK


