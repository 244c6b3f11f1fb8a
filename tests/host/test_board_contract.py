"""Every board implements boards/interface.py, and the firmware uses nothing on its board beyond it.

The boards are read with ast (the real ones import `machine`, which CPython has not), following a
subclass to its base as MicroPython would find it (the board's own folder, then boards/common). A
method whose body only raises NotImplementedError (McuBoard's part for each chip) does not count. The
tick arithmetic of the boards CPython can import, and of the emulated board under MicroPython, is
checked across the 2**30 wrap.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hipec import REPO_ROOT
from hipec.emulator.mcu import micropython_binary
from hipec.emulator.params import PlantParams
from hipec.emulator.plant import Plant

BOARDS = REPO_ROOT / "boards"
INTERFACE = BOARDS / "interface.py"
FIRMWARE = REPO_ROOT / "firmware"
# The names the firmware gives its board object; names assigned from one (`board = ctl.board`) and
# attributes called `board` (`self.board`, `ctl.board`) are followed too.
BOARD_NAMES = {"board", "hal"}
TICKS_PERIOD = 1 << 30


@dataclass
class Members:
    methods: dict[str, int] = field(default_factory=dict)  # name: positional parameters after self
    attributes: set[str] = field(default_factory=set)

    def names(self) -> set[str]:
        return set(self.methods) | self.attributes


def _is_stub(func: ast.FunctionDef) -> bool:
    body = [s for s in func.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    return (len(body) == 1 and isinstance(body[0], ast.Raise) and body[0].exc is not None
            and "NotImplementedError" in ast.unparse(body[0].exc))


def _positional(func: ast.FunctionDef) -> int:
    assert func.args.vararg is None, f"{func.name} takes *args: the contract fixes its parameters"
    return len(func.args.posonlyargs) + len(func.args.args) - 1


def _module_file(name: str, near: Path) -> Path:
    for folder in (near.parent, BOARDS / "common"):
        if (folder / f"{name}.py").exists():
            return folder / f"{name}.py"
    raise AssertionError(f"{near}: cannot find module {name}")


def members(path: Path, class_name: str, stubs_count: bool = False) -> Members:
    """The methods and class attributes of class_name in path, its bases' included."""
    tree = ast.parse(path.read_text())
    classes = {c.name: c for c in tree.body if isinstance(c, ast.ClassDef)}
    imported = {alias.asname or alias.name: node.module for node in tree.body
                if isinstance(node, ast.ImportFrom) and node.module for alias in node.names}
    cls = classes[class_name]
    found = Members()
    for base in cls.bases:
        assert isinstance(base, ast.Name), f"{path}: {class_name} has a base ast cannot follow"
        base_file = path if base.id in classes else _module_file(imported[base.id], path)
        inherited = members(base_file, base.id, stubs_count)
        found.methods.update(inherited.methods)
        found.attributes |= inherited.attributes
    for node in cls.body:
        if isinstance(node, ast.FunctionDef):
            if stubs_count or not _is_stub(node):
                found.methods[node.name] = _positional(node)
        elif isinstance(node, ast.Assign):
            found.attributes |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found.attributes.add(node.target.id)
    return found


CONTRACT = members(INTERFACE, "BoardInterface", stubs_count=True)


def _board_uses(path: Path) -> set[str]:
    """Every attribute path's code takes from its board object."""
    tree = ast.parse(path.read_text())
    modules = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names}
    names = BOARD_NAMES - modules  # main.py imports the module `board`; its object is `hal`

    def is_board(node: ast.expr) -> bool:
        return (isinstance(node, ast.Name) and node.id in names) or (
            isinstance(node, ast.Attribute) and node.attr == "board")

    grew = True
    while grew:  # aliases of aliases
        before = len(names)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and is_board(node.value):
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        grew = len(names) > before
    return {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and is_board(node.value) and node.attr != "board"}


MAIN_USES = _board_uses(FIRMWARE / "main.py")
CONTROLLER_USES = set().union(*(_board_uses(p) for p in sorted((FIRMWARE / "controller").glob("*.py"))))
# What only main.py calls: a board handed straight to the controller (tests, benches) may leave it out.
BOOT_ONLY = MAIN_USES - CONTROLLER_USES

