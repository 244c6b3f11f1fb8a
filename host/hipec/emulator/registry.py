"""Which emulated boards run on this machine, so that `hipec ports` lists them beside the real ones: each
`hipec emulate` leaves a small file naming its device for as long as it runs. A file whose emulator is
gone (killed outright) is not listed, and is removed when found."""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunningEmulator:
    device: str
    pid: int
    what: str


def folder() -> Path:
    """Per user: one user's emulators are not another's boards."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"hipec-emulators-{os.getuid()}"


def register(device: str, what: str) -> Path:
    where = folder()
    where.mkdir(mode=0o700, exist_ok=True)
    entry = where / f"{os.getpid()}.json"
    entry.write_text(json.dumps({"device": device, "pid": os.getpid(), "what": what}))
    return entry


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running() -> list[RunningEmulator]:
    found = []
    for entry in sorted(folder().glob("*.json")) if folder().is_dir() else []:
        try:
            data = json.loads(entry.read_text())
            emulator = RunningEmulator(str(data["device"]), int(data["pid"]), str(data["what"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if _alive(emulator.pid) and Path(emulator.device).exists():
            found.append(emulator)
        else:
            entry.unlink(missing_ok=True)
    return found
