"""Where the emulated RP2040's inputs are: MicroPython's rp2 image for the Pico (.uf2), the RP2040 boot
ROM, the image's symbol table, and the Node harness with its pinned rp2040js.

The image and the ROM are not part of the project (it must not need them to run): they are looked for
in HIPEC_RP2040_DATA, else in ../shared/data/rp2040 beside the repository. docs/silicon.md says how a
user makes the folder from the official MicroPython download and a ROM image.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from hipec import REPO_ROOT

HARNESS_DIR = REPO_ROOT / "tools" / "rp2040"
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "rp2040"
IMAGE_GLOB = "*RPI_PICO*.uf2"
BOOTROM_NAME = "rp2040-bootrom-b1.bin"


class SiliconUnavailable(RuntimeError):
    """What the emulated RP2040 needs is missing; the message names it and how to get it."""


@dataclass(frozen=True)
class SiliconData:
    image: Path
    bootrom: Path
    syms: Path | None  # the image's symbol table, for the profiler (optional)


def data_dir() -> Path:
    return Path(os.environ.get("HIPEC_RP2040_DATA", DEFAULT_DATA_DIR))


def find_data() -> SiliconData:
    """The image, boot ROM and symbols, or SiliconUnavailable naming what is missing."""
    folder = data_dir()
    images = sorted(folder.glob(IMAGE_GLOB))
    if not images:
        raise SiliconUnavailable(f"no MicroPython RPI_PICO .uf2 in {folder} (set HIPEC_RP2040_DATA; docs/silicon.md)")
    bootrom = folder / BOOTROM_NAME
    if not bootrom.exists():
        raise SiliconUnavailable(f"no RP2040 boot ROM image {bootrom} (docs/silicon.md)")
    syms = images[0].with_suffix(".syms")
    return SiliconData(images[0], bootrom, syms if syms.exists() else None)


def node_command() -> list[str]:
    """node running the harness, or SiliconUnavailable if Node or the installed rp2040js is missing."""
    node = shutil.which("node")
    if node is None:
        raise SiliconUnavailable("node is not on the PATH (the emulated RP2040 runs in Node.js 18 or later)")
    if not (HARNESS_DIR / "node_modules" / "rp2040js").exists():
        raise SiliconUnavailable(f"rp2040js is not installed: run `npm ci` in {HARNESS_DIR} (make does)")
    return [node, str(HARNESS_DIR / "harness.js")]


def missing() -> str | None:
    """Why the emulated RP2040 cannot run here, or None if it can."""
    try:
        find_data()
        node_command()
    except SiliconUnavailable as exc:
        return str(exc)
    return None
