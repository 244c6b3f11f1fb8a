"""The emulated MCU: the real firmware under the MicroPython interpreter, wired to the plant model.

EmulatedMCU is the launcher's whole public face; each part a real board would have in hardware is a
module of its own:
- cable.py, the USB cable: a pseudo-terminal whose slave the host opens with pyserial, relayed to the
  interpreter's stdin/stdout; it can be unplugged and plugged in again;
- world.py, the physical world: the plant model, advanced in virtual time in lock-step with the
  board's idle calls over the side channel, with its faults (faults.py) and truth samples;
- pacing.py, virtual time paced to a speed factor or as fast as the CPU allows;
- process.py, the processor and the reset circuitry: the interpreter, a watchdog that restarts it
  (RAM lost) when the firmware stops feeding it, and power loss.
"""
from __future__ import annotations

import tempfile
import threading
import time
from collections import deque
from pathlib import Path

from hipec import REPO_ROOT, firmware_build
from hipec.emulator.cable import Cable
from hipec.emulator.faults import Fault, make_fault
from hipec.emulator.pacing import Pacer
from hipec.emulator.params import PlantParams
from hipec.emulator.plant import Plant
from hipec.emulator.process import DEFAULT_HEAP_KIB, HARNESS_HEAP_KIB, Interpreter, Supervisor, Threads, micropython_binary
from hipec.emulator.world import SideChannel, TruthSample, World

__all__ = ["DEFAULT_HEAP_KIB", "HARNESS_HEAP_KIB", "EmulatedMCU", "TruthSample", "micropython_binary"]


def _fault(kind: str, probe: str | None, duration_s: float | None, values: dict[str, float], source: str) -> Fault:
    """A fault from keyword arguments, checked as a fault file's entry would be."""
    entry: dict[str, object] = {"kind": kind, **values}
    if probe is not None:
        entry["probe"] = probe
    if duration_s is not None:
        entry["duration_s"] = duration_s
    return make_fault(entry, source)


