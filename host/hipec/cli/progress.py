"""Live progress of a session on a plain terminal or in a log (the demo, `hipec run --headless`)."""
from __future__ import annotations

import sys

from hipec.runner import Progress


class ProgressPrinter:
    """Live progress: one line per phase change, and the current line redrawn in place on a terminal
    (every 5 virtual minutes when the output is a log)."""

    LOG_EVERY_S = 300.0

    def __init__(self, total_s: float):
        self.total_s = total_s
        self.interactive = sys.stdout.isatty()
        self.phase = ""
        self.next_line_s = 0.0

    def __call__(self, p: Progress) -> None:
        r = p.record
        t_s = r["t_ms"] / 1000.0
        line = (f"{t_s / 60:6.1f} min  {p.phase:<9}  inflow {r['inflow_mc'] / 1000:6.2f} °C  "
                f"abdomen {r['abdominal_1_mc'] / 1000:6.2f} °C  heater {r['heater_demand_pm'] / 10:5.1f} %  "
                f"flow {r['flow_ml_min']:4d} mL/min  treatment {r['treatment_s'] // 60:2d}/{self.total_s / 60:.0f} min")
        if p.phase != self.phase:
            self.phase = p.phase
            print(("\r" if self.interactive else "") + line, flush=True)
        elif self.interactive:
            print("\r" + line, end="", flush=True)
        elif t_s >= self.next_line_s:
            print(line, flush=True)
            self.next_line_s = t_s + self.LOG_EVERY_S


