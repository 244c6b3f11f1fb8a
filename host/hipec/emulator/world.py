"""The board's physical world and the side channel that connects it to the board.

World: the plant model advanced in virtual time under the board's outputs, the schedule of faults
and events (applied through faults.EFFECTS), a truth sample of the plant every second, and the log of
every change of the outputs. SideChannel: answers the board's idle calls (boards/emulated/channel.py
records) with the time reached and the plant's raw inputs, pacing each one (pacing.py) and deciding
when the board must reset (its watchdog, a power loss).
"""
from __future__ import annotations

import os
import threading
from array import array
from dataclasses import dataclass
from importlib import util as importlib_util
from types import ModuleType

from hipec import REPO_ROOT
from hipec.emulator.cable import Cable
from hipec.emulator.faults import Fault, apply_fault
from hipec.emulator.pacing import Pacer
from hipec.emulator.params import PlantParams
from hipec.emulator.plant import PROBES, Plant
from hipec.emulator.process import HALTED, IN_REPL, Watchdog

TRUTH_PERIOD_MS = 1000


def _load_channel() -> ModuleType:
    spec = importlib_util.spec_from_file_location(
        "hipec_emulated_channel", REPO_ROOT / "boards" / "emulated" / "channel.py")
    assert spec is not None and spec.loader is not None
    module = importlib_util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ch = _load_channel()


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


class World:
    """The plant and everything that happens to it, in virtual time (now_ms). lock: the emulator's
    lock, taken to advance time and to change the schedule. It is the target of the faults
    (faults.FaultTarget): the plant, the board's hang, the cable, a power loss."""

    def __init__(self, params: PlantParams, cable: Cable, lock: threading.RLock):
        self.plant = Plant(params)
        self.now_ms = 0
        self.truth: list[TruthSample] = []
        # Every change of the board's outputs, at tick resolution: (t_ms, heater_pm, relay, pump, bypass).
        self.output_log: list[tuple[int, int, bool, int, bool]] = []
        self.applied_count = 0  # faults and events applied so far
        self.hang = False
        self.pending_reset: str | None = None  # the reset cause a fault asks for
        self.outputs = array("i", [0] * ch.OUT_WORDS)
        self.outputs[ch.OUT_BYPASS] = 1
        self._cable = cable
        self._lock = lock
        self._schedule: list[tuple[int, Fault, bool]] = []  # (at_ms, fault, clear?)
        self._off_ms = 0
        self._next_truth_ms = 0

    # ------------------------------------------------------------ the faults' target

    def unplug(self) -> None:
        self._cable.unplug()

    def replug(self) -> None:
        self._cable.replug()

    def power_loss(self, off_ms: int) -> None:
        self.pending_reset = "power_on"
        self._off_ms = off_ms

    # ------------------------------------------------------------ schedule

    def schedule(self, fault: Fault, at_ms: int) -> None:
        with self._lock:
            self._schedule.append((at_ms, fault, False))
            if fault.duration_s is not None:
                self._schedule.append((at_ms + int(fault.duration_s * 1000), fault, True))
            self._schedule.sort(key=lambda item: item[0])

    def schedule_now(self, fault: Fault) -> tuple[int, int]:
        """Schedule fault now; return the virtual time it takes effect at (now_ms under the lock: the next
        advance applies it before stepping on) and the applied_count that means the plant has taken it."""
        with self._lock:
            self.schedule(fault, self.now_ms)
            return self.now_ms, self.applied_count + len([1 for at, _f, _c in self._schedule if at <= self.now_ms])

    # ------------------------------------------------------------ virtual time

    def advance(self, target_ms: int) -> None:
        """Step the plant under the current outputs to target_ms, applying what falls due on the way."""
        with self._lock:
            out = self.outputs
            while self.now_ms < target_ms or (self._schedule and self._schedule[0][0] <= self.now_ms):
                if self._schedule and self._schedule[0][0] <= self.now_ms:
                    _at, fault, clear = self._schedule.pop(0)
                    apply_fault(self, fault, clear)
                    self.applied_count += 1
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
        out = self.outputs
        self.truth.append(TruthSample(
            t_ms=self.now_ms, temps_c=plant.true_temps(), core_c=plant.t_core,
            abdomen_l=plant.v_abdomen_l, heater_w=plant.heater_w, flow_ml_min=plant.flow_ml_min,
            delivered_ml=plant.delivered_ml, heater_pm=out[ch.OUT_HEATER_PM],
            heater_relay=bool(out[ch.OUT_HEATER_RELAY]),
            bypass_open=bool(out[ch.OUT_BYPASS])))

    def power_off_interval(self) -> None:
        """Between a reset and the next boot: nothing driven, for the off time of a power loss."""
        off_ms, self._off_ms = self._off_ms, 0
        self.outputs[ch.OUT_HEATER_PM] = 0
        self.outputs[ch.OUT_HEATER_RELAY] = 0
        self.outputs[ch.OUT_PUMP_MSPS] = 0
        self.outputs[ch.OUT_BYPASS] = 1
        with self._lock:
            self.log_outputs()  # a board without power drives nothing
        if off_ms:
            self.advance(self.now_ms + off_ms)

    # ------------------------------------------------------------ the board's outputs and inputs

    def log_outputs(self) -> None:
        out = self.outputs
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

    def fill_reply(self, reply: array) -> None:  # type: ignore[type-arg]
        plant = self.plant
        reply[ch.IN_NOW_MS] = self.now_ms
        for i, name in enumerate(PROBES):
            reply[ch.IN_RTD + i] = plant.rtd_code(name)
        reply[ch.IN_PRESSURE_MMHG] = int(round(plant.pressure_mmhg))
        reply[ch.IN_RESERVOIR_LOW] = int(plant.reservoir_low())
        reply[ch.IN_AIR] = int(plant.air_in_line())
        reply[ch.IN_PUMP_STEPS] = int(plant.pump_steps)
        reply[ch.IN_HANG] = int(self.hang)
        flow_ma = plant.flow_sensor_ma()
        reply[ch.IN_FLOW_UA] = int(round(flow_ma * 1000.0)) if flow_ma >= 0.0 else -1
        current_ma = plant.heater_current_ma()
        reply[ch.IN_HEATER_CURRENT_UA] = int(round(current_ma * 1000.0)) if current_ma >= 0.0 else -1