# (name, file, class, booted by main.py)
IMPLEMENTATIONS = [
    ("emulated", BOARDS / "emulated" / "board.py", "Board", True),
    ("rp2040", BOARDS / "rp2040" / "board.py", "Board", True),
    ("esp32", BOARDS / "esp32" / "board.py", "Board", True),
    ("fakeboard", REPO_ROOT / "tests" / "firmware" / "fakeboard.py", "FakeBoard", False),
    ("inprocess", REPO_ROOT / "bench" / "inprocess.py", "PlantBoard", False),
]


def test_the_interface_is_exactly_what_the_firmware_uses_on_its_board() -> None:
    assert len(CONTROLLER_USES) > 20 and {"maintenance_boot", "enter_repl"} <= MAIN_USES
    used = MAIN_USES | CONTROLLER_USES
    assert used - CONTRACT.names() == set(), "the firmware uses these on its board: add them to boards/interface.py"
    assert CONTRACT.names() - used == set(), "boards/interface.py lists these, which the firmware no longer uses"


@pytest.mark.parametrize("name,path,class_name,booted", IMPLEMENTATIONS, ids=[i[0] for i in IMPLEMENTATIONS])
def test_board_implements_the_interface(name: str, path: Path, class_name: str, booted: bool) -> None:
    board = members(path, class_name)
    required = CONTRACT.names() if booted else CONTRACT.names() - BOOT_ONLY
    missing = sorted(required - board.names())
    assert missing == [], f"{path.relative_to(REPO_ROOT)} {class_name} lacks {missing}"
    wrong = {m: (board.methods[m], n) for m, n in CONTRACT.methods.items()
             if m in board.methods and board.methods[m] != n}
    assert wrong == {}, f"{class_name}: positional parameters (has, contract): {wrong}"
    assert CONTRACT.attributes <= board.attributes, "the contract's attributes are class attributes"


def _importable_boards() -> list[object]:
    for folder in (FIRMWARE, REPO_ROOT / "tests" / "firmware", REPO_ROOT / "bench"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    from fakeboard import FakeBoard
    from inprocess import PlantBoard
    return [FakeBoard(), PlantBoard(Plant(PlantParams()))]


# (ticks, delta) pairs around the wrap and across half the period.
WRAP_CASES = [(TICKS_PERIOD - 1, 1), (TICKS_PERIOD - 30, 100), (20, -50), (0, -1), (12345, TICKS_PERIOD // 2 - 1),
              (TICKS_PERIOD - 5, 1 - TICKS_PERIOD // 2), (1000, 100)]


@pytest.mark.parametrize("index", [0, 1], ids=["fakeboard", "inprocess"])
def test_ticks_wrap_at_2_to_the_30(index: int) -> None:
    board = _importable_boards()[index]
    for ticks, delta in WRAP_CASES:
        later = board.ticks_add(ticks, delta)  # type: ignore[attr-defined]
        assert later == (ticks + delta) % TICKS_PERIOD, (ticks, delta)
        assert board.ticks_diff(later, ticks) == delta, (ticks, delta)  # type: ignore[attr-defined]
        assert board.ticks_diff(ticks, later) == -delta, (ticks, delta)  # type: ignore[attr-defined]


def test_emulated_board_ticks_wrap_and_the_interface_loads_under_micropython() -> None:
    # The emulated board's constructor needs its launcher; its tick methods do not use self.
    script = (
        f"import sys\nsys.path[:0] = [{str(BOARDS)!r}, {str(BOARDS / 'emulated')!r}, {str(FIRMWARE)!r}]\n"
        "import interface, board\n"
        "b = board.Board\n"
        f"for t, d in {WRAP_CASES!r}:\n"
        f"    later = b.ticks_add(None, t, d)\n"
        f"    assert later == (t + d) % {TICKS_PERIOD}, (t, d)\n"
        "    assert b.ticks_diff(None, later, t) == d and b.ticks_diff(None, t, later) == -d, (t, d)\n"
        "print('ok', len([n for n in dir(interface.BoardInterface) if not n.startswith('_')]))\n")
    result = subprocess.run([micropython_binary(), "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == ["ok", str(len(CONTRACT.names()))]
