"""A whole session on the emulated MCU in lockstep: the real firmware under MicroPython, the real link
(pyserial on the pseudo-terminal), and every request landing on a board tick the session alone fixes,
so that a rerun of the same plant and seed gives the same figures to the last digit.

The host holds the board's clock (EmulatedMCU(lockstep=True), host/hipec/emulator/pacing.py): the
board runs STEP_MS of board time as fast as the CPU allows, waits there with every tick up to that
instant done, and is asked for what it recorded meanwhile. Whatever the session does (the plan and the
start once the board has made its first tick; a flow change; a pull of its records) is sent while the
board waits, so it takes effect at that very instant; plant events go into the plant's schedule at
their board time; the converters' noise is drawn per tick from the seed (plant.py). The site's
settings are in the board's flash before it boots, as a configured board's are (written by the
firmware's own settings code): sent after boot, they would land after a first tick made with the
defaults, whose readings of another converter latch alarms. How fast the host, the board or the
machine happened to be changes only the wall time a run takes.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hipec import firmware_build
from hipec.bridge import BoardLink, PortBusy
from hipec.emulator.mcu import EmulatedMCU, TruthSample
from hipec.emulator.params import PlantParams
from hipec.runner import Plan
from hipec.tables import PHASE_NAMES, TELEMETRY_FIELDS, phase_names, protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plant_file import settings_record  # noqa: E402

# Board time between two looks at the board: a record per look at the default telemetry period, and a
# request every second of board time, far inside the board's 5 s link timeout.
STEP_MS = 1000
# Wall seconds the board may take to run one step, or to answer a request, on a machine busy with other
# work: waiting costs the board nothing (its clock does not move meanwhile), so this only catches a hang.
WALL_TIMEOUT_S = 300.0
# Boards booted for one session when another process takes the pseudo-terminal first.
PORT_TRIES = 3
# A session that reaches one of these is over for a benchmark (a pause would wait for an operator).
ENDED = phase_names(protocol.FINAL + (protocol.PAUSED,))


@dataclass
class SessionTrace:
    """What one session did: the board's records and alarms beside the plant's truth."""
    outcome: str  # the phase it ended in, or was in when the session was given up
    given_up: bool  # still running at the give-up time (a stall, if no alarm says why)
    records: list[dict[str, int]]
    alarms_raised: list[tuple[int, str]]  # (board ms, alarm) in the order raised
    status: dict[str, Any]  # the board's status at the end
    diagnostics: dict[int, dict[str, Any]]  # board ms -> the diagnostics reply asked for then
    truth: list[TruthSample]
    delivered_ml: float  # what the plant really received through the pump
    end_ms: int


@dataclass
class LiveSession:
    """The session while it runs, as the step callback sees it: it may send requests (they land now)
    and schedule plant events at a board time."""
    mcu: EmulatedMCU
    link: BoardLink
    now_ms: int = 0
    records: list[dict[str, int]] = field(default_factory=list)
    alarms_raised: list[tuple[int, str]] = field(default_factory=list)
    event_next: int = 1

    @property
    def phase(self) -> str:
        return PHASE_NAMES[self.records[-1]["phase"]] if self.records else "IDLE"

    def request(self, msg_type: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.link.request(msg_type, fields)

    def schedule(self, at_ms: int, kind: str, probe: str | None = None, duration_s: float | None = None,
                 **values: float) -> None:
        self.mcu.schedule(at_ms, kind, probe, duration_s, **values)

    def first_ms(self, phase: str) -> int | None:
        """Board time of the first record in that phase."""
        return next((r["t_ms"] for r in self.records if PHASE_NAMES[r["phase"]] == phase), None)

    def pull(self, since: int) -> int:
        """Every record from since on and every event logged meanwhile; returns the next record's seq."""
        while True:
            reply = self.request("telemetry_pull", {"since": since, "max": protocol.PULL_MAX_RECORDS})
            for record in reply["records"]:
                self.records.append(dict(zip(TELEMETRY_FIELDS, record)))
                since = record[0] + 1
            if reply["event_next"] > self.event_next:
                self._pull_events(int(reply["event_next"]))
            if len(reply["records"]) < protocol.PULL_MAX_RECORDS:
                return since

    def _pull_events(self, board_next: int) -> None:
        while self.event_next < board_next:
            events = self.request("events_pull", {"since": self.event_next})["events"]
            if not events:
                return
            for event in events:
                self.event_next = int(event["seq"]) + 1
                if event["type"] == "alarm" and event["state"] == "raised":
                    self.alarms_raised.append((int(event["t_ms"]), str(event["alarm"])))


