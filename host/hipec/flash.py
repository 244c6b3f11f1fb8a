"""`hipec flash`: deploy the firmware to a board's filesystem with mpremote, verified by hash.

The files are the firmware build for the board (hipec.firmware_build: the controller and board modules
precompiled with mpy-cross, main.py as source). What the board already holds is hashed on the board
first; only what differs is copied, then everything is hashed again, and the board is reset. With
--check nothing is written: the command reports what differs. A board running the firmware is first
asked for its REPL (enter_repl: outputs off, and on a real board a reset into the maintenance boot).
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2

from hipec import firmware_build, tool
from hipec.tables import protocol

# The board's settings record (firmware/controller/settings.py): CBOR [version, config] + CRC-32.
SETTINGS_FILE = "settings.cbor"
SETTINGS_VERSION: int = protocol.SETTINGS_VERSION


class FlashError(RuntimeError):
    """mpremote failed or the board's files do not match after writing; the message says which."""


@dataclass(frozen=True)
class FileToFlash:
    local: Path
    remote: str
    sha256: str


def files_for(board: str, compiled: bool = True) -> list[FileToFlash]:
    if compiled:
        root = firmware_build.build(board)
        paths = sorted(p for p in root.rglob("*") if p.is_file())
        entries = [(p, p.relative_to(root).as_posix()) for p in paths]
    else:
        entries = [(path, name) for path, name in firmware_build.sources(board)]
        entries.append((firmware_build.FIRMWARE_DIR / "main.py", "main.py"))
    return [FileToFlash(p, name, hashlib.sha256(p.read_bytes()).hexdigest()) for p, name in entries]


def settings_record(config: dict[str, Any]) -> bytes:
    # Floats in their shortest exact form, as the board writes them: the record must fit the board's
    # payload buffer (MAX_PAYLOAD_BYTES), which it is read into.
    payload = cbor2.dumps([SETTINGS_VERSION, config], canonical=True)
    return payload + (zlib.crc32(payload) & 0xFFFFFFFF).to_bytes(4, "big")


def _run(port: str, *args: str) -> str:
    result = subprocess.run([tool("mpremote", "mpremote"), "connect", port, *args], capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise FlashError(f"mpremote {' '.join(args[:2])} failed: {(result.stderr or result.stdout).strip()[-300:]}")
    return result.stdout


HASH_SCRIPT = """
import hashlib
def _h(p):
    try:
        f = open(p, 'rb')
    except OSError:
        return None
    h = hashlib.sha256()
    b = bytearray(256)
    while True:
        n = f.readinto(b)
        if not n:
            break
        h.update(b[:n])
    f.close()
    return ''.join('%02x' % x for x in h.digest())
for _p in {paths!r}:
    print('@@', _p, _h(_p))
"""


def board_hashes(port: str, remotes: list[str]) -> dict[str, str | None]:
    out = _run(port, "exec", HASH_SCRIPT.format(paths=remotes))
    hashes: dict[str, str | None] = {}
    for line in out.splitlines():
        if line.startswith("@@ "):
            _mark, path, digest = line.split(" ", 2)
            hashes[path] = None if digest == "None" else digest
    return hashes


def differing(port: str, files: list[FileToFlash]) -> list[FileToFlash]:
    on_board = board_hashes(port, [f.remote for f in files])
    return [f for f in files if on_board.get(f.remote) != f.sha256]


def release_repl(port: str) -> bool:
    """If the firmware answers on the port, ask it for the REPL; True if it did."""
    from hipec.bridge import BoardError, BoardLink, LinkTimeout

    try:
        with BoardLink(port, reply_timeout_s=0.5, retries=1) as link:
            link.request("enter_repl")
    except LinkTimeout:
        return False  # nothing speaks our protocol there: already at the REPL
    except BoardError as exc:
        raise FlashError(f"the board refuses to leave its session for flashing: {exc}") from None
    time.sleep(3.0)  # a real board resets into its maintenance boot
    return True


def flash(port: str, board: str, compiled: bool = True, check: bool = False,
          config: dict[str, Any] | None = None, workdir: Path | None = None) -> list[str]:
    """Deploy (or, with check, compare); return the lines to show the operator."""
    files = files_for(board, compiled)
    lines = []
    if release_repl(port):
        lines.append("the firmware handed over its REPL (outputs off)")
    if config is not None:
        assert workdir is not None
        path = workdir / SETTINGS_FILE
        path.write_bytes(settings_record(config))
        files.append(FileToFlash(path, SETTINGS_FILE, hashlib.sha256(path.read_bytes()).hexdigest()))
    stale = differing(port, files)
    if check:
        if not stale:
            return lines + [f"{len(files)} files on the board match the {board} build"]
        return lines + [f"differs: {f.remote}" for f in stale] + [f"{len(stale)} of {len(files)} files differ"]
    if stale:
        folders = sorted({str(Path(f.remote).parent) for f in stale if "/" in f.remote})
        if folders:
            _run(port, "exec", "import os\nfor d in %r:\n try:\n  os.mkdir(d)\n except OSError:\n  pass" % folders)
        args: list[str] = []
        for f in stale:
            args += ["fs", "cp", str(f.local), ":" + f.remote, "+"]
        _run(port, *args[:-1])
    still = differing(port, files)
    if still:
        raise FlashError("after writing, these differ on the board: " + ", ".join(f.remote for f in still))
    _run(port, "reset")
    size = sum(f.local.stat().st_size for f in files)
    return lines + [f"wrote {len(stale)} of {len(files)} files ({size} bytes on the board), all verified by "
                    "SHA-256; board reset"]


def size_saving(board: str) -> dict[str, int]:
    """Bytes of the modules as source and as mpy-cross bytecode (main.py is source either way)."""
    rows = firmware_build.size_report(board)
    return {"source_bytes": sum(r[1] for r in rows), "mpy_bytes": sum(r[2] for r in rows)}


def load_config(path: Path) -> dict[str, Any]:
    import tomllib

    data = tomllib.loads(path.read_text())
    config = data.get("config", data)
    if not isinstance(config, dict):
        raise FlashError(f"{path}: expected a [config] table of board settings")
    plain: dict[str, Any] = json.loads(json.dumps(config))
    return plain
