"""Operator commands on a connected board: acknowledge alarms, session actions, configuration,
calibration of the pump tubing and the probes, and finding the board among the serial ports.

Each function takes an open BoardLink and returns lines for the operator; refusals come back from the
board as BoardError with its own message (the field and the allowed range or phases).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hipec.bridge import BoardLink
from hipec.tables import PROBE_NAMES as PROBES, protocol

# The board's phase commands an operator gives from the command line (start belongs to `hipec run`).
# A probe that gives no reading yet is asked again this often, this many times (a board's first readings
# come with its first control ticks, 100 ms apart) before it is called unconnected.
FIRST_READING_TRIES = 20
FIRST_READING_WAIT_S = 0.1
SESSION_ACTIONS = tuple(name for name in protocol.PHASE_COMMANDS if name != "start")
# USB vendor ids of boards that run MicroPython out of the box: Raspberry Pi (RP2040/RP2350 native USB),
# Espressif (ESP32-S2/S3/C3 native USB), and the USB-serial bridges common on ESP32 boards.
MICROPYTHON_VIDS = {0x2E8A: "Raspberry Pi RP2", 0x303A: "Espressif ESP32", 0x10C4: "CP210x (ESP32 boards)",
                    0x1A86: "CH34x (ESP32 boards)", 0xF055: "MicroPython (pyboard id)"}


@dataclass(frozen=True)
class Port:
    device: str
    description: str
    board: str  # what the USB id says it is, or "" when it is not a board this project knows


def list_ports() -> list[Port]:
    from serial.tools import list_ports as lp

    found = []
    for info in lp.comports():
        vid = info.vid if info.vid is not None else -1
        found.append(Port(info.device, info.description or "", MICROPYTHON_VIDS.get(vid, "")))
    from hipec.emulator import registry

    ordered = sorted(found, key=lambda p: (p.board == "", p.device))
    emulated = [Port(e.device, f"hipec emulate (pid {e.pid}): {e.what}", "emulated board") for e in registry.running()]
    return emulated + ordered


def acknowledge(link: BoardLink, alarm: str) -> list[str]:
    reply = link.request("ack_alarm", {"alarm": alarm})
    still = reply["alarms"]
    return [f"acknowledged {alarm}; active now: {', '.join(still) if still else 'none'}"]


def safe_mode_text(report: dict[str, Any]) -> str:
    """The board's safe-mode report (hello or status `safe_mode`) for the operator."""
    return (f"the board is in safe mode after {report['resets']} watchdog resets in a row: its stored settings "
            f"are not applied and its outputs are held off. Find the cause (the board's crash log, "
            f"`hipec config get`), then end it with `hipec leave-safe-mode`")


def leave_safe_mode(link: BoardLink) -> list[str]:
    reply = link.request("leave_safe_mode")
    return [f"safe mode ended; stored settings: {reply['settings']}"]


def session_action(link: BoardLink, action: str) -> list[str]:
    reply = link.request(action)
    return [f"{action}: phase now {reply['phase']}"]


def parse_setting(text: str) -> tuple[str, Any]:
    """NAME=VALUE, the value as JSON (numbers, lists like [0,0.1,0,0,0,0,0])."""
    if "=" not in text:
        raise ValueError(f"{text!r}: write settings as NAME=VALUE")
    name, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError(f"{name}: {raw!r} is not a number or a list of numbers") from None
    return name.strip(), value


def config_get(link: BoardLink, names: list[str]) -> list[str]:
    config = link.request("get_config")
    unknown = [n for n in names if n not in config]
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(unknown)}; the board has: {', '.join(sorted(config))}")
    return [f"{name} = {json.dumps(config[name])}" for name in (names or sorted(config))]


def config_set(link: BoardLink, settings: list[str]) -> list[str]:
    changes = dict(parse_setting(s) for s in settings)
    config = link.request("set_config", changes)
    return [f"{name} = {json.dumps(config[name])} (stored on the board)" for name in changes]


def calibrate_pump(link: BoardLink, revolutions: int, measured_ml: Callable[[], float],
                   poll_s: float = 0.5) -> list[str]:
    """Run the tubing calibration: the pump turns revolutions into a graduated vessel, the operator
    reads the volume; the board stores mL/rev."""
    link.request("pump_calibrate", {"revolutions": revolutions})
    while True:
        status = link.request("status")["calibration"]
        if not status["running"]:
            break
        time.sleep(poll_s)
    revolutions_done = float(status["revolutions_done"])
    volume = measured_ml()
    reply = link.request("pump_calibrate", {"measured_ml": volume})
    return [f"{revolutions_done:.3f} revolutions delivered {volume:g} mL: "
            f"{reply['ml_per_rev']:.3f} mL/rev stored on the board"]


def calibrate_probe(link: BoardLink, probe: str, reference_c: float) -> list[str]:
    """One-point calibration: with the probe and a reference thermometer in the same stirred bath, the
    offset is changed so the probe reads the reference. (The gain, for a two-point calibration, is set
    with `hipec config set probe_gain=[...]`.)"""
    if probe not in PROBES:
        raise ValueError(f"probe {probe!r} is not one of: {', '.join(PROBES)}")
    index = PROBES.index(probe)
    reading = None
    for _try in range(FIRST_READING_TRIES):  # a board that has just booted reads its probes at its first ticks
        reading = link.request("status")["temps_c"].get(probe)
        if reading is not None:
            break
        time.sleep(FIRST_READING_WAIT_S)
    if reading is None:
        raise ValueError(f"the {probe} probe gives no reading: connect it (and fit it with abdominal_probes)")
    offsets = list(link.request("get_config")["probe_offset_c"])
    new = offsets[index] + (reference_c - reading)
    if not -2.0 <= new <= 2.0:
        raise ValueError(f"{probe} reads {reading:.3f} °C against {reference_c:.3f}: an offset of {new:+.3f} °C "
                         "is outside -2..2 °C; check the probe and the bath instead")
    offsets[index] = round(new, 4)
    link.request("set_config", {"probe_offset_c": offsets})
    return [f"{probe} read {reading:.3f} °C, reference {reference_c:.3f} °C: offset {new:+.4f} °C stored"]
