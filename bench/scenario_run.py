"""One scenario of the campaign, run: the emulated MCU with the scenario's plant and fault schedule,
the real bridge (SessionRunner, the operator's actions carried out as the dashboard does, a killed
bridge restarted with --resume's logic), and what was observed for bench/scenario_check.py.

After the bridge has ended the board is asked for its status, then left alone with the cable out for
AFTERWARDS_S of board time, so a board that would start heating again by itself is seen doing it.
"""
from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hipec.bridge import BoardError, BoardLink
from hipec.cli import EXIT_LINK, EXIT_USAGE, error_exit, session_exit
from hipec.dashboard import Action, Dashboard, carry_out
from hipec.emulator.mcu import EmulatedMCU
from hipec.emulator.params import PlantParams
from hipec.runner import Progress, SessionRunner
from hipec.store import Store

from scenario_gen import BRIDGE_ACTIONS, HORIZON_S, OPERATOR_ACTIONS, Scenario, Step

# The bridge's wait for a lost link, in wall seconds (the CLI waits 30 s; the meaning is the same).
RECONNECT_S = 5.0
# Board seconds the board is watched after the bridge has ended, with nobody connected.
AFTERWARDS_S = 120.0
# Wall seconds a board alone at full speed may go without its clock moving before it counts as frozen.
STALL_S = 20.0
# Board seconds after the horizon's abort at which the bridge is stopped if the session still runs.
HORIZON_GRACE_S = 300.0


class BridgeKilled(Exception):
    """The bridge's process dies here (SIGKILL): nothing after this point of the loop happens."""

    def __init__(self, restart_after_s: float):
        super().__init__(f"killed; restarted after {restart_after_s} s")
        self.restart_after_s = restart_after_s


@dataclass
class Done:
    """An action carried out: board time, what, and whether the board accepted it."""
    t_ms: int
    what: str
    accepted: bool = True


@dataclass
class Observed:
    """Everything the checks need, besides the emulator's own logs and the record."""
    t0_ms: int = 0
    session_id: int = 0
    exit_status: int | None = None
    exit_error: str = ""
    done: list[Done] = field(default_factory=list)
    final_status: dict[str, Any] | None = None
    status_error: str = ""
    board_id: str = ""
    second_bridges: list[tuple[int, str, str]] = field(default_factory=list)  # (exit, stderr, its db)
    crash: str = ""  # an exception that escaped the bridge: a defect in itself
    stalled: str = ""  # the board left alone stopped running


