"""The live bedside view of `hipec run`, drawn with rich from the view model (bedside.py): the session,
phase and treatment clocks, every probe judged against its own limit, flow, volume, pressure, heater,
the patient values with their age, the active alarms by priority then time, and the operator's keys.

The layout fills the terminal at every size from 80x24 up, each part in a place of fixed size, so
nothing moves when a value or a title changes; with room (120 columns and more) a trend of the
controlled temperature against its band joins it. Rendering is separate from the terminal: tests render
it into a recording console of any size.
"""
from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.layout import Layout
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from hipec.bedside import ALARM, OK, WARN, AlarmRow, BedsideState, BedsideView, Row, held_vitals
from hipec.keys import KEYS, KEYS_SHORT, PROMPT_TIMEOUT_S, Action, KeyReader, Prompt, parse_command
from hipec.session_model import Plan, Progress
from hipec.tables import protocol
from hipec.vitals import BY_FIELD, VITALS_EXPIRED, consequence

__all__ = ["Dashboard", "Action", "KeyReader", "carry_out", "parse_command", "run_live", "STATE_STYLE",
           "PRIORITY_STYLE"]

STATE_STYLE = {OK: "", WARN: "bold black on yellow", ALARM: "bold white on red"}
PRIORITY_STYLE = {"high": "bold white on red", "medium": "black on yellow", "low": "cyan"}
PHASE_STYLE = {"FAULT": "bold white on red", "PAUSED": "bold black on yellow", "ABORTED": "bold white on red"}
# From this width on, a trend of the controlled temperature joins the screen, in the columns the probe and
# session panels leave once each has the width its longest line needs (nothing of theirs is ever cut for it).
WIDE_COLUMNS = 120
TREND_MIN_COLUMNS = 30
# The alarm columns besides the words on a one-line row (priority, raised, reading, limit, state), with the
# spaces between them and the panel's border: an alarm goes on one line only when its words fit beside them.
ALARM_COLUMNS = (7, 7, 12, 16, 26)
ALARM_ROW_FIXED = sum(ALARM_COLUMNS) + len(ALARM_COLUMNS) + 4
SPARK = "▁▂▃▄▅▆▇█"


class Dashboard:
    def __init__(self, plan: Plan, patient: str = ""):
        self.state = BedsideState(plan, patient)
        self.messages: list[str] = []
        self.typing: str | None = None  # the ':' command or the confirmation word being typed
        self.prompt: Prompt | None = None
        self.lock = threading.RLock()  # keys arrive on their own thread; rendering reads the same state

    # The names the session runner and the benches use.
    @property
    def plan(self) -> Plan:
        return self.state.plan

    @property
    def record(self) -> dict[str, int] | None:
        return self.state.record

    @property
    def phase(self) -> str:
        return self.state.phase

    @property
    def config(self) -> dict[str, Any]:
        return self.state.config

    @config.setter
    def config(self, value: dict[str, Any]) -> None:
        self.state.config = value

    @property
    def alarms(self) -> list[list[Any]]:
        return self.state.alarms

    @alarms.setter
    def alarms(self, rows: list[list[Any]]) -> None:
        self.state.alarms = rows

    def update(self, progress: Progress, boot: int | None = None) -> None:
        with self.lock:
            self.state.update(progress, boot)

    def say(self, message: str) -> None:
        self.messages.append(message)

    def doubt(self, field: str, value: float | None) -> str | None:
        sign = BY_FIELD.get(field)
        if sign is None or value is None:
            return None
        doubt = self.state.vitals.doubt(sign, value, self.state.now_s())
        return None if doubt is None else doubt + consequence(field, value, self.state.limits)

    def lapse_prompt(self) -> None:
        with self.lock:
            if self.prompt is not None and time.monotonic() - self.prompt.asked_at > PROMPT_TIMEOUT_S:
                self.say(f"not confirmed in {PROMPT_TIMEOUT_S:g} s: {self.prompt.action.kind} not done")
                self.prompt, self.typing = None, None

    def __rich__(self) -> RenderableType:
        return self.render()

    def render(self) -> RenderableType:
        """This moment's frame (it lays itself out for the width it is drawn at)."""
        with self.lock:
            return Screen(self.state.view(), self.messages[-2:], self.prompt, self.typing)


