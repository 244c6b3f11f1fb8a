"""A short run of the link fuzzer (bench/fuzz_link.py) under MicroPython with the RP2040 heap cap.

`make fuzz` runs the long one (100,000 frames); its figures are in docs/benchmarks.md.
"""
from __future__ import annotations

import json
import os
import subprocess

from hipec import REPO_ROOT, firmware_build
from hipec.emulator.mcu import DEFAULT_HEAP_KIB, HARNESS_HEAP_KIB, micropython_binary


def test_fuzzed_frames_change_nothing_and_the_link_still_answers() -> None:
    result = subprocess.run(
        [micropython_binary(), "-X", f"heapsize={DEFAULT_HEAP_KIB + HARNESS_HEAP_KIB}K",
         str(REPO_ROOT / "bench" / "fuzz_link.py"),
         "5000", "7"], capture_output=True, text=True, timeout=300,
        env=dict(os.environ, HIPEC_FIRMWARE=str(firmware_build.build("emulated"))))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, "the firmware printed something besides the summary: " + result.stdout[:500]
    figures = json.loads(lines[0])
    assert figures["frames"] == 5000
    assert all(count > 400 for count in figures["categories"].values()), figures["categories"]
    assert figures["escaped"] == 0 and figures["internal_errors"] == 0
    assert figures["phase"] == "IDLE" and figures["plan_unchanged"] and figures["config_unchanged"]
    assert figures["heap_end"] - figures["heap_after_warmup"] <= figures["heap_bound_bytes"]
    assert figures["status_ok"]
    link = figures["link"]
    assert link["bad_crc"] > 0 and link["bad_cobs"] > 0 and link["oversize"] > 0 and link["bad_messages"] > 0
