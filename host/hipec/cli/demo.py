"""`hipec demo`: an emulated board and one full default treatment on it, with a summary at the end."""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import textwrap
import time
from collections import Counter

from hipec.cli.exits import session_exit
from hipec.cli.progress import ProgressPrinter
from hipec.emulator.process import DEFAULT_HEAP_KIB


def cmd_demo(args: argparse.Namespace) -> int:
    from hipec.bridge import BoardLink
    from hipec.record_plot import plot_record
    from hipec.report import band_c, summarize, write_report
    from hipec.runner import Plan, SessionRunner
    from hipec.store import Store

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    db_path = args.out / f"demo-{stamp}.sqlite"
    plot_path = args.out / f"demo-{stamp}-temperatures.png"
    speed = "max" if args.speed is None else str(args.speed)
    cmd = [sys.executable, "-m", "hipec", "emulate", "--speed", speed]
    if args.plant:
        cmd += ["--plant", str(args.plant)]
    plan = Plan()
    board_log = args.out / f"demo-{stamp}-board.log"
    print(f"Starting the emulated MCU (MicroPython, {DEFAULT_HEAP_KIB} KiB heap) at {speed}x virtual time ...", flush=True)
    with board_log.open("w+b") as errors:  # the emulator's and the board's debug output, kept
        emulator = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            assert emulator.stdout is not None
            device = emulator.stdout.readline().strip()
            if not device.startswith("/dev/"):
                errors.seek(0)
                print(f"hipec demo: error: the emulator did not start: {errors.read().decode()}", file=sys.stderr)
                return 1
            print(f"Board on {device}. Plan: {plan.target_temp_c} °C for {plan.duration_min:g} min, "
                  f"{plan.volume_l} L at {plan.flow_ml_min:g} mL/min, controlled at the {plan.controlled_point}.",
                  flush=True)
            store = Store(db_path)
            with BoardLink(device) as link, ProgressPrinter(plan.duration_min * 60) as progress:
                outcome = SessionRunner(link, store, plan, progress).run()
        finally:
            emulator.terminate()
            emulator.wait(timeout=10)
    summary = summarize(store, outcome.session_id)
    plot_record(store, outcome.session_id, plot_path)
    record = write_report(store, outcome.session_id, args.out / f"demo-{stamp}-record")[0]
    band = band_c(store.session(outcome.session_id))
    width = shutil.get_terminal_size().columns
    print()
    print(f"Session {outcome.session_id} ended {outcome.phase} (fault: {outcome.fault})")
    for label, value in (
            ("phases", " → ".join(summary.phases)),
            ("treatment time", f"{summary.treatment_min:.1f} min in band"),
            (f"in ±{band:g} °C", f"{summary.time_in_band_pct:.1f} % of treatment records, as the board judged them"),
            ("max deviation", f"{summary.max_deviation_c:.3f} °C (measured)"),
            ("delivered volume", f"{summary.delivered_l:.1f} L pumped, mean flow {summary.mean_flow_ml_min:.0f} mL/min"),
            ("alarms raised", grouped(summary.alarms_raised) or "none"),
            ("records stored", str(summary.records)),
            ("record (SQLite)", str(db_path)),
            ("temperature plot", str(plot_path)),
            ("treatment record", f"{record} (`hipec report {outcome.session_id} --db {db_path}` writes it again)"),
            ("board's log", str(board_log))):
        print(summary_line(label, value, width))
    if outcome.phase != "COMPLETE":
        print(f"The session did not complete: the board's own account is in {board_log}")
    return session_exit(outcome.phase)


def summary_line(label: str, value: str, width: int) -> str:
    """One row of the summary, wrapped to the terminal with the value's lines aligned (a path is not
    broken)."""
    head = f"  {label + ':':<19}"
    return textwrap.fill(value, width=max(width, 40) - 1, initial_indent=head, subsequent_indent=" " * len(head),
                         break_long_words=False, break_on_hyphens=False)


def grouped(alarms: list[str]) -> str:
    """Each alarm once, with how often it was raised, most frequent first: "link_lost (low) ×12"."""
    counts = Counter(alarms)
    return ", ".join(f"{name} ×{n}" if n > 1 else name for name, n in counts.most_common())
