"""The emulated USB cable's relay from the host to the board. A pulled cable closes the pty; the number
of its master may at once name a new descriptor (the side channel of the board booting after a power
loss). A relay that had read the old number before the pull then read the board's side channel and
fed it to the board's stdin: the board and the plant each waited for the other, and the emulator froze.
"""
from __future__ import annotations

import os
import select
import threading
import time
from pathlib import Path

import pytest

from hipec.emulator import cable as cable_module
from hipec.emulator.cable import Cable


def test_a_pull_during_the_relays_wait_does_not_hand_it_a_reused_descriptor(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lock = threading.RLock()
    stopping = threading.Event()
    cable = Cable(tmp_path / "board", lock, stopping)
    cable.plug()
    master = cable._master
    board_r, board_w = os.pipe()  # the board's stdin
    reused: list[tuple[int, int]] = []
    real_select = select.select

    def pull_then_wait(rlist, wlist, xlist, timeout):  # type: ignore[no-untyped-def]
        if not reused:
            with lock:
                cable.unplug()
            side_r, side_w = os.pipe()  # what the next boot opens: it takes the freed numbers
            os.write(side_w, b"the board's side channel")
            reused.append((side_r, side_w))
        return real_select(rlist, wlist, xlist, timeout)

    monkeypatch.setattr(cable_module.select, "select", pull_then_wait)
    relay = threading.Thread(target=cable.relay_host_to_board, args=(lambda: board_w, lambda: None), daemon=True)
    relay.start()
    time.sleep(0.3)
    stopping.set()
    relay.join(2.0)
    (side_r, side_w), = reused
    assert side_r == master, "the test needs the pulled master's number to be reused"
    os.set_blocking(side_r, False)
    assert os.read(side_r, 100) == b"the board's side channel"  # nobody else read it
    os.set_blocking(board_r, False)
    with pytest.raises(BlockingIOError):
        os.read(board_r, 100)  # and nothing reached the board's stdin
    for fd in (side_r, side_w, board_r, board_w):
        os.close(fd)
