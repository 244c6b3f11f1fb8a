"""The Pico's pin map as boards/rp2040/board.py defines it (class Pins): read from that file's source,
since the module itself imports `machine` and `rp2` and runs only on the board. The harness wires its
emulated peripherals to these pins, so the board module and the harness cannot disagree."""
from __future__ import annotations

import ast
from pathlib import Path

from hipec import REPO_ROOT

BOARD_FILE = REPO_ROOT / "boards" / "rp2040" / "board.py"

PinValue = int | bool | tuple[int, ...]


def board_pins(path: Path = BOARD_FILE) -> dict[str, PinValue]:
    """Every constant of the board's Pins class: name -> int, bool or tuple of ints."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Pins":
            pins: dict[str, PinValue] = {}
            for item in node.body:
                if isinstance(item, ast.Assign) and len(item.targets) == 1 and isinstance(item.targets[0], ast.Name):
                    value = ast.literal_eval(item.value)
                    pins[item.targets[0].id] = value
            return pins
    raise ValueError(f"{path} defines no class Pins")


def pin(pins: dict[str, PinValue], name: str) -> int:
    value = pins[name]
    assert isinstance(value, int), f"Pins.{name} is not a pin number"
    return int(value)
