"""The fault matrix (bench/fault_matrix.py) in the TREATMENT phase: every injectable fault, with the
bridge connected. `make fault-matrix` runs all four phases and writes docs/fault-matrix.md.

The test ids are the ones docs/hazards.md cites: test_fault_in_treatment[<case>].
"""
from __future__ import annotations

import sys

import pytest

from hipec import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
import fault_matrix  # noqa: E402


@pytest.mark.parametrize("case", fault_matrix.CASES, ids=[c.name for c in fault_matrix.CASES])
def test_fault_in_treatment(case: fault_matrix.Case) -> None:
    result = fault_matrix.run_case(case, "TREATMENT")
    assert result.ok, "; ".join(result.problems)
    assert result.max_fluid_c < fault_matrix.ABSOLUTE_LIMIT_C
    if case.alarm is not None or case.reset is not None:
        assert result.detect_s is not None and result.detect_s <= case.detect_s
