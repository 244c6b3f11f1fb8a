"""Live progress of a session without the dashboard (the demo, `hipec run` into a log): on a terminal a
rich progress bar that fits its width, one line kept per phase above it; in a log one short line per
phase change and every 5 board minutes."""
from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress as Bar, TaskID, TextColumn, TimeElapsedColumn

from hipec.bedside import clock
from hipec.runner import Progress


class ProgressPrinter:
    LOG_EVERY_S = 300.0

    def __init__(self, total_s: float, console: Console | None = None):
        self.total_s = total_s
        self.console = console or Console()
        self.interactive = self.console.is_terminal and sys.stdout.isatty() if console is None else console.is_terminal
        self.phase = ""
        self.next_line_s = 0.0
        self.bar: Bar | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> ProgressPrinter:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def _line(self, p: Progress) -> str:
        r = p.record
        return (f"{clock(r['t_ms'] / 1000.0):>7} {p.phase:<9} inflow {r['inflow_mc'] / 1000:5.2f} °C  "
                f"flow {r['flow_ml_min']:3d} mL/min  treatment {r['treatment_s'] // 60:2d}/{self.total_s / 60:.0f} min")

    def __call__(self, p: Progress) -> None:
        r = p.record
        t_s = r["t_ms"] / 1000.0
        if not self.interactive:
            if p.phase != self.phase or t_s >= self.next_line_s:
                self.phase = p.phase
                self.next_line_s = t_s + self.LOG_EVERY_S
                print(self._line(p), flush=True)
            return
        if self.bar is None:
            self.bar = Bar(TextColumn("{task.fields[phase]:<9}"), BarColumn(bar_width=None),
                           TextColumn("{task.fields[inflow]}"), TextColumn("{task.fields[treated]}"),
                           TimeElapsedColumn(), console=self.console, expand=True)
            self.task = self.bar.add_task("session", total=self.total_s, phase="", inflow="", treated="")
            self.bar.start()
        assert self.task is not None
        if p.phase != self.phase:
            self.phase = p.phase
            self.bar.console.print(f"{clock(t_s):>7}  {p.phase}")
        self.bar.update(self.task, completed=min(r["treatment_s"], self.total_s), phase=p.phase,
                        inflow=f"{r['inflow_mc'] / 1000:5.2f} °C",
                        treated=f"{r['treatment_s'] // 60:2d}/{self.total_s / 60:.0f} min")
