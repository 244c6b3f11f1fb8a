"""Link benchmark: request round trips and sustained telemetry, host <-> emulated MCU over the pty.

Usage: python bench/link.py [--requests N] [--virtual-s S]
Prints one JSON object:
  status_rtt_ms, echo_rtt_ms     median and p99 of N round trips (pyserial -> pty -> MicroPython
                                 firmware -> back), board paced at real time (--speed 1), as on hardware
  telemetry                      records per second stored into SQLite by the bridge while the board
                                 runs at full speed with a record every 100 ms (10 Hz), and the count of
                                 records lost or duplicated (must be 0)
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hipec.bridge import BoardLink
from hipec.emulator.mcu import EmulatedMCU
from hipec.runner import PULL_MAX
from hipec.store import Store


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def round_trips(requests: int) -> dict[str, dict[str, float]]:
    mcu = EmulatedMCU(speed=1.0)
    mcu.start()
    result: dict[str, dict[str, float]] = {}
    try:
        with BoardLink(mcu.device) as link:
            link.request("hello")
            payload = {"values": list(range(20)), "text": "round trip", "temp_c": 43.05}
            for name, args in (("status", {}), ("echo", payload)):
                times = []
                for _ in range(requests):
                    start = time.perf_counter()
                    link.request(name, args)
                    times.append((time.perf_counter() - start) * 1000.0)
                result[f"{name}_rtt_ms"] = {"median": round(statistics.median(times), 2),
                                            "p99": round(percentile(times, 0.99), 2), "n": requests}
    finally:
        mcu.stop()
    return result


def sustained_telemetry(virtual_s: float) -> dict[str, float]:
    mcu = EmulatedMCU(speed=None, host_sync=True)
    mcu.start()
    try:
        with tempfile.TemporaryDirectory() as tmp, BoardLink(mcu.device) as link:
            link.request("set_config", {"telemetry_period_ms": 100})
            store = Store(Path(tmp) / "bench.sqlite")
            session_id = store.new_session("emulated", "bench", {})
            since = link.request("status")["telemetry_next"]
            first = since
            start = time.perf_counter()
            while since - first < virtual_s * 10:
                reply = link.request("telemetry_pull", {"since": since, "max": PULL_MAX})
                records = reply["records"]
                store.add_telemetry(session_id, records)
                if records:
                    since = records[-1][0] + 1
            wall = time.perf_counter() - start
            seqs = [r["seq"] for r in store.telemetry(session_id)]
            expected = list(range(first, since))
            return {
                "records": len(seqs),
                "records_per_s": round(len(seqs) / wall, 1),
                "lost": len(set(expected) - set(seqs)),
                "duplicated": len(seqs) - len(set(seqs)),
                "virtual_s": virtual_s,
                "wall_s": round(wall, 2),
            }
    finally:
        mcu.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--virtual-s", type=float, default=600.0)
    args = parser.parse_args()
    figures: dict[str, object] = {}
    figures.update(round_trips(args.requests))
    figures["telemetry"] = sustained_telemetry(args.virtual_s)
    json.dump(figures, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
