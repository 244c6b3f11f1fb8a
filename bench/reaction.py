"""Reaction-time benchmark: for each fault, board time from injection to detection and from detection
to heater off, in the TREATMENT phase (or the phases given).

Usage: python bench/reaction.py [--phases TREATMENT,...]
Prints a table: detection time and heater-off time from injection, and heater off after detection
(0 when a dead-man or a power cut stopped the heater before detection). Targets (docs/hazards.md): heater off within one control tick (100 ms) of detection;
over-temperature detected within 0.5 s of a probe crossing the limit. Times come from the emulator's
log of the board's outputs, at control-tick resolution.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fault_matrix  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default="TREATMENT")
    args = parser.parse_args()
    print(f"{'fault':<26}{'phase':<11}{'detected as':<32}{'detection (s)':>14}{'heater off (s)':>15}"
          f"{'off after detection (ms)':>26}")
    worst_off = 0
    for phase in args.phases.split(","):
        for case in fault_matrix.CASES:
            r = fault_matrix.run_case(case, phase)
            det = "-" if r.detect_s is None else f"{r.detect_s:.1f}"
            off_s = "-" if r.heater_off_s is None else f"{r.heater_off_s:.1f}"
            off = "-" if r.heater_off_delay_ms is None else str(r.heater_off_delay_ms)
            if r.heater_off_delay_ms is not None:
                worst_off = max(worst_off, r.heater_off_delay_ms)
            print(f"{case.name:<26}{phase:<11}{r.detected:<32}{det:>14}{off_s:>15}{off:>26}", flush=True)
    print(f"worst heater-off delay after detection: {worst_off} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
