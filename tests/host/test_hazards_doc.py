"""docs/hazards.md cites only tests that exist, and every hazard row cites at least one."""
from __future__ import annotations

import re
import sys

from hipec import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "hazards.md").read_text()
sys.path.insert(0, str(REPO_ROOT / "bench"))
import fault_matrix  # noqa: E402


def defines(path: str, name: str) -> bool:
    return re.search(rf"^def {re.escape(name)}\(", (REPO_ROOT / path).read_text(), re.M) is not None


def test_every_cited_test_exists() -> None:
    cases = {c.name for c in fault_matrix.CASES}
    cited = 0
    for case in re.findall(r"FM:([a-z0-9_]+)", DOC):
        assert case in cases, f"FM:{case} is not a fault-matrix case"
        cited += 1
    for file, name in re.findall(r"FW:([a-z_]+\.py)::([a-z0-9_]+)", DOC):
        assert defines(f"tests/firmware/{file}", name), f"FW:{file}::{name} does not exist"
        cited += 1
    for path, name in re.findall(r"(tests/[a-z0-9_/]+\.py)::([a-z0-9_]+)", DOC):
        assert defines(path, name), f"{path}::{name} does not exist"
        cited += 1
    assert cited >= 30


def test_every_hazard_row_cites_a_test() -> None:
    rows = [line for line in DOC.splitlines() if re.match(r"^\| H\d+ \|", line)]
    assert [int(re.match(r"^\| H(\d+)", r).group(1)) for r in rows] == list(range(1, 24))  # type: ignore[union-attr]
    for row in rows:
        tests = row.rstrip("|").rsplit("|", 1)[1]
        assert re.search(r"FM:|FW:|tests/", tests), row[:60]


def test_every_fault_matrix_case_is_traced_to_a_hazard() -> None:
    for case in fault_matrix.CASES:
        assert f"FM:{case.name}" in DOC, f"{case.name} proves no hazard in docs/hazards.md"
