"""Virtual time against the wall clock: how far the board's clock may run at each of its idle calls.

At a speed factor virtual time is paced to the wall clock (re-anchored when it slips too far behind
rather than racing to catch up); with speed None it runs as fast as the CPU allows. With host_sync,
either falls back to real time while the plugged-in host has been silent for HOST_SYNC_MS of virtual
time, so a fast board never outruns a bridge that is merely slow (a loaded machine): the board's link
supervision then sees the host as it would at real speed, and a host that is really gone is still
found, in real time. Bytes from the host (the link event) cut an idle short.

In lockstep the host holds the board's clock instead: virtual time runs as fast as the CPU allows
but never past the gate the host last opened (run_until), and the board waits there, every tick up to
that instant done, until the host opens it further. A request the host sends while the board waits
is served at that very instant, so what the host asks lands on the same board tick however fast or
slow either side happened to be: a run is repeatable to the last digit (bench/lockstep.py).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

# With host_sync, full speed lasts only while the host spoke within this much virtual time: half the
# board's link timeout, so a host that keeps up is never seen as gone.
HOST_SYNC_MS = 2500
# Falling this far behind the paced schedule re-anchors it instead of racing to catch up.
PACE_SLIP_S = 0.5
# Lockstep: how often a wait at the gate looks again without being woken (a stop, a dead board).
PARKED_POLL_S = 0.05


class Pacer:
    """speed: virtual-time factor, or None for as fast as the CPU allows; host_plugged: whether the
    cable is in (an unplugged host is not waited for)."""

    def __init__(self, speed: float | None, host_sync: bool, host_plugged: Callable[[], bool],
                 lockstep: bool = False):
        self.speed = speed
        self.host_sync = host_sync
        self.lockstep = lockstep
        self._gate_ms = 0  # lockstep: how far virtual time may go
        self._parked_ms = -1  # lockstep: the instant the board waits at, -1 while it runs
        self._gate_moved = threading.Condition()
        self._host_plugged = host_plugged
        self.link_event = threading.Event()
        self.host_seen_ms = 0  # virtual time of the last bytes from the host
        self._anchor: tuple[float, int] | None = None  # (wall seconds, virtual ms) pacing origin

    def host_spoke(self, now_ms: int) -> None:
        """Bytes from the host reached the board at virtual time now_ms: wake an idle board."""
        self.host_seen_ms = now_ms
        self.wake()

    def wake(self) -> None:
        self.link_event.set()
        if self.lockstep:
            with self._gate_moved:
                self._gate_moved.notify_all()

    def host_behind(self, now_ms: int) -> bool:
        """Whether the plugged-in host has been silent too long for the board to run ahead of it."""
        return self.host_sync and self._host_plugged() and now_ms - self.host_seen_ms > HOST_SYNC_MS

    def pace(self, now_ms: int, until_ms: int) -> int:
        """How far virtual time may go now: until_ms, or less if the host sent something first."""
        if until_ms <= now_ms:
            return now_ms
        if self.lockstep:
            return self._pace_at_gate(now_ms, until_ms)
        if self.link_event.is_set() and self.speed is None:
            self.link_event.clear()
            return now_ms
        if self.host_behind(now_ms):
            # Real time until the host speaks again.
            self._anchor = None
            if self.link_event.wait((until_ms - now_ms) / 1000.0):
                self.link_event.clear()
                return now_ms
            return until_ms
        if self.speed is None:
            return until_ms
        wall = time.monotonic()
        if self._anchor is None or wall - self._wall_due(now_ms) > PACE_SLIP_S:
            self._anchor = (wall, now_ms)
        due = self._wall_due(until_ms)
        if due > wall and self.link_event.wait(due - wall):
            self.link_event.clear()
            wall0, v0 = self._anchor
            reached = v0 + int((time.monotonic() - wall0) * 1000.0 * self.speed)
            return max(now_ms, min(until_ms, reached))
        return until_ms

    def _pace_at_gate(self, now_ms: int, until_ms: int) -> int:
        """Lockstep: up to the gate; at the gate, wait there until the host speaks or opens it further."""
        with self._gate_moved:
            while True:
                if self.link_event.is_set():
                    self.link_event.clear()
                    self._parked_ms = -1
                    return now_ms
                if now_ms < self._gate_ms:
                    self._parked_ms = -1
                    return min(until_ms, self._gate_ms)
                self._parked_ms = now_ms
                self._gate_moved.notify_all()
                self._gate_moved.wait(PARKED_POLL_S)

    def run_until(self, virtual_ms: int, timeout_s: float, alive: Callable[[], bool]) -> bool:
        """Lockstep: open the gate to virtual_ms and return once the board waits there (or beyond it,
        after a reset's power-off time); False if it did not within timeout_s of wall time or stopped
        being alive()."""
        if not self.lockstep:
            raise RuntimeError("run_until needs a lockstep emulator")
        deadline = time.monotonic() + timeout_s
        with self._gate_moved:
            self._gate_ms = max(self._gate_ms, virtual_ms)
            self._gate_moved.notify_all()
            while self._parked_ms < virtual_ms:
                if not alive() or time.monotonic() > deadline:
                    return False
                self._gate_moved.wait(PARKED_POLL_S)
        return True

    def _wall_due(self, virtual_ms: int) -> float:
        assert self._anchor is not None and self.speed is not None
        wall0, v0 = self._anchor
        return wall0 + (virtual_ms - v0) / 1000.0 / self.speed
