"""SiliconMCU: the controller board as an emulated RP2040 running MicroPython's rp2 image, with the
firmware and boards/rp2040 on its littlefs, and the plant on the other side of its pins.

It has the unix-port emulator's public face (hipec.emulator.mcu.EmulatedMCU) and reuses its parts: the
USB cable (a pseudo-terminal the bridge opens with pyserial), the world (plant, faults, truth samples,
output log) and the pacer. What differs is the board: a Node process (tools/rp2040/harness.js) runs
the chip in slices of its own clock; after each slice the plant advances to the chip's time under what
the pins drove and the plant's inputs go back for the next slice. The chip's watchdog resets the chip
itself; a power loss is a power cycle of the chip; a loop hang stops the core (stuck with interrupts
masked) while time and the peripherals go on, until the watchdog resets the chip.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
import json
from collections import deque
from pathlib import Path
from typing import Any

from hipec import firmware_build
from hipec.emulator.cable import Cable
from hipec.emulator.faults import Fault
from hipec.emulator.mcu import EmulatedMCU
from hipec.emulator.pacing import Pacer
from hipec.emulator.params import PlantParams
from hipec.emulator.plant import Plant
from hipec.emulator.process import Threads
from hipec.emulator.world import TruthSample, World
from hipec.silicon import filesystem
from hipec.silicon.data import find_data, node_command
from hipec.silicon.pins import board_pins
from hipec.silicon.pipe import EVENT, EXCHANGE, INPUTS, USB, HarnessGone, Message, Pipe
from hipec.silicon.replies import ReplyClock
from hipec.silicon.wiring import StepRate, plant_inputs, plant_outputs

# Chip time between two exchanges with the plant: the plant sees the outputs as 10 ms averages (the
# firmware's tick is 100 ms; an SSR heater switches whole ticks) and host bytes reach the chip within it.
SLICE_MS = 10
# Wall seconds the chip may take to boot and enumerate on USB (emulation runs 3-6 times slower than
# the chip while busy; a loaded machine slower still).
BOOT_TIMEOUT_S = 120.0


class SiliconMCU(EmulatedMCU):
    """The emulated RP2040 board. speed, host_sync, faults, port_link: as EmulatedMCU's. files: the
    board's filesystem ((local, remote) pairs; default the rp2040 firmware build); flash_out: where the
    flash is written when the emulator stops (a board kept between runs); ready_on_firmware: start()
    returns once the firmware has sent its first bytes (else once the chip has enumerated on USB).
    EmulatedMCU's face (device, plant, now_ms, truth, inject, schedule, wait_until, ...) is inherited:
    it reads the same parts; its interpreter is not made (__init__ is this class's own)."""

    def __init__(self, params: PlantParams | None = None, speed: float | None = None,
                 faults: list[Fault] | tuple[Fault, ...] = (), port_link: Path | None = None,
                 host_sync: bool = False, files: list[tuple[Path, str]] | None = None,
                 flash_out: Path | None = None, profile_period_ns: float | None = None,
                 ready_on_firmware: bool = True):
        if speed is not None and speed <= 0:
            raise ValueError("speed must be > 0 (or None for as fast as possible)")
        self._data = find_data()
        self._command = node_command()
        self.params = params or PlantParams()
        self.pins = board_pins()
        self.port_link = port_link
        self.ready = threading.Event()
        self._resets: list[tuple[int, str]] = []  # (ms, cause) of every boot, as EmulatedMCU's
        self._stderr_lines: deque[str] = deque(maxlen=200)
        self._failed: str | None = None
        self.replies = ReplyClock()
        self.profile: dict[str, Any] | None = None
        self.last_exchange: dict[str, Any] = {}
        lock = self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._threads = Threads()
        self._cable = Cable(port_link, lock, self._stopping)
        self._pacer = Pacer(speed, host_sync, lambda: self._cable.plugged)
        self._world = World(self.params, self._cable, lock)
        for fault in faults:
            self._world.schedule(fault, int(fault.at_s * 1000))
        self._workdir = tempfile.TemporaryDirectory(prefix="hipec-rp2040-")
        work = Path(self._workdir.name)
        if files is None:
            root = firmware_build.build("rp2040")
            files = sorted((p, p.relative_to(root).as_posix()) for p in root.rglob("*") if p.is_file())
        (work / "fs.bin").write_bytes(filesystem.image(files))
        config = {"bootrom": str(self._data.bootrom), "image": str(self._data.image),
                  "syms": str(self._data.syms) if self._data.syms else None, "pins": self.pins,
                  "filesystem": {"path": str(work / "fs.bin"), "offset": filesystem.FS_OFFSET},
                  "saveFlash": str(flash_out) if flash_out else None, "profilePeriodNs": profile_period_ns}
        (work / "config.json").write_text(json.dumps(config))
        self._config_path = work / "config.json"
        self._proc: subprocess.Popen[bytes] | None = None
        self._pipe: Pipe | None = None
        self._exchange_ns = [0.0]  # chip time of each exchange: when bytes sent before reply n arrive
        self._inputs_sent = 0
        self._arrivals: deque[tuple[int, bytes]] = deque()
        self._step_rate = StepRate()
        self._board_w = self._host_w = -1  # the relays' pipes, written by the threads in _writers
        self._writers: list[threading.Thread] = []
        self._profile_request: str | None = None
        self._profile_done = threading.Event()
        # Ready once the firmware speaks (its first heartbeat), or, for a board whose main.py does not
        # start the firmware, once it has enumerated on USB.
        self._ready_on_usb_bytes = ready_on_firmware

    # ------------------------------------------------------------ what the parts know: EmulatedMCU's
    # face over the same parts (_cable, _world, _pacer) is inherited; these are the chip's own.

    @property
    def resets(self) -> list[tuple[int, str]]:
        return self._resets

    @property
    def stderr_lines(self) -> deque[str]:
        return self._stderr_lines

    @property
    def failed(self) -> str | None:
        return self._failed

    @property
    def halted(self) -> bool:
        return False  # a crashed firmware leaves the chip at its REPL, reset by the watchdog if armed

    @property
    def in_repl(self) -> bool:
        return False  # the chip's REPL is its own: enter_repl resets into the maintenance boot

    # ------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Boot the chip; return the device path the host should open once it has enumerated on USB."""
        self._proc = subprocess.Popen(self._command + [str(self._config_path)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._pipe = Pipe(self._proc.stdin, self._proc.stdout)
        self._cable.claim()
        self._cable.plug()
        host_r, host_w = os.pipe()
        os.set_blocking(host_w, False)  # the cable drops what the chip does not take, as USB would
        board_r, board_w = os.pipe()
        self._board_w, self._host_w = board_w, host_w
        self._threads.start(self._collect_stderr, "stderr")
        self._writers = [
            self._threads.start(self._serve, "plant"),
            self._threads.start(self._cable.relay_host_to_board, "host-to-mcu", lambda: host_w,
                                lambda: self._pacer.host_spoke(self._world.now_ms))]
        self._threads.start(self._relay_to_chip, "usb-in", host_r)
        self._threads.start(self._cable.relay_board_to_host, "mcu-to-host", board_r)
        if not self.ready.wait(BOOT_TIMEOUT_S) or self.failed:
            self.stop()
            raise RuntimeError("the emulated RP2040 did not boot: " + (self.failed or self.stderr_tail()))
        return self.device

    def stop(self) -> None:
        self._stopping.set()
        self._pacer.wake()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                assert self._pipe is not None
                self._pipe.send_json(INPUTS, {"stop": True})
                proc.wait(timeout=10.0)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
        # The relays' pipes end here, so that the threads reading them see their end and stop at once;
        # the threads writing them (the plant's side, gone with the harness, and the host's relay, which
        # stops with the emulator) first.
        for thread in self._writers:
            thread.join(5.0)
        for fd in (self._host_w, self._board_w):
            if fd >= 0:
                os.close(fd)
        self._host_w = self._board_w = -1
        self._threads.join(5.0)
        with self._lock:
            self._cable.unplug()
        self._cable.release()
        self._workdir.cleanup()

    def _collect_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr_lines.append(line.decode("utf-8", "replace").rstrip())

    def _relay_to_chip(self, host_r: int) -> None:
        """Host bytes (from the cable) to the harness, noted with the slice start they arrive at."""
        assert self._pipe is not None
        while not self._stopping.is_set():
            try:
                data = os.read(host_r, 4096)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                # Sent before the reply to exchange n, these bytes reach the device as slice n starts.
                self._arrivals.append((self._inputs_sent, data))
                try:
                    self._pipe.send(USB, data)
                except OSError:
                    return

    # ------------------------------------------------------------ profile

    def profile_start(self) -> None:
        self._profile_done.clear()
        self._profile_request = "start"

    def profile_stop(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """The samples since profile_start, by function (tools/rp2040/profiler.js report)."""
        self._profile_request = "stop"
        if not self._profile_done.wait(timeout_s) or self.profile is None:
            raise RuntimeError("the harness sent no profile")
        return self.profile

    # ------------------------------------------------------------ the plant's side of the pins

    def _serve(self) -> None:
        """Answer every slice's exchange until the emulator stops or the harness fails."""
        assert self._pipe is not None
        try:
            self._send_inputs(SLICE_MS, {})
            while True:
                message = self._pipe.receive()
                if self._stopping.is_set():
                    return
                self._handle(message)
        except HarnessGone as exc:
            if not self._stopping.is_set():
                self._failed = f"{exc}: {self.stderr_tail()[-500:]}"
        except Exception as exc:  # reported to whoever waits on the emulator
            self._failed = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.ready.set()

    def _handle(self, message: Message) -> None:
        if message.kind == USB:
            at_ns, data = message.usb()
            self.replies.from_board(data, at_ns)
            os.write(self._board_w, data)
            if self._ready_on_usb_bytes:
                self.ready.set()  # the firmware speaks: its first heartbeat
        elif message.kind == EVENT:
            self._event(message.json())
        elif message.kind == EXCHANGE:
            self._exchange(message.json())

    def _event(self, event: dict[str, Any]) -> None:
        if event["event"] == "boot":
            cause = {"watchdog": "watchdog", "force": "reset", "power": "power_on"}.get(event["cause"], event["cause"])
            self._resets.append((int(event["atNs"] // 1_000_000), cause))
            self._world.hang = False  # the reset ended the hang
        elif event["event"] == "profile":
            self.profile = event
            self._profile_done.set()

    def _exchange(self, exchange: dict[str, Any]) -> None:
        world = self._world
        now_ns = exchange["nowNs"]
        slice_ns = now_ns - self._exchange_ns[-1]
        self._exchange_ns.append(now_ns)
        self.last_exchange = exchange
        with self._lock:
            arrived = len(self._exchange_ns) - 1
            while self._arrivals and self._arrivals[0][0] <= arrived:
                index, data = self._arrivals.popleft()
                self.replies.to_board(data, self._exchange_ns[index])
            plant_outputs(exchange, slice_ns, world.outputs, self._step_rate)
            world.log_outputs()
        world.advance(int(now_ns // 1_000_000))
        extra: dict[str, Any] = {"hang": world.hang}
        if world.pending_reset is not None:
            world.pending_reset = None
            before = world.now_ms
            world.power_off_interval()  # the plant goes on without a board
            extra["powerCycleNs"] = (world.now_ms - before) * 1_000_000
        if self._profile_request is not None:
            extra["profile"], self._profile_request = self._profile_request, None
        if exchange.get("usbConnected") and not self._ready_on_usb_bytes:
            self.ready.set()
        target = self._pacer.pace(world.now_ms, world.now_ms + SLICE_MS)
        self._send_inputs(max(target, world.now_ms + 1), extra)

    def _send_inputs(self, until_ms: int, extra: dict[str, Any]) -> None:
        assert self._pipe is not None
        with self._lock:
            message = {"untilNs": until_ms * 1_000_000, **plant_inputs(self.pins, self._world.plant), **extra}
            self._inputs_sent += 1
            self._pipe.send_json(INPUTS, message)
