"""Running one treatment session from the bedside: push the plan, confirm it, start, record to the end.

Every telemetry record the board produces is pulled (from its ring, by sequence number) and stored;
the loop ends when the board reports a final phase and nothing is left to pull.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import serial

from hipec.bridge import BoardError, BoardLink, LinkTimeout
from hipec.operate import safe_mode_text
from hipec.starting import start_when_ready
from hipec.session_model import BoardClock, OtherBoard, Outcome, Plan, Progress, SessionError, same_value
from hipec.store import DISCONNECTED, Store
from hipec.tables import TELEMETRY_FIELDS, phase_names, protocol

__all__ = ["SessionRunner", "Plan", "Progress", "Outcome", "SessionError", "OtherBoard", "BoardClock",
           "INTERRUPTED", "STOPPED", "NOT_STARTED", "FINAL_PHASES", "LINK_ERRORS", "PROTOCOL_VERSION"]

PROTOCOL_VERSION: int = protocol.PROTOCOL_VERSION
# The outcome of a session the board reset under (it came back at rest, as it always does).
INTERRUPTED = "INTERRUPTED"
# The outcome of a session the board took to COMPLETE after the operator's stop, short of its planned
# treatment time (the board's own timer and plan say so): not a completed treatment.
STOPPED = "STOPPED"
# The outcome of a session the board refused to start (it is kept, and listed as such).
NOT_STARTED = "NOT_STARTED"
FINAL_PHASES = phase_names(protocol.FINAL)
# A session the board still carries on (or holds, to be resumed).
HELD_OR_RUNNING = phase_names(protocol.RUNNING) + ("PAUSED",)
# What a pulled cable or a rebooting board looks like from the host's side.
LINK_ERRORS = (LinkTimeout, serial.SerialException, OSError)
PULL_MAX: int = protocol.PULL_MAX_RECORDS
# Once caught up with the board, pauses between pulls grow from the first to the last value; the
# longest pause is also capped at one second of the board's own time, because an emulated board may
# run its clock faster than the wall's and supervises the host on its own clock.
IDLE_POLL_FIRST_S = 0.001
IDLE_POLL_MAX_S = 0.25
# The host speaks at least this often in board time (the board's link timeout is 5 s).
HEARTBEAT_BOARD_S = 1.0


class SessionRunner:
    def __init__(self, link: BoardLink, store: Store, plan: Plan,
                 on_progress: Callable[[Progress], None] | None = None,
                 reconnect: Callable[[], BoardLink] | None = None, reconnect_s: float = 30.0,
                 plan_record: dict[str, Any] | None = None):
        self.link = link
        self.plan_record = plan_record  # the whole session plan (patient, drugs, scores, overrides)
        self.reconnect = reconnect
        self.reconnect_s = reconnect_s
        self.final_phases: tuple[str, ...] = FINAL_PHASES
        self.stop_requested = False
        # When stop() was asked while the board still runs the session: leave it open in the record
        # (the operator left the dashboard) instead of ending it in the phase of the moment.
        self.leave_running = False
        self.since = 1
        self.stored = 0
        self.last: dict[str, int] | None = None
        self.phase_names: list[str] = []
        self.store = store
        self.plan = plan
        self.on_progress = on_progress
        self.on_wait: Callable[[str], None] | None = None  # told what the board waits for before it starts
        self.phases: list[str] = []
        self.first_seq = 1
        self.clock = BoardClock()
        self.boot_id = 1
        self.event_next = 1  # the board's next event sequence number not yet stored
        self.session_id = 0  # the record's session, once prepared
        self.config: dict[str, Any] = {}  # the board's configuration, once prepared or resumed
        self.resets = 0  # board resets followed during this session
        self.board_id = ""  # the identity of the session's board (hello.board_id)
        self.other_boards: set[str] = set()  # boards found on the port that were not the session's

    def prepare(self) -> tuple[int, dict[str, Any]]:
        hello = self.link.request("hello")
        if hello.get("protocol") != PROTOCOL_VERSION:
            raise SessionError(f"board speaks protocol {hello.get('protocol')}, this bridge {PROTOCOL_VERSION}")
        if hello.get("safe_mode"):
            raise SessionError(safe_mode_text(hello["safe_mode"]) + "; not started")
        tables = self.link.request("describe")
        if tuple(tables.get("telemetry_fields", ())) != TELEMETRY_FIELDS:
            raise SessionError("board's telemetry fields differ from this bridge's record layout")
        # Every board event from this moment on goes into the record (the plan and the start below
        # already make some), and the alarms active before it are recorded as they stand.
        self.boot_id = int(hello["boot_id"])
        self.board_id = str(hello.get("board_id", ""))
        self.event_next = int(self.link.request("status")["event_next"])
        active = self.link.request("get_alarms")["alarms"]
        accepted = self.push_plan()
        self.config = self.link.request("get_config")
        session_id = self.store.new_session(str(hello.get("board")), str(hello.get("firmware")), accepted,
                                            hello, tables, self.config)
        self.session_id = session_id
        self.store.add_event(session_id, "hello", hello)
        if active:
            self.store.add_event(session_id, "alarms_active_at_connect", {"alarms": active})
        self.store.add_event(session_id, "plan_accepted", accepted)
        if self.plan_record is not None:
            self.store.add_event(session_id, "session_plan", self.plan_record)
            for override in self.plan_record.get("overrides", []):
                self.store.add_event(session_id, "override", override)
        return session_id, hello

    def push_plan(self) -> dict[str, Any]:
        """Send the plan and check the board holds exactly it; returns the plan as the board accepted it."""
        accepted: dict[str, Any] = self.link.request("set_plan", self.plan.fields())
        for key, value in self.plan.fields().items():
            if not same_value(accepted.get(key), value):
                raise SessionError(f"board holds {key} = {accepted.get(key)!r}, plan says {value!r}")
        return accepted

    def run(self) -> Outcome:
        session_id, _hello = self.prepare()
        try:
            started, _none = start_when_ready(self.link, lambda message: self.waiting(session_id, message))
        except (BoardError, SessionError) as exc:
            # The record says so: a session the board never started is not taken for one that ran.
            refusal = exc.message if isinstance(exc, BoardError) else str(exc)
            self.store.add_event(session_id, "start_refused", {"message": refusal})
            self.store.end_session(session_id, NOT_STARTED)
            raise SessionError(f"the board did not start the session: {refusal}") from None
        self.store.add_event(session_id, "operator", {"action": "start"})
        return self.follow(session_id, int(started["telemetry_next"]))

    def waiting(self, session_id: int, message: str) -> None:
        """The board is not ready to start yet: the record and the operator hear what it waits for."""
        self.store.add_event(session_id, "start_waits", {"message": message})
        if self.on_wait is not None:
            self.on_wait(message)

    def resume(self, session_id: int) -> Outcome:
        """Carry on recording a session a previous bridge started (it was stopped or killed): from the
        record after the last one stored, backfilled from the board's ring; a board that reset
        meanwhile ends it INTERRUPTED, its reset recorded."""
        self.session_id = session_id
        row = self.store.session(session_id)
        hello = self.link.request("hello")
        self.board_id = str((row.hello or {}).get("board_id", ""))
        self._same_board(session_id, hello)
        boot = int(hello["boot_id"])
        last = self.store.last_record(session_id)
        session_boot = last[0] if last else int((row.hello or {}).get("boot_id", boot))
        self.phase_names = list(self.link.request("describe")["phases"])
        self.config = row.config or self.link.request("get_config")
        if session_boot == boot and self.link.request("status")["phase"] == "IDLE":
            raise SessionError(f"session {session_id} is not running on this board any more "
                               f"(phase IDLE, boot {boot}); nothing to resume")
        self.store.add_event(session_id, "bridge_resumed", {"boot_id": boot, "last_stored": list(last or ())})
        self.stored = 0
        if session_boot != boot:
            # The board reset while no bridge was there and came back at rest: the reset and what the
            # new boot logged go into the record, and the session ends INTERRUPTED (a later --resume
            # offers to continue it).
            self.boot_id = session_boot
            self._new_boot(session_id, hello)
            self.first_seq = 1
        else:
            self.first_seq = self.since = last[1] + 1 if last else 1
            self.boot_id = boot
            self.event_next = self.store.last_board_event(session_id, boot) + 1
        return self._follow_loop(session_id)

    def follow(self, session_id: int, since: int) -> Outcome:
        """Store every record and event until the session ends (or stop() is called), reconnecting
        through link losses and following the board across a reset."""
        self.first_seq = since
        self.since = since
        self.stored = 0
        self._attach(session_id, first=self.session_id != session_id)  # prepare() has attached already
        return self._follow_loop(session_id)

    def follow_started(self, session_id: int) -> Outcome:
        """Follow a session already attached and started (a continuation) to its end."""
        return self._follow_loop(session_id)

    def _follow_loop(self, session_id: int) -> Outcome:
        pause = IDLE_POLL_FIRST_S
        while not self.stop_requested:
            try:
                got = self._pull_once(session_id)
            except LINK_ERRORS as exc:
                self.store.add_event(session_id, "link_lost", {"error": str(exc)})
                if not self._reconnect(session_id):
                    break
                continue
            if got:
                pause = IDLE_POLL_FIRST_S
                continue
            if self.last is not None and self.phase_names[self.last["phase"]] in self.final_phases:
                break
            try:
                self.link.keepalive(self.clock.wall_s(HEARTBEAT_BOARD_S))
            except LINK_ERRORS:
                continue  # the next pull notices and reconnects
            time.sleep(pause)
            pause = min(pause * 2, IDLE_POLL_MAX_S, self.clock.wall_s(HEARTBEAT_BOARD_S))
        try:
            status = self.link.request("status")
            # A board that reset comes back at rest and does not carry the session on: the record says
            # the session was interrupted, not that it ended in IDLE.
            phase = status["phase"]
            if self.resets and phase == "IDLE":
                phase = INTERRUPTED
            elif phase == "COMPLETE" and int(status["treatment_s"]) < int(status["duration_s"]):
                phase = STOPPED
            outcome = Outcome(session_id=session_id, phase=phase, records=self.stored,
                              treatment_s=int(status["treatment_s"]), fault=str(status["fault"]),
                              phases_seen=list(self.phases))
        except LINK_ERRORS:
            last = self.last or {}
            outcome = Outcome(session_id=session_id, phase=DISCONNECTED, records=self.stored,
                              treatment_s=int(last.get("treatment_s", 0)), phases_seen=list(self.phases))
        if self.stop_requested and self.leave_running and outcome.phase in HELD_OR_RUNNING:
            # The operator left the bridge while the board carries on: the session stays open in the
            # record, for `hipec run --resume` to carry on.
            outcome.ended = False
        else:
            self.store.end_session(session_id, outcome.phase)
        return outcome

    def stop(self) -> None:
        """Ask follow() to return after the current pull (from on_progress, for instance)."""
        self.stop_requested = True

    def _attach(self, session_id: int, first: bool) -> None:
        """Learn the board's boot and event position; after a reset, follow the new boot from 1."""
        hello = self.link.request("hello")
        self._same_board(session_id, hello)
        self.phase_names = list(self.link.request("describe")["phases"])
        boot = int(hello["boot_id"])
        if first:
            self.boot_id = boot
            self.event_next = int(self.link.request("status")["event_next"])
        elif boot != self.boot_id:
            self._new_boot(session_id, hello)

    def _same_board(self, session_id: int, hello: dict[str, Any]) -> None:
        """Refuse a board that is not the session's (another board on a reused port): recorded as an
        alarm of the bridge's, and nothing of it stored."""
        found = str(hello.get("board_id", ""))
        if self.board_id and found != self.board_id:
            if found not in self.other_boards:  # once per board found, not once per try
                self.other_boards.add(found)
                self.store.add_event(session_id, "board_mismatch", {"expected": self.board_id, "found": found,
                                                                    "port": self.link.port})
            raise OtherBoard(f"{self.link.port} answers as board {found}, not {self.board_id} of session "
                             f"{session_id}; nothing of it recorded")

    def _new_boot(self, session_id: int, hello: dict[str, Any]) -> None:
        """The board rebooted (its hello says so): record the reset and its cause, and follow the new
        boot's records and events from their first."""
        boot = int(hello["boot_id"])
        self.resets += 1
        self.store.add_event(session_id, "board_reset", {"boot_id": boot, "reset_cause": hello["reset_cause"],
                                                         "previous_boot_id": self.boot_id})
        self.boot_id = boot
        self.since = 1
        self.event_next = 1
        if "IDLE" not in self.final_phases:
            self.final_phases = self.final_phases + ("IDLE",)  # a reset board does not resume a session

    def _check_boot(self, session_id: int, boot: int) -> bool:
        """Whether a reply or event of this boot means the board has rebooted since; if so, follow it.
        Every reply and push the board sends for records and events names its boot, so a reset the
        link survived (a power loss of the board alone, its watchdog) is seen at the next of them."""
        if boot == self.boot_id:
            return False
        hello = self.link.request("hello")
        self._same_board(session_id, hello)
        if int(hello["boot_id"]) != self.boot_id:
            self._new_boot(session_id, hello)
        return True

    def _reconnect(self, session_id: int) -> bool:
        """Open the port again until it answers, within reconnect_s of wall time."""
        if self.reconnect is None:
            raise SessionError("link to the board lost and no way to reconnect was given")
        deadline = time.monotonic() + self.reconnect_s
        while time.monotonic() < deadline and not self.stop_requested:
            try:
                self.link.close()
            except LINK_ERRORS:
                pass
            try:
                self.link = self.reconnect()
                self._attach(session_id, first=False)
                self.store.add_event(session_id, "link_restored", {"boot_id": self.boot_id})
                return True
            except OtherBoard:
                self.link.close()  # nothing more is asked of that board, not even the final status
                time.sleep(0.2)  # the session's board may still come back on the port
            except LINK_ERRORS:
                time.sleep(0.02)
        return False

    def _pull_once(self, session_id: int) -> bool:
        reply = self.link.request("telemetry_pull", {"since": self.since, "max": PULL_MAX})
        if self._check_boot(session_id, int(reply["boot_id"])):
            return True  # pull again, from the new boot's first record
        records = reply["records"]
        if records and records[0][0] > self.since:
            self.store.add_event(session_id, "gap", {"boot_id": self.boot_id, "from": self.since,
                                                     "to": records[0][0] - 1})
        self.stored += self.store.add_telemetry(session_id, records, self.boot_id)
        self._drain_events(session_id)
        if reply["event_next"] > self.event_next:
            self._pull_events(session_id, reply["event_next"])
        for record in records:
            self.since = record[0] + 1
            self.last = dict(zip(TELEMETRY_FIELDS, record))
            name = self.phase_names[self.last["phase"]]
            if not self.phases or self.phases[-1] != name:
                self.phases.append(name)
            if self.on_progress is not None:
                self.on_progress(Progress(self.last, name, self.stored))
        if records:
            self.clock.observe(records[-1][1])
        return bool(records)

    def _drain_events(self, session_id: int) -> None:
        while self.link.events:
            msg = self.link.events.popleft()
            fields = dict(msg.fields)
            boot = int(fields.pop("boot_id", self.boot_id))
            if boot != self.boot_id:
                if msg.type in ("state", "alarm") and boot < self.boot_id:
                    # pushed before the reset, read after it: it belongs to the boot it names
                    self.store.add_event(session_id, msg.type, fields, boot, int(fields["seq"]))
                elif msg.type == "heartbeat":
                    self._check_boot(session_id, boot)
                continue  # a newer boot's records and events are pulled from their first
            if msg.type == "telemetry":
                record = fields["record"]
                if record[0] >= self.first_seq:
                    self.store.add_telemetry(session_id, [record], self.boot_id)  # idempotent on seq
            elif msg.type in ("state", "alarm"):
                self._store_board_event(session_id, msg.type, fields)

    def _store_board_event(self, session_id: int, kind: str, fields: dict[str, Any]) -> None:
        seq = int(fields["seq"])
        if seq == self.event_next:
            self.event_next = seq + 1
        if seq < self.event_next:
            self.store.add_event(session_id, kind, fields, self.boot_id, seq)
        # A push that arrives ahead of a missing one waits: _pull_events fetches everything in order.

    def _pull_events(self, session_id: int, board_next: int) -> None:
        """Fetch the events the board logged that no push delivered (the link was down)."""
        while self.event_next < board_next:
            reply = self.link.request("events_pull", {"since": self.event_next})
            if not reply["events"]:
                break
            for event in reply["events"]:
                kind = event.pop("type")
                if event["seq"] > self.event_next:
                    self.store.add_event(session_id, "gap", {"events_from": self.event_next,
                                                             "to": event["seq"] - 1})
                self.event_next = event["seq"] + 1
                self.store.add_event(session_id, kind, event, self.boot_id, event["seq"])