def _follow(mcu: EmulatedMCU, link: BoardLink, plan: Plan, give_up_ms: int,
            on_step: Callable[[LiveSession], None] | None,
            diagnostics_at_ms: tuple[int, ...]) -> tuple[LiveSession, dict[str, Any], dict[int, dict[str, Any]]]:
    live = LiveSession(mcu, link)
    status = link.request("status")
    if status["settings"] != "loaded":
        raise RuntimeError(f"the board did not load the settings it was given: {status['settings']}")
    live.event_next = int(status["event_next"])
    link.request("set_plan", plan.fields())
    since = int(link.request("start")["telemetry_next"])
    diagnostics: dict[int, dict[str, Any]] = {}
    pending = sorted(diagnostics_at_ms)
    while True:
        live.now_ms += STEP_MS
        if not mcu.run_until(live.now_ms, WALL_TIMEOUT_S):
            raise RuntimeError(f"the emulated MCU did not reach {live.now_ms} ms of board time in "
                               f"{WALL_TIMEOUT_S:.0f} s: {mcu.failed or mcu.stderr_tail()[-500:]}")
        since = live.pull(since)
        while pending and live.now_ms >= pending[0]:
            diagnostics[pending.pop(0)] = link.request("diagnostics")
        if on_step is not None:
            on_step(live)
        if live.phase in ENDED or live.now_ms >= give_up_ms:
            break
    status = link.request("status")
    diagnostics[live.now_ms] = link.request("diagnostics")
    return live, status, diagnostics


def _boot_and_follow(params: PlantParams, plan: Plan, config: dict[str, Any] | None, give_up_ms: int,
                     on_step: Callable[[LiveSession], None] | None, diagnostics_at_ms: tuple[int, ...],
                     firmware: Path | None) -> tuple[EmulatedMCU, LiveSession, dict[str, Any], dict[int, dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="hipec-lockstep-") as folder:
        device = Path(folder) / "board"
        shutil.copytree(firmware or firmware_build.build("emulated"), device)
        (device / "settings.cbor").write_bytes(settings_record(config or {}))
        mcu = EmulatedMCU(params=params, speed=None, lockstep=True, device_dir=device)
        mcu.start()
        try:
            # The board's first tick made, and waiting at 0 before the host says anything.
            if not mcu.run_until(0, WALL_TIMEOUT_S):
                raise RuntimeError(f"the emulated MCU did not boot: {mcu.failed or mcu.stderr_tail()[-500:]}")
            with BoardLink(mcu.device, reply_timeout_s=WALL_TIMEOUT_S / 4) as link:
                live, status, diagnostics = _follow(mcu, link, plan, give_up_ms, on_step, diagnostics_at_ms)
        finally:
            mcu.stop()
    return mcu, live, status, diagnostics


def run_session(params: PlantParams, plan: Plan, config: dict[str, Any] | None = None,
                give_up_ms: int | None = None, on_step: Callable[[LiveSession], None] | None = None,
                diagnostics_at_ms: tuple[int, ...] = (), firmware: Path | None = None) -> SessionTrace:
    """One whole session from board time 0 (config: the settings in the board's flash when it boots): the
    plan and the start after its first tick, then STEP_MS at a time until it ends (ENDED) or give_up_ms
    (default: twice the plan's treatment and an hour) has passed. on_step is called after each step's
    records are in; the board's diagnostics are asked for at each time in diagnostics_at_ms (rounded up
    to a step) and at the end. firmware: a build to run (a directory of hipec.firmware_build, copied
    as a board is flashed), by default the working tree's."""
    if give_up_ms is None:
        give_up_ms = int((2 * plan.duration_min + 60) * 60000)
    for attempt in range(1, PORT_TRIES + 1):
        try:
            mcu, live, status, diagnostics = _boot_and_follow(params, plan, config, give_up_ms, on_step,
                                                              diagnostics_at_ms, firmware)
            break
        except PortBusy:
            # Another process opened this board's pseudo-terminal before us (a bridge reopening the
            # device name another emulator's board once had): nothing has happened on the board yet,
            # so a new one, on a new terminal, runs the same session.
            if attempt == PORT_TRIES:
                raise
    return SessionTrace(outcome=str(status["phase"]), given_up=status["phase"] not in ENDED, records=live.records,
                        alarms_raised=live.alarms_raised, status=status, diagnostics=diagnostics,
                        truth=list(mcu.truth), delivered_ml=mcu.plant.delivered_ml, end_ms=live.now_ms)
