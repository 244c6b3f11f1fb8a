"""The rp2040 firmware build of another source tree (a checkout of an earlier commit), for before/after
figures of an optimisation: the same modules hipec.firmware_build compiles, from that tree's firmware/
and boards/ folders, as (file, path on the board) pairs for the emulated RP2040's filesystem."""
from __future__ import annotations

from pathlib import Path

from hipec import firmware_build


def firmware_files(tree: Path) -> list[tuple[Path, str]]:
    files = [(p, f"controller/{p.name}") for p in sorted((tree / "firmware" / "controller").glob("*.py"))]
    for board in ("rp2040", "common"):
        files += [(p, p.name) for p in sorted((tree / "boards" / board).glob("*.py"))]
    root = firmware_build.compile_modules(f"rp2040-{tree.name}", files, [(tree / "firmware" / "main.py", "main.py")])
    return sorted((p, p.relative_to(root).as_posix()) for p in root.rglob("*") if p.is_file())
