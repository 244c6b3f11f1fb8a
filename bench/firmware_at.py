"""The emulated board's firmware for a long benchmark, built once at its start: as the working tree has it,
or as a git revision holds it. A campaign of hours then measures one firmware throughout, whatever is
edited in the tree meanwhile, and says which (its build's name is the hash of what went into it).
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from hipec import REPO_ROOT, firmware_build

BOARD = "emulated"


def _git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, check=True).stdout


def build(revision: str | None = None) -> tuple[Path, str]:
    """(the build's directory, what it was built from: the working tree, or the revision's commit)."""
    if revision is None:
        return firmware_build.build(BOARD), "the working tree"
    try:
        commit = _git("rev-parse", "--verify", f"{revision}^{{commit}}").decode().strip()
    except subprocess.CalledProcessError:
        raise SystemExit(f"--firmware {revision}: not a revision of this repository") from None
    with tempfile.TemporaryDirectory(prefix="hipec-firmware-") as folder:
        root = Path(folder)
        wanted = [path.relative_to(REPO_ROOT) for path, _name in firmware_build.sources(BOARD)]
        listed = _git("ls-tree", "-r", "--name-only", commit, "firmware", f"boards/{BOARD}").decode().split()
        files = []
        for relative in sorted(set(listed)):
            if not relative.endswith(".py") or relative == "firmware/main.py":
                continue
            if Path(relative).parent not in {w.parent for w in wanted}:
                continue
            out = root / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(_git("show", f"{commit}:{relative}"))
            name = f"controller/{out.name}" if relative.startswith("firmware/controller/") else out.name
            files.append((out, name))
        main = root / "main.py"
        main.write_bytes(_git("show", f"{commit}:firmware/main.py"))
        return firmware_build.compile_modules(BOARD, files, [(main, "main.py")]), f"commit {commit[:12]}"