def _rows(rows: list[Row]) -> Table:
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(no_wrap=True, ratio=1, overflow="ellipsis")
    for row in rows:
        grid.add_row(row.label, Text(row.text, style=STATE_STYLE[row.state]))
    return grid


def _panel_columns(rows: list[Row], title: str = "") -> int:
    """The width a panel of label-value rows needs to show every row whole: label, space, value, and the
    border with its padding on either side."""
    label = max((len(r.label) for r in rows), default=0)
    value = max((len(r.text) for r in rows), default=0)
    return max(label + 1 + value, len(title)) + 4


def _alarm_lines(view: BedsideView) -> RenderableType:
    """Wide: one line an alarm, in columns that never move."""
    if not view.alarms:
        return Text("no active alarm")
    table = Table.grid(padding=(0, 1), expand=True)
    # Fixed widths for everything but the words, which take the rest: the columns never move.
    for size in (*ALARM_COLUMNS[:2], None, *ALARM_COLUMNS[2:]):
        table.add_column(no_wrap=True, overflow="ellipsis", width=size, ratio=1 if size is None else None)
    for a in view.alarms:
        state = ("acknowledged" if a.acknowledged else "not acknowledged") + ("" if a.present else ", cause gone")
        table.add_row(_priority(a), a.raised, Text(f"{a.words} [{a.name}]", overflow="ellipsis", no_wrap=True),
                      a.reading, a.limit, Text(state, style="" if a.acknowledged else "bold"))
    return table


def _alarm_row(a: AlarmRow) -> Table:
    """Narrow: an alarm's words are never cut; they wrap under themselves, its reading, limit and state below."""
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(no_wrap=True, width=7)
    table.add_column(no_wrap=True, width=6)
    table.add_column(ratio=1, overflow="fold")
    text = Text(a.words + "\n")  # the reading on a line of its own: a value is never parted from its unit
    measured = " ".join(part for part in (a.reading, a.limit) if part)
    text.append(f"{measured} · " if measured else "")
    text.append(("acknowledged" if a.acknowledged else "not acknowledged") + ("" if a.present else ", cause gone"),
                style="" if a.acknowledged else "bold")
    table.add_row(_priority(a), a.raised, text)
    return table


class Alarms:
    """The alarms panel at whatever height the layout gives it; narrow, the alarms that do not fit (the last
    in the list's order of priority, then time) are counted on its last line rather than cut off."""

    def __init__(self, view: BedsideView, width: int):
        self.view = view
        self.width = width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        title = "alarms (by priority, then time)"
        height = options.height or options.size.height
        if not self.view.alarms or self.width - ALARM_ROW_FIXED >= max(len(f"{a.words} [{a.name}]")
                                                                        for a in self.view.alarms):
            yield Panel(_alarm_lines(self.view), title=title, title_align="left", height=height)
            return
        room = max(1, height - 2)
        inner = options.update(width=options.max_width - 4, height=None)
        lines: list[RenderableType] = []
        alarms = self.view.alarms
        for shown, a in enumerate(alarms):
            rendered = console.render_lines(_alarm_row(a), inner, pad=False)
            left = len(alarms) - shown
            if len(lines) + len(rendered) > room - (1 if left > 1 else 0):
                lines.append(Text(f" +{left} more below these (a taller terminal shows them)", style="bold"))
                break
            for line in rendered:
                text = Text()
                for segment in line:
                    text.append(segment.text, segment.style)
                lines.append(text)
        yield Panel(Group(*lines), title=title, title_align="left", height=height)


def _priority(a: AlarmRow) -> Text:
    return Text(f" {a.priority.upper():6}", style=PRIORITY_STYLE.get(a.priority, ""))


