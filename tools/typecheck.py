"""Type-check the project: the host package strictly, the firmware against each board's MicroPython stubs.

Usage: python tools/typecheck.py [host|rp2|esp32 ...]  (default: all). Exit status is mypy's worst.
The MicroPython stubs are installed by `make` into .venv/stubs/<board>; they replace the standard
library's stubs (mypy's custom typeshed), so a call MicroPython does not have fails here.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUBS = ROOT / ".venv" / "stubs"
BOARD_STUBS = ("rp2", "esp32")
# The board package each stub set checks, besides the firmware itself.
BOARD_DIRS = {"rp2": "rp2040", "esp32": "esp32"}


def check_host() -> int:
    return subprocess.call([sys.executable, "-m", "mypy", "--strict", str(ROOT / "host" / "hipec")])


def check_firmware(stubs: str) -> int:
    stub_dir = STUBS / stubs
    if not stub_dir.is_dir():
        print(f"missing {stub_dir}: run make", file=sys.stderr)
        return 2
    # The stub packages themselves trip a few of mypy's own checks; those modules are not ours (our
    # calls into them are still checked against their signatures).
    config = f"""[mypy]
python_version = 3.11
no_site_packages = True
check_untyped_defs = True
mypy_path = {stub_dir}:{ROOT / "boards" / BOARD_DIRS[stubs]}:{ROOT / "boards" / "common"}
cache_dir = {ROOT / ".mypy_cache" / stubs}
[mypy-_mpy_shed.*,math,machine,vfs,rp2,rp2.*]
ignore_errors = True
"""
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
        f.write(config)
    board = ROOT / "boards" / BOARD_DIRS[stubs]
    return subprocess.call([sys.executable, "-m", "mypy", "--config-file", f.name,
                            "--custom-typeshed-dir", str(stub_dir), "main.py", "controller",
                            str(board / "board.py"), str(ROOT / "boards" / "common")],
                           cwd=ROOT / "firmware")


def main(targets: list[str]) -> int:
    worst = 0
    for target in targets or ["host", *BOARD_STUBS]:
        print(f"== {target}", flush=True)
        worst = max(worst, check_host() if target == "host" else check_firmware(target))
    return worst


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