class SideChannel:
    """The launcher's end of the side channel for one boot after another. ready is set once the
    board has had its first reply."""

    def __init__(self, world: World, pacer: Pacer, stopping: threading.Event, ready: threading.Event):
        self._world = world
        self._pacer = pacer
        self._stopping = stopping
        self._ready = ready

    def serve(self, from_board: int, to_board: int) -> str | None:
        """Answer the board's idle calls until it must reset (returns the cause) or we stop (None)."""
        world = self._world
        size = ch.OUT_WORDS * 4
        reply = array("i", [0] * ch.IN_WORDS)
        watchdog = Watchdog(world.now_ms)
        world.hang = False
        while True:
            data = _read_exact(from_board, size)
            if self._stopping.is_set():
                return None
            if data is None and world.outputs[ch.OUT_MODE] == ch.MODE_REPL:
                return IN_REPL
            if data is None:
                # The interpreter died (an uncaught exception). A real board sits in its REPL with the
                # outputs as last driven until the watchdog, if armed, resets it.
                timeout = world.outputs[ch.OUT_WDT_TIMEOUT_MS]
                if timeout <= 0:
                    return HALTED
                world.advance(max(world.now_ms, watchdog.last_feed_ms + timeout))
                return "watchdog"
            world.outputs = array("i", data)
            world.log_outputs()
            # Outside the lock: the relay must be free to wake it.
            target = self._pacer.pace(world.now_ms, world.outputs[ch.OUT_UNTIL_MS])
            world.advance(target)
            if watchdog.expired(world.outputs[ch.OUT_WDT_TIMEOUT_MS], world.outputs[ch.OUT_WDT_FEEDS],
                                world.now_ms):
                world.pending_reset = "watchdog"
            if world.pending_reset is not None:
                cause, world.pending_reset = world.pending_reset, None
                return cause
            world.fill_reply(reply)
            try:
                os.write(to_board, reply.tobytes())
            except OSError:
                if self._stopping.is_set():
                    return None
                continue  # the interpreter died mid-exchange; the next read sees it gone
            self._ready.set()


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
