"""A sample of the all-pairs fault matrix (bench/fault_pairs.py; `make fault-pairs` runs every pair and
writes docs/fault-matrix-pairs.md): the pair that first showed the need for a redundant channel, the
safety channel's own probe reading low under a stuck heater (without and with the heater current
transducer), offsets inside every tolerance at heat-up and with a stalled pump.
"""
from __future__ import annotations

import sys

import pytest

from hipec import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
import fault_matrix  # noqa: E402
import fault_pairs  # noqa: E402

SAMPLE = (
    ("inflow_-1.4+heater_stuck_on", "TREATMENT"),
    ("heater_outlet_-3.0+heater_stuck_on", "TREATMENT"),
    ("heater_outlet_-3.0+heater_stuck_on_sensed", "TREATMENT"),
    ("reservoir_+0.3+heater_stuck_on", "HEATING"),
    ("inflow_-0.3+pump_stall", "TREATMENT"),
)
PAIRS = {p.name: p for p in fault_pairs.pairs()}


@pytest.mark.parametrize("name,phase", SAMPLE, ids=[f"{n}-{p}" for n, p in SAMPLE])
def test_a_pair_of_faults_keeps_the_patient_below_the_limit_and_the_record_whole(name: str, phase: str) -> None:
    result = fault_pairs.run_pair((PAIRS[name], phase))
    assert result["ok"], "; ".join(result["problems"])
    assert result["max_fluid_c"] < fault_matrix.ABSOLUTE_LIMIT_C
    assert result["detected"] != "-"


def test_every_latent_offset_meets_every_active_fault() -> None:
    names = set(PAIRS)
    for probe in fault_pairs.PROBES:
        for offset in fault_pairs.OFFSETS_C:
            for active in fault_pairs.ACTIVE:
                assert f"{probe}_{offset:+.1f}+{active}" in names
    assert any(o < 0 for o in fault_pairs.OFFSETS_C) and any(o > 0 for o in fault_pairs.OFFSETS_C)
    assert len(names) == len(fault_pairs.PROBES) * len(fault_pairs.OFFSETS_C) * len(fault_pairs.ACTIVE) + (
        len(fault_pairs.ACTIVE) * (len(fault_pairs.ACTIVE) - 1) // 2)
