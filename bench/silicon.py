"""The firmware on emulated RP2040 silicon, measured in cycles: a whole session through the real bridge
(SessionRunner over pyserial and the pseudo-terminal) against `SiliconMCU` (MicroPython's rp2 image in
rp2040js, boards/rp2040, the plant behind its pins), judged on the plant's truth.

Usage: python bench/silicon.py [--minutes M | --window-s S] [--json] [--profile-s S] [--plant FILE]
                               [--firmware-dir DIR]
       hipec bench silicon [...]
Figures (cycles at 125 MHz: the firmware's microseconds on the chip's clock x 125; rp2040js counts the
Cortex-M0+'s instruction cycles, so they are the same on every machine):

  boot_ms                        power-on to the controller's start (its clock's zero, from hello)
  tick_cycles, tick_gc_cycles    the control tick alone and with its collection: median, p99 (upper edges
                                 of the firmware's histogram buckets), max
  gc_pause_cycles_max            the longest collection
  alloc_bytes_per_tick_max       on the ticks whose heap the firmware accounted (one in 128 on the chip)
  heap                           the heap's size; free after boot; its high-water mark (the peak before an
                                 accounted collection) at 10 min and at the end, and as % of the heap
  overruns                       ticks that started late
  worst_reply                    the link's longest reply on the chip's clock (request type, ms)
  session                        outcome, treatment time, records stored and whether every one is there
                                 once, the true inflow's error in TREATMENT and the time in band
  profile                        with --profile-s: busy share of the chip and the functions the busy
                                 cycles were spent in (10 us samples), from 1 min into TREATMENT
--window-s S measures S chip seconds from the session's start (priming and heating) instead of a whole
session, profiling the same window with --profile-s; --firmware-dir builds the firmware from another
tree (before/after figures of an optimisation).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hipec import REPO_ROOT
from hipec.bridge import BoardLink
from hipec.runner import Progress, SessionRunner
from hipec.silicon.launcher import SiliconMCU
from hipec.store import Store

sys.path.insert(0, str(REPO_ROOT / "bench"))
from control import BAND_C, PHASES, controlled_truth, load  # noqa: E402
from silicon_build import firmware_files  # noqa: E402

CYCLES_PER_US = 125  # the RP2040 at MicroPython's 125 MHz
# The rp2 image's heap (micropython.mem_info() on the emulated chip: "GC: total: 245888").
HEAP_BYTES = 245_888
PROFILE_AFTER_TREATMENT_MS = 60_000
# Wall seconds the bridge waits for a reply: the emulation runs several times slower than the chip while
# it is busy (more on a loaded machine), and BoardLink's 1 s is meant for a real board.
REPLY_TIMEOUT_S = 20.0
# The run takes well over ten minutes of wall time: a line on stderr at each phase and each chip minute
# says it is moving (stdout keeps the figures alone).
HEARTBEAT_CHIP_S = 60.0


class Heartbeat:
    """The progress lines: the chip's time, the phase, the wall time so far."""

    def __init__(self, write: Any = None) -> None:
        self.write = write if write is not None else lambda line: print(line, file=sys.stderr, flush=True)
        self.phase = ""
        self.next_ms = 0

    def __call__(self, chip_ms: int, phase: str, wall_s: float) -> None:
        if phase == self.phase and chip_ms < self.next_ms:
            return
        self.phase = phase
        self.next_ms = (chip_ms // int(HEARTBEAT_CHIP_S * 1000) + 1) * int(HEARTBEAT_CHIP_S * 1000)
        self.write(f"silicon: chip {chip_ms // 60000}:{chip_ms // 1000 % 60:02d} {phase}, {wall_s:.0f} s of wall time")


def cycles(us: int) -> int:
    return int(us) * CYCLES_PER_US


def run(minutes: float, plant: Path | None, profile_s: float, firmware_dir: Path | None,
        window_s: float | None = None) -> dict[str, Any]:
    params, plan = load(plant)
    plan = dataclasses.replace(plan, duration_min=minutes)
    files = firmware_files(firmware_dir) if firmware_dir is not None else None
    mcu = SiliconMCU(params=params, host_sync=True, files=files)
    started = time.perf_counter()
    mcu.start()
    statuses: dict[str, dict[str, Any]] = {}
    profile: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as folder, BoardLink(mcu.device, reply_timeout_s=REPLY_TIMEOUT_S) as link:
            store = Store(Path(folder) / "silicon.sqlite")
            hello = link.request("hello")
            boot_ms = _boot_ms(mcu, hello)
            statuses["boot"] = link.request("diagnostics")  # the first tick's heap is accounted
            treatment_ms: list[int] = []
            window = {"on": False, "until": 0}
            runner: SessionRunner | None = None
            if window_s is not None:  # the window starts with the session, profiled from there
                treatment_ms.append(mcu.now_ms - PROFILE_AFTER_TREATMENT_MS)
                stop_at = mcu.now_ms + int(window_s * 1000)

            heartbeat = Heartbeat()

            def watch(p: Progress) -> None:
                now = mcu.now_ms
                heartbeat(now, p.phase, time.perf_counter() - started)
                if "10min" not in statuses and now >= 600_000:
                    statuses["10min"] = link.request("diagnostics")
                if window_s is not None and now >= stop_at and runner is not None:
                    runner.stop()
                if p.phase == "TREATMENT" and not treatment_ms:
                    treatment_ms.append(now)
                if profile_s and treatment_ms and not window["on"] and not profile \
                        and now >= treatment_ms[0] + PROFILE_AFTER_TREATMENT_MS:
                    mcu.profile_start()
                    window.update(on=True, until=now + int(profile_s * 1000))
                if window["on"] and now >= window["until"]:
                    window["on"] = False
                    profile.update(mcu.profile_stop())

            runner = SessionRunner(link, store, plan, watch)
            outcome = runner.run()
            statuses["end"] = link.request("diagnostics")
            records = store.telemetry(outcome.session_id)
    finally:
        mcu.stop()
    return figures(mcu, plan, outcome, records, statuses, profile, boot_ms, time.perf_counter() - started)


def _boot_ms(mcu: SiliconMCU, hello: dict[str, Any]) -> float | None:
    """Power-on to the controller's start: the chip time hello was answered at, less its uptime."""
    answered = [at_ns for kind, _took, at_ns in mcu.replies.reply_ns if kind == "hello"]
    return round(answered[0] / 1e6 - hello["uptime_ms"], 1) if answered else None


def figures(mcu: SiliconMCU, plan: Any, outcome: Any, records: list[dict[str, int]],
            statuses: dict[str, dict[str, Any]], profile: dict[str, Any], boot_ms: float | None,
            wall_s: float) -> dict[str, Any]:
    end = statuses["end"]
    perf = end["perf"]
    seqs = [r["seq"] for r in records]
    phase_of = {r["t_ms"] // 1000: PHASES[r["phase"]] for r in records}
    errors = [abs(controlled_truth(s.temps_c, plan) - plan.target_temp_c) for s in mcu.truth
              if phase_of.get(s.t_ms // 1000) == "TREATMENT"]
    peak_10 = statuses.get("10min", {}).get("heap_peak_bytes")
    worst = mcu.replies.worst()
    result: dict[str, Any] = {
        "boot_ms": boot_ms,
        "tick_cycles": {"median": cycles(perf["tick_us_median"]), "p99": cycles(perf["tick_us_p99"]),
                        "max": cycles(perf["tick_us_max"])},
        "tick_gc_cycles": {"median": cycles(perf["tick_gc_us_median"]), "p99": cycles(perf["tick_gc_us_p99"])},
        "tick_gc_p99_pct_of_period": round(perf["tick_gc_us_p99"] / 1000.0, 1),
        "gc_pause_cycles_max": cycles(perf["gc_us_max"]),
        "alloc_bytes_per_tick_max": perf["alloc_bytes_per_tick_max"],
        "heap_sample_ticks": perf.get("heap_sample_ticks"),
        "ticks": perf["ticks"],
        "overruns": end["overruns"],
        "heap": {"bytes": HEAP_BYTES, "free_after_boot": HEAP_BYTES - statuses["boot"]["heap_live_bytes"],
                 "high_water_10min": peak_10, "high_water_end": end["heap_peak_bytes"],
                 "high_water_pct": round(100.0 * end["heap_peak_bytes"] / HEAP_BYTES, 1)},
        "worst_reply": {"type": worst[0], "ms": round(worst[1] / 1e6, 2)} if worst else None,
        "session": {"outcome": outcome.phase, "fault": outcome.fault, "treatment_s": outcome.treatment_s,
                    "records": len(records), "every_record_once": seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else False,
                    "max_abs_error_c": round(max(errors), 4) if errors else None,
                    "time_in_band_pct": round(100.0 * sum(e <= BAND_C for e in errors) / len(errors), 2) if errors else None},
        "resets": mcu.resets,
        "chip_s": round(mcu.now_ms / 1000.0, 1),
        "wall_s": round(wall_s, 1),
    }
    if profile:
        busy, idle = profile["busy"], profile["idle"]
        result["profile"] = {"busy_pct": round(100.0 * busy / max(1, busy + idle), 1), "samples": busy,
                             "period_cycles": int(profile["periodNs"] * CYCLES_PER_US / 1000),
                             "functions": [[name, round(100.0 * n / busy, 2)] for name, n in profile["functions"][:25]]}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="treatment minutes of the session (default 10)")
    parser.add_argument("--plant", type=Path, help="plant file (bench/plants/*.toml)")
    parser.add_argument("--profile-s", type=float, default=0.0, help="chip seconds to profile in TREATMENT")
    parser.add_argument("--firmware-dir", type=Path, help="build the firmware from this tree (firmware/, boards/)")
    parser.add_argument("--window-s", type=float, help="chip seconds from the start of a session instead of a whole one")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = run(args.minutes, args.plant, args.profile_s, args.firmware_dir, args.window_s)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0 if result["session"]["outcome"] == "COMPLETE" or args.window_s else 1


if __name__ == "__main__":
    sys.exit(main())
