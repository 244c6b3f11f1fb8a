"""The board's filesystem as MicroPython's rp2 port lays it out, made on the host with littlefs-python:
the firmware build (hipec.firmware_build for the rp2040 board) written into a littlefs image that the
harness loads into the flash at the filesystem's offset, as if it had been flashed once already.

The geometry is the rp2 port's own (ports/rp2/modules/_boot.py and rp2_flash.c for RPI_PICO): 4 KiB
erase blocks, 1,408 KiB at flash offset 0xA0000 (the end of the 2 MiB flash), programs of 256 bytes,
reads and lookahead of 32; MicroPython mounts it as it finds it. Disk version 2.0, which every littlefs 2
reads and writes.
"""
from __future__ import annotations

from pathlib import Path

from littlefs import LittleFS

FS_OFFSET = 0xA0000
BLOCK_BYTES = 4096
FS_BYTES = 1408 * 1024
PROG_BYTES = 256
READ_BYTES = 32
LOOKAHEAD_BYTES = 32
DISK_VERSION_2_0 = 0x00020000


def image(files: list[tuple[Path, str]]) -> bytes:
    """A filesystem holding files ((local file, path on the board) pairs), as the flash holds it."""
    fs = LittleFS(block_size=BLOCK_BYTES, block_count=FS_BYTES // BLOCK_BYTES, read_size=READ_BYTES,
                  prog_size=PROG_BYTES, lookahead_size=LOOKAHEAD_BYTES, disk_version=DISK_VERSION_2_0)
    for local, remote in files:
        folder = remote.rpartition("/")[0]
        if folder:
            fs.makedirs(folder, exist_ok=True)
        with fs.open(remote, "wb") as f:
            f.write(local.read_bytes())
    return bytes(fs.context.buffer)


def read_files(data: bytes) -> dict[str, bytes]:
    """Every file of a filesystem image (a flash dump's filesystem region): path -> contents."""
    fs = LittleFS(block_size=BLOCK_BYTES, block_count=FS_BYTES // BLOCK_BYTES, read_size=READ_BYTES,
                  prog_size=PROG_BYTES, lookahead_size=LOOKAHEAD_BYTES, mount=False)
    fs.context.buffer[:] = data
    fs.mount()
    found: dict[str, bytes] = {}
    for root, _dirs, names in fs.walk("/"):
        for name in names:
            path = f"{root.rstrip('/')}/{name}".lstrip("/")
            with fs.open(path, "rb") as f:
                found[path] = f.read()
    return found
