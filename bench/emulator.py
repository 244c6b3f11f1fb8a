"""Benchmark of the emulated MCU: how fast a whole default session runs, and the firmware's heap.

Runs the default C-HIPEC session (43.0 °C, 60 min, 5.0 L, 500 mL/min) on the emulated MCU at full
speed through the real bridge, and prints one JSON object:
  wall_s, virtual_s, speedup       time taken and virtual time covered
  records                          telemetry records stored (every one, in order)
  heap_kib                         the MicroPython heap cap
  heap_live_bytes_10min/_end       heap in use right after the tick's collection, at 10 min and at the end
  heap_peak_bytes_10min/_end       highest heap use seen before a collection, at 10 min and at the end
Usage: python bench/emulator.py [--heap KIB]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hipec.bridge import BoardLink
from hipec.emulator.mcu import DEFAULT_HEAP_KIB, EmulatedMCU
from hipec.runner import Plan, Progress, SessionRunner
from hipec.store import Store


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heap", type=int, default=DEFAULT_HEAP_KIB)
    args = parser.parse_args()
    mcu = EmulatedMCU(speed=None, heap_kib=args.heap, host_sync=True)
    figures: dict[str, Any] = {"heap_kib": args.heap}
    with tempfile.TemporaryDirectory() as tmp:
        mcu.start()
        try:
            with BoardLink(mcu.device) as link:
                marks: dict[str, dict[str, Any]] = {}

                def watch(p: Progress) -> None:
                    if "10min" not in marks and p.record["t_ms"] >= 600_000:
                        marks["10min"] = link.request("diagnostics")

                store = Store(Path(tmp) / "bench.sqlite")
                start = time.perf_counter()
                outcome = SessionRunner(link, store, Plan(), watch).run()
                wall = time.perf_counter() - start
                end = link.request("diagnostics")
        finally:
            mcu.stop()
    figures.update({
        "outcome": outcome.phase,
        "wall_s": round(wall, 2),
        "virtual_s": end["uptime_ms"] / 1000.0,
        "speedup": round(end["uptime_ms"] / 1000.0 / wall, 1),
        "records": outcome.records,
        "heap_live_bytes_10min": marks["10min"]["heap_live_bytes"],
        "heap_live_bytes_end": end["heap_live_bytes"],
        "heap_peak_bytes_10min": marks["10min"]["heap_peak_bytes"],
        "heap_peak_bytes_end": end["heap_peak_bytes"],
        "overruns": end["overruns"],
    })
    json.dump(figures, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
