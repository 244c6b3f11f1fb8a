"""The USB cable: a pseudo-terminal whose slave the host opens with pyserial, relayed to the
interpreter's stdin and from its stdout. It can be unplugged and plugged in again (a new slave each
time; port_link keeps a symlink to the current one). Bytes nobody collects are dropped after a while,
as a USB device drops them.
"""
from __future__ import annotations

import fcntl
import os
import select
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

# Wall seconds a write to the host may wait for a reader before the bytes are dropped, as a
# USB device drops data nobody collects.
HOST_WRITE_TIMEOUT_S = 1.0


class PortLinkBusy(RuntimeError):
    """Another running emulator holds the port link."""


class Cable:
    """lock: the emulator's lock, held while the pty is swapped and while bytes go to the host."""

    def __init__(self, port_link: Path | None, lock: threading.RLock, stopping: threading.Event):
        self.port_link = port_link
        self.device = ""  # the slave's path, what the host opens
        self.bytes_dropped = 0
        self._lock = lock
        self._stopping = stopping
        self._master = -1
        self._slave = -1
        self._plugs = 0  # counts plug() and unplug(): which pty a reader's duplicate belongs to
        self._claim_fd = -1

    def claim(self) -> None:
        """Take the port link for this emulator alone: a second emulator that pointed it at its own
        board would hand that board to the first one's bridge when it reconnects. Held until release()."""
        if self.port_link is None:
            return
        lock_path = self._lock_path()
        while True:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise PortLinkBusy(f"--port-link {self.port_link} is held by another emulator (pid {holder}); "
                                   f"stop it or choose another path") from None
            # An emulator that stopped meanwhile removed the file this lock is on: lock the one at the path.
            try:
                if os.stat(lock_path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._claim_fd = fd

    def release(self) -> None:
        if self._claim_fd >= 0:
            # Removed while still held, so no other emulator takes a lock on a file about to go.
            try:
                self._lock_path().unlink()
            except FileNotFoundError:
                pass
            os.close(self._claim_fd)  # closing drops the lock
            self._claim_fd = -1

    def _lock_path(self) -> Path:
        assert self.port_link is not None
        return self.port_link.with_name(self.port_link.name + ".lock")

    @property
    def plugged(self) -> bool:
        return self._master >= 0

    def plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._plugs += 1
        self.device = os.ttyname(slave)
        if self.port_link is not None:
            tmp = self.port_link.with_name(self.port_link.name + ".new")
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            tmp.symlink_to(self.device)
            os.replace(tmp, self.port_link)

    def unplug(self) -> None:
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        if self._master >= 0:
            self._plugs += 1
        self._master = self._slave = -1
        # A pulled USB device's node goes with it. Left behind, the link would name a pseudo-terminal
        # number the kernel hands out again, perhaps to another emulator: a bridge reconnecting through
        # it would open (and lock) that board's port instead of finding none.
        if self.port_link is not None and self.port_link.is_symlink() and os.readlink(self.port_link) == self.device:
            self.port_link.unlink()

    def replug(self) -> None:
        if not self.plugged:
            self.plug()

    def relay_host_to_board(self, board_stdin: Callable[[], int], on_input: Callable[[], None]) -> None:
        """Until the emulator stops: what the host writes goes to the interpreter's stdin (board_stdin,
        -1 while it resets), then on_input is called.

        The relay reads through its own duplicate of the pty master, taken under the lock: a number
        read outside it could, once unplug() has closed it, already name a new descriptor (the side
        channel of a board booting meanwhile), and the relay would steal the board's bytes. For the
        same reason the interpreter's stdin is written to under the lock, without blocking."""
        mine, plugged_as = -1, -1
        while not self._stopping.is_set():
            with self._lock:
                if plugged_as != self._plugs:  # plugged in again, or pulled: let go of the old pty
                    if mine >= 0:
                        os.close(mine)
                    mine = os.dup(self._master) if self._master >= 0 else -1
                    plugged_as = self._plugs
            if mine < 0:
                time.sleep(0.01)
                continue
            try:
                ready, _, _ = select.select([mine], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(mine, 4096)
            except OSError:
                time.sleep(0.01)  # the host end has gone
                continue
            with self._lock:
                if plugged_as != self._plugs or not data:
                    continue  # pulled while these bytes were read: they never crossed the cable
                fd = board_stdin()
                if fd >= 0:
                    try:
                        os.write(fd, data)
                    except OSError:
                        pass  # the board is resetting, or not reading: lost as on a real cable
            on_input()
        if mine >= 0:
            os.close(mine)

    def relay_board_to_host(self, stdout_fd: int) -> None:
        """Until the interpreter's stdout closes: what it writes goes to the host; closes stdout_fd."""
        while True:
            try:
                data = os.read(stdout_fd, 4096)
            except OSError:
                break
            if not data:
                break
            self._write_host(data)
        os.close(stdout_fd)

    def _write_host(self, data: bytes) -> None:
        deadline = time.monotonic() + HOST_WRITE_TIMEOUT_S
        view = memoryview(data)
        while view:
            with self._lock:
                master = self._master
                if master < 0:
                    self.bytes_dropped += len(view)
                    return
                try:
                    sent = os.write(master, view)
                    view = view[sent:]
                    continue
                except BlockingIOError:
                    pass
                except OSError:
                    self.bytes_dropped += len(view)
                    return
            if time.monotonic() > deadline or self._stopping.is_set():
                self.bytes_dropped += len(view)
                return
            time.sleep(0.002)
