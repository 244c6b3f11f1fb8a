"""Static types: the host strictly, the firmware against the RP2040 and ESP32 MicroPython stubs."""
from __future__ import annotations

import subprocess
import sys

import pytest

from hipec import REPO_ROOT


@pytest.mark.parametrize("target", ["host", "rp2", "esp32"])
def test_types_check(target: str) -> None:
    result = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "typecheck.py"), target],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