class ScenarioRun:
    def __init__(self, scenario: Scenario, folder: Path):
        self.scenario = scenario
        self.folder = folder
        self.port = str(folder / "board")
        self.db = folder / "record.sqlite"
        self.mcu = EmulatedMCU(params=PlantParams(**scenario.plant), speed=None, host_sync=True,
                               port_link=folder / "board", settings_file=folder / "settings.cbor")
        self.actions = [s for s in scenario.steps if s.what in OPERATOR_ACTIONS + BRIDGE_ACTIONS]
        self.seen = Observed()
        self.dashboard = Dashboard(scenario.plan)
        self.runner: SessionRunner | None = None
        self.horizon_abort = False

    # ------------------------------------------------------------ the bridge and the people around it

    def on_progress(self, p: Progress) -> None:
        assert self.runner is not None
        self.dashboard.update(p)
        t_ms = int(p.record["t_ms"])
        while self.actions and t_ms >= self.seen.t0_ms + self.actions[0].at_s * 1000:
            self.act(self.actions.pop(0), t_ms)
        horizon_ms = self.seen.t0_ms + HORIZON_S * 1000
        if t_ms >= horizon_ms and not self.horizon_abort:
            self.horizon_abort = True
            self.operator("abort", {}, t_ms)
        if t_ms >= horizon_ms + HORIZON_GRACE_S * 1000:
            self.runner.stop()

    def act(self, step: Step, t_ms: int) -> None:
        if step.what == "bridge_kill":
            raise BridgeKilled(step.values["restart_after_s"])
        if step.what == "second_bridge":
            other_db = self.folder / f"second-{len(self.seen.second_bridges)}.sqlite"
            cmd = [sys.executable, "-m", "hipec", "run", "--port", self.port, "--headless", "--db", str(other_db)]
            # Waited for here, while this bridge holds the port: started and left to itself, a second
            # bridge slow to start (a loaded machine) could find the port free once this one had ended,
            # and then be a bridge of its own rather than one refused.
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                _out, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                _out, err = proc.communicate()
            self.seen.second_bridges.append((proc.returncode, err, str(other_db)))
            self.seen.done.append(Done(t_ms, step.what))
            return
        detail = dict(step.values)
        if "heart_rate_bpm" in detail:
            detail["heart_rate_bpm"] = int(detail["heart_rate_bpm"])
        self.operator(step.what, detail, t_ms)

    def operator(self, what: str, detail: dict[str, Any], t_ms: int) -> None:
        assert self.runner is not None
        runner = self.runner
        said = len(self.dashboard.messages)
        carry_out(Action(what, detail), runner.link.request,
                  lambda kind, d: runner.store.add_event(runner.session_id, kind, d), self.dashboard)
        refused = any("refused" in m for m in self.dashboard.messages[said:])
        self.seen.done.append(Done(t_ms, what, accepted=not refused))

    def new_runner(self, store: Store, link: BoardLink) -> SessionRunner:
        runner = SessionRunner(link, store, self.scenario.plan, self.on_progress,
                               reconnect=lambda: BoardLink(self.port), reconnect_s=RECONNECT_S)
        self.runner = runner
        return runner

    def bridge(self) -> None:
        """`hipec run --headless`, and after each kill `hipec run --resume --headless`, to the end."""
        store = Store(self.db)
        try:
            link = BoardLink(self.port)
        except OSError as exc:
            self.seen.exit_status, self.seen.exit_error = error_exit(exc), str(exc)
            return
        # The site's technician stores the circuit's settings and acknowledges what the board raised
        # while it read the probes with the factory ones. A pair the board refuses (rtd_ref / rtd_r0
        # out of range) leaves it on the factory settings, as that site would find it.
        try:
            link.request("set_config", self.scenario.config)
        except BoardError:
            pass
        self.mcu.wait_until(self.mcu.now_ms + 1000)
        link.request("ack_alarm", {"alarm": "all"})
        self.seen.t0_ms = self.mcu.now_ms
        self.seen.board_id = str(link.request("hello").get("board_id", ""))
        for step in self.scenario.steps:
            if step.what not in OPERATOR_ACTIONS + BRIDGE_ACTIONS:
                self.mcu.schedule(self.seen.t0_ms + int(step.at_s * 1000), step.what, probe=step.probe,
                                  duration_s=step.duration_s, **step.values)
        resuming = False
        while True:
            try:
                runner = self.new_runner(store, link)
                if not resuming:
                    # The start the runner sends follows this moment: heating is allowed from here.
                    self.seen.done.append(Done(self.mcu.now_ms, "start"))
                    outcome = runner.run()
                else:
                    unfinished = store.unfinished_session()
                    if unfinished is None:
                        self.seen.exit_status, self.seen.exit_error = EXIT_USAGE, "no unfinished session to resume"
                        break
                    outcome = runner.resume(unfinished.id)
                self.seen.session_id = outcome.session_id
                self.seen.exit_status = session_exit(outcome.phase)
                break
            except BridgeKilled as kill:
                resuming = True
                self.seen.session_id = self.runner.session_id if self.runner else 0
                self.close(link)
                store.close()
                time.sleep(kill.restart_after_s)
                store = Store(self.db)
                link = self.reopen()
                if link is None:
                    self.seen.exit_status, self.seen.exit_error = EXIT_LINK, "the port never came back after a restart"
                    break
            except Exception as exc:
                status = error_exit(exc)
                if status is None:
                    self.seen.crash = f"{type(exc).__name__}: {exc}"
                    raise
                self.seen.exit_status, self.seen.exit_error = status, str(exc)
                break
        if self.runner is not None and not self.seen.session_id:
            self.seen.session_id = self.runner.session_id
        self.close(link)
        store.close()

    def close(self, link: BoardLink) -> None:
        """What the process's end does: every port it had open is closed (the runner may have reopened it)."""
        link.close()
        if self.runner is not None and self.runner.link is not link:
            self.runner.link.close()

    def reopen(self) -> BoardLink | None:
        """A restarted bridge whose port is not there yet (the cable is out) is started again."""
        deadline = time.monotonic() + RECONNECT_S
        while True:
            try:
                return BoardLink(self.port)
            except OSError:
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.2)

    # ------------------------------------------------------------ the whole run

    def run(self) -> Observed:
        self.mcu.start()
        try:
            self.bridge()
            self.afterwards()
        finally:
            self.mcu.stop()
        return self.seen

    def afterwards(self) -> None:
        """The board answers status once the bridge has gone; then, alone, it must stay safe."""
        self.mcu.inject("link_replug")  # a cable never plugged back in is, by the technician
        deadline = time.monotonic() + RECONNECT_S
        while self.seen.final_status is None:
            try:
                with BoardLink(self.port) as link:
                    self.seen.final_status = link.request("status")
            except OSError as exc:  # the cable may be out for a while yet
                self.seen.status_error = str(exc)
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        # Alone means the cable out (a schedule may still plug it back: out again at once), so the
        # board runs at full speed; a board whose clock stops meanwhile has frozen.
        until_ms = self.mcu.now_ms + int(AFTERWARDS_S * 1000)
        last_ms, last_moved = self.mcu.now_ms, time.monotonic()
        while self.mcu.now_ms < until_ms and not self.mcu.halted and self.mcu.failed is None:
            if self.mcu.plugged:
                self.mcu.inject("link_unplug")
            time.sleep(0.01)
            if self.mcu.now_ms != last_ms:
                last_ms, last_moved = self.mcu.now_ms, time.monotonic()
            elif time.monotonic() - last_moved > STALL_S:
                self.seen.stalled = f"its clock stopped at {last_ms / 1000:.1f} s with the cable out"
                break
