"""All-pairs fault matrix: two faults at once, on the emulated MCU with the bridge connected, in HEATING
and TREATMENT, checked against what docs/hazards.md promises.

The first fault is a latent one: a probe reading off by a fixed offset, of either sign and of sizes
inside and outside every tolerance the supervisor has (0.3 degC: inside all; 0.7: beyond the two inflow
probes' 0.5 degC disagreement and the 0.5 degC alarm band; 1.4: just inside the heat balance's 1.5 degC;
3.0: beyond all), on each probe the heater's safety rests on (the inflow and the redundant inflow, the
reservoir, the heat-exchanger outlet); or one of the active faults. SECOND_AFTER_S later comes an active
fault of the heater, pump, line, link or a reset, from the single-fault matrix (bench/fault_matrix.py).
Every pair of a latent and an active fault runs, and every pair of two active ones.

A pair passes when:
  - no fluid reaching the patient (the inflow while the bypass is closed, the cavity) reaches 45.0 degC;
  - the board made the circuit safe for the second fault: its own alarm (or reset) within its window,
    with the reactions it asks for (the single-fault matrix's detection times hold for one fault; a
    latent fault may slow the second's detection, and the table gives by how much); or a
    high-priority alarm raised after the first fault had already switched the heater off and kept it off;
  - the record holds every telemetry record and every board event of each boot with no gap.

Usage: python bench/fault_pairs.py [--phases HEATING,TREATMENT] [--workers W] [--only FIRST+SECOND,...]
[--markdown FILE]. make fault-pairs writes docs/fault-matrix-pairs.md; tests/e2e/test_fault_pairs.py
runs a sample of it.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fault_matrix  # noqa: E402
from fault_matrix import Case, CaseRun, Result  # noqa: E402
from workers import run_all  # noqa: E402
from hipec.tables import protocol  # noqa: E402

PHASES = ("HEATING", "TREATMENT")
# The latent fault's probes and offsets (degC); see the docstring for what each size is beyond.
PROBES = tuple(protocol.PROBE_NAMES[i] for i in (protocol.INFLOW, protocol.INFLOW_2, protocol.RESERVOIR,
                                                  protocol.HEATER_OUTLET))
OFFSETS_C = (-3.0, -1.4, -0.7, -0.3, 0.3, 0.7, 1.4, 3.0)
# The active faults, as the single-fault matrix defines and judges them (the circuit is the second fault's:
# heater_stuck_on_sensed has the heater current transducer, and meets every latent offset with it).
ACTIVE = ("heater_stuck_on", "heater_stuck_on_sensed", "heater_dead", "pump_stall", "air_in_line", "link_unplug_90s",
          "power_loss", "loop_hang")
# Board seconds between the first fault and the second.
SECOND_AFTER_S = 30.0
# Problems of the second fault's detection and reaction that a heater already held off by the first
# fault's alarm makes moot (a heater switch stuck on behind an open relay heats nothing).
MOOT_AFTER_FIRST = ("not raised", "detected after", "no reset", "heater not off within", "pump still running",
                    "bypass not opened")


@dataclass(frozen=True)
class Pair:
    first: Case
    second: Case

    @property
    def name(self) -> str:
        return f"{self.first.name}+{self.second.name}"


def _offset_case(probe: str, offset_c: float) -> Case:
    return Case(f"{probe}_{offset_c:+.1f}", "probe_drift", None, None, 0.0, probe=probe, values={"offset_c": offset_c})


def pairs() -> list[Pair]:
    active = [c for c in fault_matrix.CASES if c.name in ACTIVE]
    latent = [_offset_case(p, o) for p in PROBES for o in OFFSETS_C]
    result = [Pair(first, second) for first in latent for second in active]
    result += [Pair(a, b) for i, a in enumerate(active) for b in active[i + 1:]]
    return result


class PairRun(CaseRun):
    """A single-fault run whose window starts at the second fault, with the first injected before it."""

    def __init__(self, pair: Pair, phase: str, folder: Path):
        # The second fault is judged, its detection allowed its whole window (see the module docstring).
        super().__init__(replace(pair.second, detect_s=pair.second.window_s), phase, folder)
        self.pair = pair
        self.first_ms: int | None = None

    def inject(self) -> None:
        first, second = self.pair.first, self.pair.second
        # From the instant the first fault took effect (CaseRun.inject).
        self.first_ms = self.mcu.inject(first.kind, probe=first.probe, **first.values)
        self.inject_ms = self.first_ms + int(SECOND_AFTER_S * 1000)
        if first.replug_after_s is not None:
            self.mcu.schedule(self.first_ms + int(first.replug_after_s * 1000), "link_replug")
        self.mcu.schedule(self.inject_ms, second.kind, probe=second.probe, **second.values)
        if second.replug_after_s is not None:
            self.mcu.schedule(self.inject_ms + int(second.replug_after_s * 1000), "link_replug")

    def check(self, result: Result, session_id: int) -> None:
        super().check(result, session_id)
        held_by = self._held_off_by_first(session_id)
        harmless_because = dict(self.pair.second.harmless_after).get(self.pair.first.kind)
        if held_by is not None:
            result.detected = f"{held_by} (first fault)"
        elif harmless_because is not None:
            result.detected = f"none needed ({harmless_because})"
        else:
            held_by = self._held_off_before_due(session_id)
            if held_by is None:
                return
            result.detected = f"{held_by} (before the second was due)"
        result.problems = [p for p in result.problems if not any(m in p for m in MOOT_AFTER_FIRST)]
        result.ok = not result.problems

    def _held_off_by_first(self, session_id: int) -> str | None:
        """The high alarm that switched the heater off after the first fault and before the second, if
        the heater stayed off from then to the end of the window."""
        assert self.first_ms is not None and self.inject_ms is not None
        end_ms = self.inject_ms + int(self.case.window_s * 1000)
        for _at, kind, d in self.store.events(session_id):
            if kind == "alarm" and d["state"] == "raised" and d["priority"] == "high" \
                    and self.first_ms <= d["t_ms"] <= self.inject_ms:
                off_from = int(d["t_ms"]) + fault_matrix.TICK_MS
                if not any(self.mcu.heating_at(t) for t in range(off_from, end_ms, 500)):
                    return str(d["alarm"])
        return None


    def _held_off_before_due(self, session_id: int) -> str | None:
        """What held the heater off from before the second fault's own detection was due to the end of the
        window, if something did: a high alarm the first fault raised later than the second's injection
        (a heater dead is found by the heat balance after a minute and more), or the board at rest after
        a reset the first fault caused, where no session runs for a second alarm to protect."""
        assert self.inject_ms is not None
        due_ms = self.inject_ms + int(self.pair.second.allowed_s(self.phase) * 1000)
        end_ms = self.inject_ms + int(self.case.window_s * 1000)
        if any(self.mcu.heating_at(t) for t in range(due_ms, end_ms, 500)):
            return None
        for at, cause in self.mcu.resets[1:]:
            if at <= due_ms:
                return f"reset ({cause}), board at rest"
        for _at, kind, d in self.store.events(session_id):
            if kind == "alarm" and d["state"] == "raised" and d["priority"] == "high" \
                    and d["t_ms"] <= due_ms and d["alarm"] != self.pair.second.alarm:
                return str(d["alarm"])
        return None


def run_pair(job: tuple[Pair, str]) -> dict[str, Any]:
    pair, phase = job
    with tempfile.TemporaryDirectory() as folder:
        r = PairRun(pair, phase, Path(folder)).run()
    return {"pair": pair.name, "first": pair.first.name, "second": pair.second.name, "phase": phase, "ok": r.ok, "detected": r.detected, "detect_s": r.detect_s,
            "max_fluid_c": r.max_fluid_c, "max_circuit_c": r.max_circuit_c, "records": r.records,
            "problems": r.problems}


def _failed(job: tuple[Pair, str], why: str) -> dict[str, Any]:
    pair, phase = job
    return {"pair": pair.name, "first": pair.first.name, "second": pair.second.name, "phase": phase, "ok": False, "detected": "-", "detect_s": None,
            "max_fluid_c": 0.0, "max_circuit_c": 0.0, "records": 0, "problems": [f"the run failed: {why}"]}


def markdown(results: list[dict[str, Any]]) -> str:
    lines = ["| first fault | second fault | phase | made safe by | detection (s) | max to patient (°C) | "
             "max in circuit (°C) | records | result |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        first, second = r["first"], r["second"]
        det = "-" if r["detect_s"] is None else f"{r['detect_s']:.1f}"
        verdict = "pass" if r["ok"] else "FAIL: " + "; ".join(r["problems"])
        lines.append(f"| {first} | {second} | {r['phase']} | {r['detected']} | {det} | {r['max_fluid_c']:.2f} | "
                     f"{r['max_circuit_c']:.2f} | {r['records']} | {verdict} |")
    return "\n".join(lines)


def document(results: list[dict[str, Any]], seconds: float, workers: int) -> str:
    passed = sum(r["ok"] for r in results)
    hottest = max(results, key=lambda r: r["max_fluid_c"])
    return f"""# Fault matrix: pairs of faults

