# Runs every test_* function of one firmware test module under MicroPython and prints one result line
# per function for tests/firmware/conftest.py. Usage: micropython -m mp_runner FIRMWARE_DIR TEST_DIR MODULE
# [FUNCTION]
import gc
import io
import json
import sys

firmware_dir, test_dir, module_name = sys.argv[1], sys.argv[2], sys.argv[3]
only = sys.argv[4] if len(sys.argv) > 4 else None  # one test function, in an interpreter of its own
sys.path.insert(0, test_dir)
sys.path.insert(0, firmware_dir)
module = __import__(module_name)
for name in sorted(dir(module)):
    if not name.startswith("test_") or (only is not None and name != only):
        continue
    gc.collect()
    try:
        getattr(module, name)()
        record = {"name": name, "ok": True}
    except Exception as exc:
        buf = io.StringIO()
        sys.print_exception(exc, buf)
        record = {"name": name, "ok": False, "error": buf.getvalue()}
    print("@@result " + json.dumps(record))
