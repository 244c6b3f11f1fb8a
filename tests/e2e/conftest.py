"""End-to-end fixtures: the emulated MCU (real firmware under MicroPython) and a pyserial link to it."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from hipec.bridge import BoardLink
from hipec.emulator.mcu import EmulatedMCU


@pytest.fixture
def mcu(tmp_path: Path) -> Iterator[EmulatedMCU]:
    board = EmulatedMCU(speed=None, port_link=tmp_path / "board")
    board.start()
    yield board
    board.stop()


@pytest.fixture
def synced_mcu(tmp_path: Path) -> Iterator[EmulatedMCU]:
    """Full speed while the bridge keeps up: for whole sessions, where the board supervises the link."""
    board = EmulatedMCU(speed=None, host_sync=True, port_link=tmp_path / "board")
    board.start()
    yield board
    board.stop()


@pytest.fixture
def link(mcu: EmulatedMCU) -> Iterator[BoardLink]:
    with BoardLink(mcu.device) as connection:
        yield connection