Two faults at once on the emulated MCU, with the bridge connected and recording. Written by `make
fault-pairs` (`bench/fault_pairs.py`, {workers} workers) on {time.strftime("%Y-%m-%d")}: {passed} of
{len(results)} pairs passed, in {seconds / 60:.0f} min of wall time. The hottest fluid to reach the
patient in any pair was {hottest['max_fluid_c']:.2f} °C ({hottest['pair']}, {hottest['phase']}).
tests/e2e/test_fault_pairs.py runs a sample in `make test`.

The first fault is latent (a probe offset, named probe_offset in °C) or active; the second, active,
follows {SECOND_AFTER_S:.0f} s of board time later and is judged as the single-fault matrix judges it
(docs/fault-matrix.md): detection time from the second fault. "made safe by" names the alarm or reset
that answered the second fault, or the high alarm that had already switched the heater off after the
first (the second then finds the heater held off). "max to patient" is the hottest fluid that reached
the patient during the whole run; "max in circuit" the hottest anywhere, the heat exchanger included.
What each size of offset is beyond is in the module's docstring; the hazards are in docs/hazards.md.

{markdown(results)}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--only", help="comma-separated FIRST+SECOND pair names (default: every pair)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=900.0, help="wall seconds one pair may take")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    chosen = pairs()
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {p.name for p in chosen}
        if unknown:
            parser.error(f"no such pair: {', '.join(sorted(unknown))}")
        chosen = [p for p in chosen if p.name in wanted]
    jobs = [(pair, phase) for phase in args.phases.split(",") for pair in chosen]
    order = {(pair.name, phase): i for i, (pair, phase) in enumerate(jobs)}

    def report(r: dict[str, Any]) -> None:
        print(f"{'pass' if r['ok'] else 'FAIL'}  {r['pair']:<40} {r['phase']:<10} {r['detected']:<40} "
              f"detect {r['detect_s']}  patient {r['max_fluid_c']:.2f}  circuit {r['max_circuit_c']:.2f} degC"
              + ("" if r["ok"] else "  " + "; ".join(r["problems"])), flush=True)

    started = time.monotonic()
    results = run_all(jobs, run_pair, args.workers, args.timeout, _failed, report)
    results.sort(key=lambda r: order[(r["pair"], r["phase"])])
    seconds = time.monotonic() - started
    passed = sum(r["ok"] for r in results)
    print(f"{passed} passed, {len(results) - passed} failed ({seconds:.0f} s)")
    if args.markdown:
        args.markdown.write_text(document(results, seconds, args.workers))
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
