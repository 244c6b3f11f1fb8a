"""The operator's keys on the dashboard: single keys for the everyday actions, a typed word to confirm
the ones that end or restart therapy, and ':' command lines for patient values and notes.

`s` stop, `a` abort, `r` after a fault and `q` (leave the bridge) each ask for their word typed and
Enter (Esc or any other word cancels; an unanswered question lapses after PROMPT_TIMEOUT_S). A patient
value that is implausible (vitals.py) asks for `yes` before it is sent. Keys are read on their own
thread and the actions queued; the session runner's thread carries them out between pulls.
"""
from __future__ import annotations

import os
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hipec.vitals import BY_COMMAND, VitalsInputError, parse_value

if TYPE_CHECKING:
    from hipec.dashboard import Dashboard

# A question not answered in this long is withdrawn: a keystroke long after must not confirm it.
PROMPT_TIMEOUT_S = 20.0
KEYS = "p pause · r resume · s stop · a abort · k ack all · d drug added · : core/hr/note · q quit"
KEYS_SHORT = "p pause · r resume · s stop · a abort · k ack · d drug · : core/hr/note · q quit"


@dataclass
class Action:
    """An operator action the runner thread carries out."""
    kind: str  # pause, resume, stop, abort, ack, event, vitals, quit
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prompt:
    """A question waiting for its word: the action it confirms and what was asked."""
    word: str
    question: str
    action: Action
    asked_at: float = field(default_factory=lambda: time.monotonic())
    asked_session_s: float = 0.0


class CommandError(ValueError):
    """A ':' command that is not understood, in one line with what is understood."""


def parse_command(line: str) -> Action:
    """A typed command after ':' — `core 37.8`, `hr 95`, `core clear`, `note <text>`."""
    words = line.strip().split(None, 1)
    if not words:
        raise CommandError("nothing typed: core 37.8, hr 95, core clear, note <text>")
    verb, rest = words[0].lower(), (words[1] if len(words) > 1 else "")
    sign = BY_COMMAND.get(verb)
    if sign is not None:
        try:
            return Action("vitals", {sign.field: parse_value(sign, rest)})
        except VitalsInputError as exc:
            raise CommandError(str(exc)) from None
    if verb == "note":
        if not rest.strip():
            raise CommandError("note needs its text: note anaesthetist informed")
        return Action("event", {"note": rest.strip()})
    raise CommandError(f"{line.strip()!r} not understood: core 37.8, hr 95, core clear, note <text>")


QUESTIONS = {
    "stop": "End the treatment early (COOLDOWN, then DRAIN)?",
    "abort": "Abort at once (heater off, bypass open)?",
    "quit": "Leave the bridge? (the board carries on; `hipec run --resume` comes back)",
}


class KeyReader:
    """Reads single keys (and ':' command lines) from a terminal on a thread, queueing actions."""

    def __init__(self, dashboard: Dashboard, actions: queue.Queue[Action]):
        self.dashboard = dashboard
        self.actions = actions
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="keys", daemon=True)

    def start(self) -> None:
        if sys.stdin.isatty():
            self.thread.start()

    def stop(self) -> None:
        self.stopped.set()

    def _run(self) -> None:
        import select
        import termios
        import tty

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
        try:
            tty.setcbreak(fd)
            while not self.stopped.is_set():
                ready, _w, _x = select.select([fd], [], [], 0.2)
                if ready:
                    # Straight from the descriptor: a buffered read would keep the rest of what was typed
                    # in its buffer, where select() does not see it, until the next key.
                    for ch in os.read(fd, 1024).decode(errors="replace"):
                        self.key(ch)
                else:
                    self.dashboard.lapse_prompt()
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    def ask(self, word: str, question: str, action: Action) -> None:
        d = self.dashboard
        d.prompt = Prompt(word, question, action,
                          asked_session_s=d.state.now_s())
        d.typing = ""

    def _answer(self, typed: str) -> None:
        d = self.dashboard
        prompt = d.prompt
        assert prompt is not None
        d.prompt, d.typing = None, None
        action = prompt.action
        if typed.strip().lower() == prompt.word:
            action.detail.update({"confirmed": f"typed {prompt.word}", "asked_session_s": prompt.asked_session_s})
            self.actions.put(action)
        else:
            d.say(f"not confirmed: {action.kind} not done")
            self.actions.put(Action("declined", {"of": action.kind, **action.detail}))

    def _command(self, line: str) -> None:
        d = self.dashboard
        try:
            action = parse_command(line)
        except CommandError as exc:
            d.say(str(exc))
            return
        for name, value in action.detail.items():
            doubt = d.doubt(name, value)
            if doubt:
                self.ask("yes", f"{doubt}: send it?", action)
                return
        self.actions.put(action)

    def key(self, ch: str) -> None:
        with self.dashboard.lock:
            self._key(ch)

    def _key(self, ch: str) -> None:
        d = self.dashboard
        d.lapse_prompt()
        if d.typing is not None:
            if ch in ("\n", "\r"):
                typed, d.typing = d.typing, None
                if d.prompt is not None:
                    self._answer(typed)
                else:
                    self._command(typed)
            elif ch in ("\x7f", "\b"):
                d.typing = d.typing[:-1]
            elif ch == "\x1b":
                if d.prompt is not None:
                    self._answer("")
                d.typing = None
            elif ch.isprintable():
                d.typing += ch
            return
        if ch == ":":
            d.typing = ""
        elif ch in ("s", "a", "q"):
            kind = {"s": "stop", "a": "abort", "q": "quit"}[ch]
            self.ask(kind, QUESTIONS[kind], Action(kind))
        elif ch == "r":
            if d.state.phase == "FAULT":
                self.ask("resume", f"Resume after the fault ({d.state.reason()})?", Action("resume"))
            else:
                self.actions.put(Action("resume"))
        elif ch == "p":
            self.actions.put(Action("pause"))
        elif ch == "k":
            self.actions.put(Action("ack"))
        elif ch == "d":
            self.actions.put(Action("event", {"note": "drug added"}))