class EmulatedMCU:
    """The emulated board. speed: virtual-time factor, or None for as fast as the CPU allows;
    host_sync: faster than real time, fall back to real time whenever the host has been silent for
    pacing.HOST_SYNC_MS of virtual time (a fast board must not outrun the bridge that supervises it);
    lockstep: the host holds the board's clock (run_until), so a run is repeatable to the last digit."""

    def __init__(
        self,
        params: PlantParams | None = None,
        speed: float | None = None,
        heap_kib: int = DEFAULT_HEAP_KIB,
        faults: list[Fault] | tuple[Fault, ...] = (),
        port_link: Path | None = None,
        host_sync: bool = False,
        settings_file: Path | None = None,
        precompiled: bool = True,
        device_dir: Path | None = None,
        lockstep: bool = False,
    ):
        if speed is not None and speed <= 0:
            raise ValueError("speed must be > 0 (or None for as fast as possible)")
        self.params = params or PlantParams()
        self.heap_kib = heap_kib
        self.port_link = port_link
        # As a board runs it: what was flashed into device_dir (hipec flash), precompiled bytecode
        # (firmware_build.py), or the sources compiled at boot.
        if device_dir is not None:
            self.firmware_dir = self.board_dir = device_dir
            settings_file = device_dir / "settings.cbor"
        elif precompiled:
            self.firmware_dir = self.board_dir = firmware_build.build("emulated")
        else:
            self.firmware_dir = REPO_ROOT / "firmware"
            self.board_dir = REPO_ROOT / "boards" / "emulated"
        # The board's flash for its settings: kept across emulated resets; a temporary one by default.
        self._settings_dir: tempfile.TemporaryDirectory[str] | None = None
        if settings_file is None:
            self._settings_dir = tempfile.TemporaryDirectory(prefix="hipec-board-")
            settings_file = Path(self._settings_dir.name) / "settings.cbor"
        self.settings_file = settings_file
        self.ready = threading.Event()
        # One lock for the parts: the plant advancing, the schedule, the pty and the interpreter swapping.
        lock = self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._threads = Threads()
        self._cable = Cable(port_link, lock, self._stopping)
        self._pacer = Pacer(speed, host_sync, lambda: self._cable.plugged, lockstep=lockstep)
        self._world = World(self.params, self._cable, lock)
        for fault in faults:
            self._world.schedule(fault, int(fault.at_s * 1000))
        self._interpreter = Interpreter(self.firmware_dir, self.board_dir, settings_file, heap_kib, lock,
                                        self._threads, self._cable.relay_board_to_host)
        side_channel = SideChannel(self._world, self._pacer, self._stopping, self.ready)
        self._supervisor = Supervisor(self._interpreter, side_channel.serve, self._world.power_off_interval,
                                      lambda: self._world.now_ms, self._stopping, self.ready)

    # ------------------------------------------------------------ what the parts know

    @property
    def device(self) -> str:
        return self._cable.device

    @property
    def speed(self) -> float | None:
        return self._pacer.speed

    @property
    def host_sync(self) -> bool:
        return self._pacer.host_sync

    @property
    def plant(self) -> Plant:
        return self._world.plant

    @property
    def now_ms(self) -> int:
        return self._world.now_ms

    @property
    def truth(self) -> list[TruthSample]:
        return self._world.truth

    @property
    def output_log(self) -> list[tuple[int, int, bool, int, bool]]:
        """Every change of the board's outputs, at tick resolution: (t_ms, heater_pm, relay, pump, bypass)."""
        return self._world.output_log

    @property
    def resets(self) -> list[tuple[int, str]]:
        return self._supervisor.resets

    @property
    def stderr_lines(self) -> deque[str]:
        return self._interpreter.stderr_lines

    @property
    def bytes_dropped(self) -> int:
        return self._cable.bytes_dropped

    @property
    def failed(self) -> str | None:
        return self._supervisor.failed

    @property
    def plugged(self) -> bool:
        """Whether the USB cable is in."""
        return self._cable.plugged

    @property
    def halted(self) -> bool:
        return self._supervisor.halted

    @property
    def in_repl(self) -> bool:
        return self._supervisor.in_repl

    # ------------------------------------------------------------ public

    def start(self) -> str:
        """Create the link, boot the firmware, and return the device path the host should open."""
        self._cable.claim()
        self._cable.plug()
        self._threads.start(self._supervisor.run, "plant")
        self._threads.start(self._cable.relay_host_to_board, "host-to-mcu", self._interpreter.stdin_fd,
                            lambda: self._pacer.host_spoke(self._world.now_ms))
        if not self.ready.wait(30.0):
            self.stop()
            raise RuntimeError("the emulated MCU did not boot: " + self.stderr_tail())
        return self.device

    def stop(self) -> None:
        self._stopping.set()
        self._pacer.wake()
        self._interpreter.kill()
        self._threads.join(5.0)
        with self._lock:
            self._cable.unplug()
        self._cable.release()
        if self._settings_dir is not None:
            self._settings_dir.cleanup()

    def inject(self, kind: str, probe: str | None = None, duration_s: float | None = None,
               **values: float) -> int:
        """Apply a fault or plant event now (at the current virtual time); return the virtual time it took
        effect at. The board runs on while the caller gets here, so a now_ms read before the call may be
        earlier than that by as much virtual time as the board covers while the caller is held up."""
        fault = _fault(kind, probe, duration_s, values, "inject")
        at_ms, applied = self._world.schedule_now(fault)
        self._pacer.wake()
        # Return once the plant has taken it, so the caller's next step sees its effect.
        deadline = time.monotonic() + 10.0
        while self._world.applied_count < applied and time.monotonic() < deadline and self.failed is None:
            time.sleep(0.001)
        return at_ms

    def schedule(self, at_ms: int, kind: str, probe: str | None = None, duration_s: float | None = None,
                 **values: float) -> None:
        """Schedule a fault or event at a virtual time (for instance a replug after an unplug)."""
        self._world.schedule(_fault(kind, probe, duration_s, values, "schedule"), at_ms)

    def stderr_tail(self) -> str:
        return "\n".join(self.stderr_lines)

    def wait_until(self, virtual_ms: int, timeout_s: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while self.now_ms < virtual_ms:
            if time.monotonic() > deadline or self.failed:
                return False
            time.sleep(0.005)
        return True

    def run_until(self, virtual_ms: int, timeout_s: float = 60.0) -> bool:
        """Lockstep: let the board run to virtual_ms and return once it waits there, every tick up to
        that instant done; what the host then sends is served at that instant (pacing.py)."""
        return self._pacer.run_until(virtual_ms, timeout_s, lambda: self.failed is None)

    def heating_at(self, t_ms: int) -> bool:
        """Whether the board was driving the heater (relay closed and a duty) at virtual time t_ms."""
        return self._world.heating_at(t_ms)
