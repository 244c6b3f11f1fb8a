"""The real boards' pin maps: one chip-select per probe, the safety channel on a bus of its own, and no
pin used twice (a rewiring that forgets one pin shorts two signals)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hipec import REPO_ROOT
from hipec.tables import PROBE_NAMES

SAFETY_PROBES = ("inflow_2", "heater_outlet")


def pins(board: str) -> dict[str, object]:
    tree = ast.parse((REPO_ROOT / "boards" / board / "board.py").read_text())
    (cls,) = [c for c in tree.body if isinstance(c, ast.ClassDef) and c.name == "Pins"]
    return {t.id: ast.literal_eval(node.value) for node in cls.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


@pytest.mark.parametrize("board", ["rp2040", "esp32"])
def test_every_probe_has_a_chip_select_and_the_safety_channel_its_own_bus(board: str) -> None:
    p = pins(board)
    assert len(p["RTD_CS"]) + len(p["SAFETY_RTD_CS"]) == len(PROBE_NAMES)  # type: ignore[arg-type]
    assert PROBE_NAMES[len(p["RTD_CS"]):] == SAFETY_PROBES  # type: ignore[arg-type]
    assert p["SAFETY_SPI_ID"] != p["SPI_ID"]


@pytest.mark.parametrize("board", ["rp2040", "esp32"])
def test_no_pin_is_used_twice(board: str) -> None:
    p = pins(board)
    used: list[int] = []
    for name, value in p.items():
        if name.endswith("_ID") or not isinstance(value, (int, tuple)) or isinstance(value, bool):
            continue
        if name.startswith(("PRESSURE_MV", "PRESSURE_FULL", "MAINS")) or name.endswith("_OHM"):
            continue
        used += list(value) if isinstance(value, tuple) else [value]
    assert len(used) == len(set(used)), sorted(n for n in used if used.count(n) > 1)
