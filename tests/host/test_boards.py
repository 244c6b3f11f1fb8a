"""The real boards' packages: MicroPython compiles them (mpy-cross), and each implements every method
the firmware calls on the emulated board."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hipec import REPO_ROOT, firmware_build


def methods(path: Path, classes: tuple[str, ...]) -> set[str]:
    tree = ast.parse(path.read_text())
    return {f.name for c in tree.body if isinstance(c, ast.ClassDef) and c.name in classes
            for f in c.body if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")}


@pytest.mark.parametrize("board", ["rp2040", "esp32"])
def test_board_compiles_for_micropython_and_has_the_whole_interface(board: str) -> None:
    build = firmware_build.build(board)
    for name in ("board.mpy", "mcu_board.mpy", "max31865.mpy", "controller/app.mpy", "main.py"):
        assert (build / name).exists(), name
    emulated = methods(REPO_ROOT / "boards" / "emulated" / "board.py", ("Board",))
    real = methods(REPO_ROOT / "boards" / board / "board.py", ("Board",)) | methods(
        REPO_ROOT / "boards" / "common" / "mcu_board.py", ("McuBoard",))
    assert emulated - real == set()