class Screen:
    """One frame of the dashboard, laid out for the width it is drawn at."""

    def __init__(self, view: BedsideView, messages: list[str], prompt: Prompt | None, typing: str | None):
        self.view, self.messages, self.prompt, self.typing = view, messages, prompt, typing

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield layout(self.view, self.messages, self.prompt, self.typing, width=options.max_width)


def _footer(messages: list[str], prompt: Prompt | None, typing: str | None, width: int) -> Group:
    if prompt is not None:
        # The question over the two message lines, the answer being typed below it.
        wrapped = (textwrap.wrap(prompt.question, max(20, width - 2)) + [""])[:2]
        question = [Text(f" {line}", style="bold black on yellow", no_wrap=True, overflow="ellipsis")
                    for line in wrapped]
        answer = Text(f" type {prompt.word} and Enter (Esc cancels): {typing or ''}▏", style="bold", no_wrap=True,
                      overflow="ellipsis")
        return Group(*question, answer)
    lines: list[RenderableType] = [Text(m, style="italic", overflow="ellipsis", no_wrap=True)
                                   for m in ([""] * 2 + messages)[-2:]]
    if typing is not None:
        lines.append(Text(f" : {typing}▏", style="bold", no_wrap=True, overflow="ellipsis"))
    else:
        lines.append(Text(KEYS if width > len(KEYS) else KEYS_SHORT, style="dim", no_wrap=True, overflow="ellipsis"))
    return Group(*lines)


def trend_chart(values: list[float], width: int, height: int, band: tuple[float, float] | None) -> list[Text]:
    """The last `width` values as a chart `height` rows tall of block characters, scaled to the band
    widened to hold every point; points outside the band in yellow."""
    points = values[-width:]
    if not points:
        return [Text("no record yet", style="dim")]
    low, high = min(points), max(points)
    if band is not None:
        low, high = min(low, band[0] - 0.05), max(high, band[1] + 0.05)
    span = max(high - low, 1e-6)
    eighths = [int((v - low) / span * (height * 8 - 1)) + 1 for v in points]
    lines = []
    for row in range(height - 1, -1, -1):
        line = Text()
        for v, level in zip(points, eighths):
            fill = min(8, max(0, level - row * 8))
            outside = band is not None and not band[0] <= v <= band[1]
            line.append(SPARK[fill - 1] if fill else " ", style="yellow" if outside else "green")
        lines.append(line)
    return lines


class Trend:
    """The trend of the controlled temperature, drawn at whatever size the layout gives it."""

    def __init__(self, view: BedsideView):
        self.view = view

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        view = self.view
        band = view.trend_band
        width = max(10, options.max_width - 4)
        height = max(1, (options.height or 8) - 3)
        recent = view.trend[-width:]
        band_text = f" · band {band[0]:.2f}..{band[1]:.2f} °C" if band else ""
        title = "controlled temperature" + band_text
        if len(title) > options.max_width - 6:
            title = "trend" + band_text  # a title rich would cut would lose the band's upper end
        lines: list[RenderableType] = list(trend_chart(recent, width, height, band))
        if recent:
            said = (f"now {recent[-1]:.2f} °C · low {min(recent):.2f} · high {max(recent):.2f} · last "
                    f"{len(recent)} records")
            if len(said) > width:
                said = f"now {recent[-1]:.2f} °C · {min(recent):.2f}..{max(recent):.2f}"
            lines.append(Text(said, style="dim", no_wrap=True, overflow="ellipsis"))
        yield Panel(Group(*lines), title=title, title_align="left", height=options.height)


