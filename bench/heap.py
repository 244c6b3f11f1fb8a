# Heap the firmware takes on a board: its bytecode, and the controller's long-lived buffers.
# Usage: HIPEC_FIRMWARE=$(.venv/bin/python -m hipec.firmware_build) micropython -X heapsize=240K bench/heap.py
# (precompiled, as boards load it; without HIPEC_FIRMWARE the sources, compiled at import). One JSON line,
# then the interpreter's line on its names (qstr pools): every name the bytecode uses is interned once,
# in pools that grow by doubling, so a few names more can cost the next pool's whole size at once.
import gc
import json
import micropython
import os
import sys

ROOT = "/".join(__file__.split("/")[:-2]) or "."
sys.path.insert(0, ROOT + "/tests/firmware")
# The firmware as boards load it (precompiled; see hipec.firmware_build), or its sources.
sys.path.insert(0, os.getenv("HIPEC_FIRMWARE") or ROOT + "/firmware")

gc.collect()
start = gc.mem_alloc()
from controller import app  # noqa: E402

gc.collect()
after_import = gc.mem_alloc()
from fakeboard import FakeBoard  # noqa: E402

gc.collect()
before_controller = gc.mem_alloc()
controller = app.Controller(FakeBoard())
gc.collect()
after_controller = gc.mem_alloc()
print(json.dumps({
    "bytecode_and_module_bytes": after_import - start,
    "controller_buffers_bytes": after_controller - before_controller,
    "live_bytes": after_controller,
    "free_bytes": gc.mem_free(),
}))
micropython.qstr_info()
