"""The heater, its safety relay, the pump and the bypass valve are written by one function,
interlock.drive (firmware/controller/interlock.py), which applies the active alarms' reactions to what
control asked for. firmware/main.py's crash path, which runs when the controller itself has failed,
is the one other place the heater is switched off. Read as syntax, so a new writer anywhere in the
firmware makes this test fail."""
from __future__ import annotations

import ast

from hipec import REPO_ROOT

OUTPUTS = ("heater_set", "heater_enable", "pump_set", "bypass_set")
FIRMWARE = REPO_ROOT / "firmware"


def output_writes() -> dict[str, list[str]]:
    """For each firmware file: the output calls it makes, as 'function: method' ('<module>' outside any)."""
    found: dict[str, list[str]] = {}
    for path in sorted(FIRMWARE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        owner: dict[int, str] = {}
        for func in ast.walk(tree):
            if isinstance(func, ast.FunctionDef):
                for node in ast.walk(func):
                    owner[id(node)] = func.name  # inner functions come later in the walk: innermost wins
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in OUTPUTS:
                where = owner.get(id(node), "<module>")
                found.setdefault(str(path.relative_to(FIRMWARE)), []).append(f"{where}: {node.func.attr}")
    return found


def test_only_the_interlock_writes_the_outputs() -> None:
    writes = output_writes()
    assert sorted(set(writes["controller/interlock.py"])) == [f"drive: {m}" for m in sorted(OUTPUTS)]
    assert set(writes["main.py"]) == {"<module>: heater_set", "<module>: heater_enable"}  # the crash path
    assert set(writes) == {"controller/interlock.py", "main.py"}, writes