def layout(view: BedsideView, messages: list[str], prompt: Prompt | None, typing: str | None,
           width: int = 80) -> Layout:
    header = Table.grid(expand=True)
    header.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    header.add_row(Text(f" HIPEC · {view.title}", style="bold"))
    phase_line = Text(f" {view.phase:<9} ", style=PHASE_STYLE.get(view.phase, "bold reverse"))
    phase_line.append(f" {view.reason}" if view.reason else "")
    header.add_row(phase_line)
    body_rows = max(len(view.temps) + 1, len(view.clocks) + len(view.circuit) + len(view.vitals), 1) + 2
    parts = [Layout(header, name="header", size=2), Layout(name="body", size=body_rows)]
    parts += [Layout(Alarms(view, width), name="alarms", minimum_size=3),
              Layout(_footer(messages, prompt, typing, width), name="footer", size=3)]
    root = Layout()
    root.split_column(*parts)
    if not view.temps:
        root["body"].update(Panel(Text("waiting for the board's first record…"), title="session",
                                  title_align="left"))
        return root
    temps = Panel(Group(Text(view.temps_title, style="dim", no_wrap=True, overflow="ellipsis"), _rows(view.temps)),
                  title="temperatures", title_align="left")
    session = Panel(_rows(view.clocks + view.circuit + view.vitals), title="session", title_align="left")
    columns = [Layout(temps, name="temps", ratio=2), Layout(session, name="session", ratio=2)]
    temps_cols = _panel_columns(view.temps, view.temps_title)
    session_cols = _panel_columns(view.clocks + view.circuit + view.vitals)
    if width >= WIDE_COLUMNS and width - temps_cols - session_cols >= TREND_MIN_COLUMNS:
        columns = [Layout(temps, name="temps", size=temps_cols), Layout(session, name="session", size=session_cols),
                   Layout(Trend(view), name="trend", ratio=1)]
    root["body"].split_row(*columns)
    return root


def carry_out(action: Action, request: Callable[[str, dict[str, Any]], dict[str, Any]],
              record_event: Callable[[str, dict[str, Any]], object], dashboard: Dashboard) -> None:
    """Do one operator action on the runner's thread; refusals are shown, never raised. What was done
    (or declined) goes into the record with the board's time and the session's."""
    from hipec.bridge import BoardError

    state = dashboard.state
    at = state.action_time()
    try:
        if action.kind in protocol.PHASE_COMMANDS:
            reply = request(action.kind, {})
            dashboard.say(f"{action.kind}: phase now {reply['phase']}")
            state.paused_by_operator = action.kind == "pause"
        elif action.kind == "ack":
            reply = request("ack_alarm", {"alarm": "all"})
            dashboard.say("acknowledged; active: " + (", ".join(reply["alarms"]) or "none"))
        elif action.kind == "vitals":
            reply = request("set_vitals", {k: v for k, v in action.detail.items() if k in BY_FIELD})
            state.vitals.board = held_vitals(reply)
            for name, value in action.detail.items():
                sign = BY_FIELD.get(name)
                # An expired entry stays in the book (cleared on the board): the dashboard says it expired
                # and asks for a current value, instead of "not entered".
                if sign is not None and not action.detail.get("expired"):
                    state.vitals.enter(sign, value, state.now_s())
            dashboard.say("patient values sent; the board holds: " + ", ".join(
                f"{BY_FIELD[k].label} {BY_FIELD[k].show(v) if v is not None else 'none'}"
                for k, v in state.vitals.board.items()))
        elif action.kind == "event":
            dashboard.say(f"recorded: {action.detail['note']}")
        record_event(_recorded_as(action), {"action": action.kind, **action.detail, **at})
    except BoardError as exc:
        dashboard.say(f"{action.kind} refused: {exc.message}")
        record_event(_recorded_as(action), {"action": action.kind, **action.detail, **at, "refused": exc.message})


def _recorded_as(action: Action) -> str:
    """The event kind an action is recorded as: what a person did is an operator action (the audit log);
    an entry the bridge cleared because it had expired is the bridge's (VITALS_EXPIRED)."""
    return VITALS_EXPIRED if action.kind == "vitals" and action.detail.get("expired") else "operator"


from hipec.live import run_live  # noqa: E402  (run_live drives a Dashboard: defined after it)
