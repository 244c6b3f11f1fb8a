"""The live bedside view of `hipec run`: temperatures against the band, flow, volume, pressure, phase,
treatment time, the patient values entered, active alarms by priority, and the operator's keys.

Rendering (Dashboard.render) is separate from the terminal: tests render it into a recording console.
Keys are read on their own thread and queued; the session runner's thread carries them out between
pulls (it owns the link), so the board is never spoken to from two threads.
"""
from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from hipec.runner import Outcome, Plan, Progress, SessionRunner
from hipec.tables import NO_READING, PROBE_NAMES, protocol

# Probes in the order a perfusionist reads the circuit: in, out, the cavity, back to the reservoir.
PROBE_ORDER = tuple(sorted(PROBE_NAMES, key=lambda name: name == "reservoir"))
PRIORITY_STYLE = {"high": "bold white on red", "medium": "black on yellow", "low": "cyan"}
KEYS = "[p]ause  [r]esume  [s]top  [a]bort  [k] acknowledge all  [d] drug added  [:] core 37.8 / hr 95 / note …"


@dataclass
class Action:
    """An operator action the runner thread carries out."""
    kind: str  # pause, resume, stop, abort, ack, event, vitals
    detail: dict[str, Any] = field(default_factory=dict)


def parse_command(line: str) -> Action | None:
    """A typed command after ':' — `core 37.8`, `hr 95`, `note <text>`; None if not understood."""
    words = line.strip().split(None, 1)
    if not words:
        return None
    verb, rest = words[0].lower(), (words[1] if len(words) > 1 else "")
    try:
        if verb == "core":
            return Action("vitals", {"core_temp_c": float(rest)})
        if verb in ("hr", "heart"):
            return Action("vitals", {"heart_rate_bpm": int(rest)})
    except ValueError:
        return None
    if verb == "note" and rest:
        return Action("event", {"note": rest})
    return None


KEY_ACTIONS = {"p": Action("pause"), "r": Action("resume"), "s": Action("stop"), "a": Action("abort"),
               "k": Action("ack"), "d": Action("event", {"note": "drug added"})}


class Dashboard:
    def __init__(self, plan: Plan, patient: str = ""):
        self.plan = plan
        self.patient = patient
        self.record: dict[str, int] | None = None
        self.phase = "IDLE"
        self.alarms: list[list[Any]] = []  # get_alarms rows: name, priority, present, acknowledged, ...
        self.vitals: dict[str, float] = {}
        self.messages: list[str] = []
        self.typing: str | None = None  # the ':' command being typed
        # The board's configuration (get_config): its band and alarm band colour the temperatures.
        self.config: dict[str, Any] = {}

    def update(self, progress: Progress) -> None:
        self.record = progress.record
        self.phase = progress.phase

    def say(self, message: str) -> None:
        self.messages = (self.messages + [message])[-3:]

    def _temperature(self, value_mc: int, setpoint_c: float) -> Text:
        if value_mc == NO_READING:
            return Text("--", style="dim")
        value = value_mc / 1000.0
        text = f"{value:6.2f} °C"
        if setpoint_c <= 0 or not self.config:
            return Text(text)
        error = abs(value - setpoint_c)
        band_c, alarm_band_c = float(self.config["band_c"]), float(self.config["alarm_band_c"])
        style = "green" if error <= band_c else "yellow" if error <= alarm_band_c else "bold red"
        return Text(text, style=style)

    def render(self) -> RenderableType:
        r = self.record
        plan = self.plan
        title = f"HIPEC {plan.target_temp_c:g} °C · {plan.duration_min:g} min · {plan.volume_l:g} L · " \
                f"{plan.flow_ml_min:g} mL/min · {plan.controlled_point}"
        if self.patient:
            title = f"patient {self.patient} · " + title
        if r is None:
            return Panel(Text("waiting for the board's first record…"), title=title)
        setpoint = r["setpoint_mc"] / 1000.0
        temps = Table.grid(padding=(0, 2))
        temps.add_column(justify="right")
        temps.add_column()
        fitted = int(self.config.get("abdominal_probes", 4))
        for probe in PROBE_ORDER:
            value = r.get(probe + "_mc", NO_READING)
            if value is None or (probe.startswith("abdominal_") and int(probe[-1]) > fitted):
                continue  # a cavity probe that is not fitted
            temps.add_row(probe.replace("_", " "), self._temperature(value, setpoint))
        band_text = f" ± {float(self.config['band_c']):g} °C" if self.config else ""
        band = f"setpoint {setpoint:.2f} °C{band_text}" if setpoint > 0 else "heater off (no setpoint)"
        treatment_s = r["treatment_s"]
        total_s = plan.duration_min * 60
        remaining_s = max(0.0, total_s - treatment_s)
        state = Table.grid(padding=(0, 2))
        state.add_column(justify="right")
        state.add_column()
        state.add_row("phase", Text(self.phase, style="bold"))
        state.add_row("treatment", f"{treatment_s // 60:d}:{treatment_s % 60:02d} in band · "
                                   f"{int(remaining_s) // 60:d}:{int(remaining_s) % 60:02d} to go")
        state.add_row("flow", f"{r['flow_ml_min']} mL/min")
        state.add_row("delivered", f"{r['volume_ml'] / 1000.0:.2f} L")
        state.add_row("line pressure", f"{r['pressure_mmhg']} mmHg")
        state.add_row("heater", f"{r['heater_demand_pm'] / 10.0:.1f} %")
        core = self.vitals.get("core_temp_c")
        rate = self.vitals.get("heart_rate_bpm")
        state.add_row("patient core", f"{core:.1f} °C" if core is not None else "not entered")
        state.add_row("heart rate", f"{rate:.0f} /min" if rate is not None else "not entered")
        top = Table.grid(padding=(0, 4))
        top.add_row(Panel(temps, title=band), Panel(state, title="session"))
        alarm_lines: list[RenderableType] = []
        for row in self.alarms:
            name, priority, present, acknowledged = row[0], row[1], row[2], row[3]
            note = "" if present else " (cause gone, acknowledge to clear)"
            note += " acknowledged" if acknowledged else ""
            alarm_lines.append(Text(f" {priority.upper():6} {name}{note} ", style=PRIORITY_STYLE.get(priority, "")))
        alarms = Panel(Group(*alarm_lines) if alarm_lines else Text("no active alarm", style="green"),
                       title="alarms")
        footer = Text(KEYS if self.typing is None else f": {self.typing}▏", style="dim" if self.typing is None else "")
        parts: list[RenderableType] = [top, alarms]
        parts += [Text(m, style="italic") for m in self.messages]
        parts.append(footer)
        return Panel(Group(*parts), title=title)


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
                    self.key(sys.stdin.read(1))
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    def key(self, ch: str) -> None:
        d = self.dashboard
        if d.typing is not None:
            if ch in ("\n", "\r"):
                action = parse_command(d.typing)
                if action is None:
                    d.say(f"not understood: {d.typing!r} (core 37.8, hr 95, note text)")
                else:
                    self.actions.put(action)
                d.typing = None
            elif ch in ("\x7f", "\b"):
                d.typing = d.typing[:-1]
            elif ch == "\x1b":
                d.typing = None
            else:
                d.typing += ch
            return
        if ch == ":":
            d.typing = ""
        elif ch in KEY_ACTIONS:
            self.actions.put(KEY_ACTIONS[ch])


