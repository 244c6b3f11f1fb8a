"""The bedside bridge's own costs: records stored per second with the dashboard drawing, the bridge
process's CPU share during a 10 Hz session in real time, and the time to write a 90-minute report.

Usage: python bench/bridge.py [--json] [--cpu-window-s 30]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from hipec.bridge import BoardLink
from hipec.dashboard import Dashboard, run_live
from hipec.emulator.mcu import EmulatedMCU
from hipec.report import write_report
from hipec.runner import Plan, SessionRunner
from hipec.store import Store

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def stored_per_second_with_dashboard(folder: Path, treatment_min: float = 5.0) -> dict[str, Any]:
    """A whole session at full board speed, a record every 100 ms, the dashboard redrawn on every pull."""
    mcu = EmulatedMCU(speed=None, host_sync=True)
    mcu.start()
    try:
        with BoardLink(mcu.device) as link:
            link.request("set_config", {"telemetry_period_ms": 100})
            plan = Plan(duration_min=treatment_min)
            runner = SessionRunner(link, Store(folder / "dash.sqlite"), plan)
            screen = io.StringIO()
            started = time.perf_counter()
            # A terminal console (colour codes and redraws included), writing into memory.
            outcome = run_live(runner, Dashboard(plan, patient="bench"),
                               Console(file=screen, width=120, force_terminal=True, color_system="standard"))
            wall_s = time.perf_counter() - started
    finally:
        mcu.stop()
    return {"outcome": outcome.phase, "records": outcome.records, "wall_s": round(wall_s, 2),
            "records_per_s": round(outcome.records / wall_s, 1), "screen_bytes": len(screen.getvalue())}


def bridge_cpu_share(folder: Path, window_s: float) -> dict[str, Any]:
    """The `hipec run --headless` process on a board in real time recording at 10 Hz: its CPU time over
    a window of wall time (the board and plant run in this process, not the bridge's)."""
    port = folder / "board"
    mcu = EmulatedMCU(speed=1.0, port_link=port)
    mcu.start()
    try:
        with BoardLink(str(port)) as link:
            link.request("set_config", {"telemetry_period_ms": 100})
        bridge = subprocess.Popen([sys.executable, "-m", "hipec", "run", "--port", str(port), "--db",
                                   str(folder / "cpu.sqlite"), "--headless", "--yes"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(5.0)  # connected, session started
        before = _cpu_s(bridge.pid)
        time.sleep(window_s)
        used = _cpu_s(bridge.pid) - before
        bridge.kill()
        bridge.wait()
    finally:
        mcu.stop()
    return {"window_s": window_s, "cpu_s": round(used, 2), "cpu_share_pct": round(100.0 * used / window_s, 2)}


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def report_time(folder: Path) -> dict[str, Any]:
    """A 90-minute treatment recorded from the emulated board, then its PDF, PNG and CSV written."""
    mcu = EmulatedMCU(speed=None, host_sync=True)
    mcu.start()
    try:
        with BoardLink(mcu.device) as link:
            store = Store(folder / "report.sqlite")
            outcome = SessionRunner(link, store, Plan(duration_min=90.0)).run()
    finally:
        mcu.stop()
    started = time.perf_counter()
    files = write_report(store, outcome.session_id, folder / "report")
    elapsed = time.perf_counter() - started
    return {"records": outcome.records, "seconds": round(elapsed, 2),
            "files": {p.name: p.stat().st_size for p in files}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/bridge.py", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cpu-window-s", type=float, default=30.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        figures = {"dashboard": stored_per_second_with_dashboard(folder),
                   "cpu_10hz_realtime": bridge_cpu_share(folder, args.cpu_window_s),
                   "report_90min": report_time(folder)}
    print(json.dumps(figures, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