def carry_out(action: Action, request: Callable[[str, dict[str, Any]], dict[str, Any]],
              record_event: Callable[[str, dict[str, Any]], object], dashboard: Dashboard) -> None:
    """Do one operator action on the runner's thread; refusals are shown, never raised."""
    from hipec.bridge import BoardError

    try:
        if action.kind in protocol.PHASE_COMMANDS:
            reply = request(action.kind, {})
            dashboard.say(f"{action.kind}: phase now {reply['phase']}")
        elif action.kind == "ack":
            reply = request("ack_alarm", {"alarm": "all"})
            dashboard.say("acknowledged; active: " + (", ".join(reply["alarms"]) or "none"))
        elif action.kind == "vitals":
            reply = request("set_vitals", action.detail)
            dashboard.vitals.update({k: v for k, v in reply.items() if v is not None})
            dashboard.say("patient values sent to the board")
        elif action.kind == "event":
            dashboard.say(f"recorded: {action.detail['note']}")
        at = {"t_ms": dashboard.record["t_ms"]} if dashboard.record is not None else {}
        record_event("operator", {"action": action.kind, **action.detail, **at})
    except BoardError as exc:
        dashboard.say(f"{action.kind} refused: {exc}")


def run_live(runner: SessionRunner, dashboard: Dashboard, console: Console | None = None) -> Outcome:
    """Run the session with the dashboard on screen and the operator's keys live."""
    from rich.live import Live

    actions: queue.Queue[Action] = queue.Queue()
    keys = KeyReader(dashboard, actions)
    last_alarms = [-1]

    def on_progress(progress: Progress) -> None:
        dashboard.config = runner.config
        dashboard.update(progress)
        bits = progress.record["alarms"]
        if bits != last_alarms[0]:
            last_alarms[0] = bits
            dashboard.alarms = runner.link.request("get_alarms")["alarms"] if bits else []
        while not actions.empty():
            action = actions.get()
            carry_out(action, runner.link.request,
                      lambda kind, detail: runner.store.add_event(runner.session_id, kind, detail), dashboard)
        live.update(dashboard.render())

    runner.on_progress = on_progress
    with Live(dashboard.render(), console=console, refresh_per_second=4, transient=False) as live:
        keys.start()
        try:
            return runner.run()
        finally:
            keys.stop()
