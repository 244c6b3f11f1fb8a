"""The bedside dashboard rendered into a recording console at 80x24 and 200x50 (order, colour, use of the
width), and the operator's keys: confirmations, patient values with their doubts, and what is recorded."""
from __future__ import annotations

import queue
from typing import Any

import pytest
from rich.console import Console
from rich.segment import Segment

from hipec import keys as keys_module
from hipec.dashboard import Action, Dashboard, KeyReader, carry_out, parse_command
from hipec.keys import CommandError
from hipec.runner import Plan, Progress
from hipec.tables import NO_READING as NO, TELEMETRY_FIELDS
from hipec.vitals import BY_FIELD

CONFIG = {"band_c": 0.1, "alarm_band_c": 0.5, "abdominal_probes": 2, "inflow_2_fitted": 1, "heater_outlet_fitted": 1,
          "core_alarm_c": 38.5, "pressure_high_mmhg": 300, "link_grace_s": 60}
LIMITS = {"cutoff_c": 45.0, "max_setpoint_c": 44.0, "core_critical_c": 39.5}
RED, YELLOW = "bold white on red", "bold black on yellow"


def record(**values: int) -> dict[str, int]:
    base = dict.fromkeys(TELEMETRY_FIELDS, 0)
    base.update({"inflow_mc": 43020, "outflow_mc": 41010, "abdominal_1_mc": 41500, "abdominal_2_mc": 41350,
                 "reservoir_mc": 40100, "abdominal_3_mc": NO, "abdominal_4_mc": NO, "inflow_2_mc": 43010,
                 "heater_outlet_mc": 43300, "setpoint_mc": 43000, "heater_demand_pm": 147, "flow_ml_min": 500,
                 "volume_ml": 31250, "pressure_mmhg": 112, "treatment_s": 1810, "t_ms": 2_400_000,
                 "controlled_mc": 43020})
    base.update(values)
    return base


def bedside() -> Dashboard:
    """A session 40 minutes in (board time since its first record), treatment 30:10 in band, three alarms
    of three priorities raised out of order, a core temperature entered 5 minutes ago."""
    d = Dashboard(Plan(), patient="P-0042")
    d.config = CONFIG
    d.state.limits = LIMITS
    d.update(Progress(record(t_ms=0), "PRIMING", 1), boot=1)
    d.update(Progress(record(t_ms=1_000_000), "TREATMENT", 2), boot=1)
    d.update(Progress(record(), "TREATMENT", 3), boot=1)
    d.alarms = [["link_lost", "low", True, False, 2_350_000, 6000.0],
                ["reservoir_low", "medium", True, False, 2_300_000, 1.0],
                ["temp_high", "high", False, True, 2_200_000, 43.62],
                ["heart_rate_high", "medium", True, False, 2_100_000, 131.0]]
    d.state.vitals.board = {"core_temp_c": 37.9, "heart_rate_bpm": 131}
    d.state.vitals.enter(BY_FIELD["core_temp_c"], 37.9, 2_100.0)
    d.state.vitals.enter(BY_FIELD["heart_rate_bpm"], 131, 2_000.0)
    return d


def screen(d: Dashboard, width: int, height: int) -> tuple[list[str], list[list[Segment]]]:
    console = Console(width=width, height=height, record=True, color_system="truecolor", force_terminal=True)
    console.print(d.render())
    lines = console.export_text(styles=False).splitlines()
    segments = console.render_lines(d.render(), console.options.update(width=width, height=height))
    return lines, segments


def style_of(segments: list[list[Segment]], text: str) -> str:
    for line in segments:
        for segment in line:
            if text in segment.text:
                return str(segment.style or "")
    raise AssertionError(f"{text!r} is not on the screen")


@pytest.mark.parametrize("width, height", [(80, 24), (80, 40), (120, 30), (200, 50)])
def test_the_screen_fills_the_terminal_in_a_stable_order(width: int, height: int) -> None:
    lines, _segments = screen(bedside(), width, height)
    assert len(lines) == height and all(len(line) == width for line in lines)  # every cell drawn: no debris
    text = "\n".join(lines)
    assert lines[0].startswith(" HIPEC · patient P-0042 · 43 °C · 60 min · 5 L · 500 mL/min")
    assert lines[1].startswith(" TREATMENT ")
    probes = ["inflow ◆", "inflow 2", "heater outlet", "outflow", "abdominal 1", "abdominal 2", "reservoir"]
    assert [text.index(p) for p in probes] == sorted(text.index(p) for p in probes)
    assert "abdominal 3" not in text  # not fitted
    for expected in ("session 40:00", "phase TREATMENT 23:20", "in band 30:10 of 60:00", "to go 29:50",
                     "500 mL/min", "31.25 L", "112 mmHg", "14.7 %", "37.9 °C · 5:00 ago", "131 /min · 6:40 ago"):
        assert expected in text, expected
    shown = (" HIGH ", "heart rate high", "reservoir level low", " LOW ")
    if (width, height) == (80, 24):  # what does not fit is counted, never cut: the last in the list's order
        shown = shown[:2]
        assert "+2 more below these (a taller terminal shows them)" in text and "reservoir" not in text[-800:]
    alarms = [text.index(s) for s in shown]
    assert alarms == sorted(alarms)  # by priority, then the time each was raised
    assert "36:40" in text and "> 43.50" in text and "43.62 °C" in text  # raised at, limit, reading
    if width >= 120:  # the trend joins a wide screen, beside probe and session panels shown whole
        assert "band 42.90..43.10 °C" in text and "42.90..4─" not in text
        right_edges = [line.rstrip() for line in lines[2:12]]
        assert all(len(line) == width for line in right_edges)  # the panels reach the right edge
        assert "…" not in "\n".join(lines[2:14])  # nothing in the probe, session or trend panels cut short
    else:
        assert "controlled temperature" not in text
    if width >= 200:  # room for an alarm on one line, its name beside its words
        assert "controlled temperature · band 42.90..43.10 °C" in text
        assert "acknowledged, cause gone" in text and "[temp_high]" in text
    else:  # an alarm's words wrap under themselves, whole
        panel = " ".join(line.strip("│ ") for line in lines[lines.index(next(l for l in lines if "alarms (" in l)):])
        assert "inflow above its alarm limit: heater off, bypass open 43.62 °C > 43.50 °C · acknowledged, cause gone" \
            in panel
        assert "heart rate high: check blood volume, give fluid 131 /min > 120 /min · not acknowledged" in panel
        assert "…" not in panel


@pytest.mark.parametrize("width, height", [(80, 24), (200, 50)])
def test_colour_marks_only_what_deviates_from_its_own_limit(width: int, height: int) -> None:
    d = bedside()
    _lines, segments = screen(d, width, height)
    for in_limits in ("43.02 °C", "41.01 °C", "41.50 °C", "40.10 °C", "43.30 °C"):  # inflow, outflow, cavity ...
        assert style_of(segments, in_limits) == "", in_limits
    assert style_of(segments, " HIGH ") == RED and style_of(segments, " MEDIUM") == "black on yellow"
    assert style_of(segments, "131 /min") == YELLOW  # heart_rate_high is active
    d.update(Progress(record(t_ms=2_401_000, inflow_mc=43250, controlled_mc=43250, reservoir_mc=44200,
                             abdominal_1_mc=45100, outflow_mc=NO), "TREATMENT", 4), boot=1)
    _lines, segments = screen(d, width, height)
    assert style_of(segments, "43.25 °C") == YELLOW  # the controlled point out of its band, inside the alarm band
    assert style_of(segments, "44.20 °C") == YELLOW  # the reservoir within a degree of the 45.0 cut-off
    assert style_of(segments, "45.10 °C") == RED  # a cavity probe at the cut-off
    assert style_of(segments, "no reading") == YELLOW  # a monitoring probe that reads nothing
    d.update(Progress(record(t_ms=2_402_000, inflow_mc=43600, controlled_mc=43600), "TREATMENT", 5), boot=1)
    assert style_of(screen(d, width, height)[1], "43.60 °C") == RED  # beyond the alarm band


def test_heating_up_is_not_a_deviation_and_paused_and_fault_say_why() -> None:
    d = bedside()
    d.alarms = []
    d.update(Progress(record(t_ms=2_403_000, inflow_mc=38000, controlled_mc=38000), "HEATING", 6), boot=1)
    _lines, segments = screen(d, 80, 24)
    assert style_of(segments, "38.00 °C") == ""
    d.state.fault = "core_temp_critical"
    d.update(Progress(record(t_ms=2_404_000), "FAULT", 7), boot=1)
    lines, segments = screen(d, 80, 24)
    assert lines[1].startswith(" FAULT      FAULT: patient core temperature critical: heater off (core_temp_cri")
    assert style_of(segments, " FAULT ") == RED
    d.alarms = [["host_absent", "high", False, False, 2_404_000, 61000.0]]
    d.update(Progress(record(t_ms=2_405_000), "PAUSED", 8), boot=1)
    assert "PAUSED: the bridge was absent past the grace period (host_absent)" in screen(d, 80, 24)[0][1]


def test_patient_values_show_their_age_and_expire() -> None:
    d = bedside()
    d.alarms = []
    d.state.vitals.board = {"core_temp_c": 37.9, "heart_rate_bpm": None}
    d.state.vitals.entries.pop("heart_rate_bpm")
    text = "\n".join(screen(d, 80, 24)[0])
    assert "37.9 °C · 5:00 ago" in text and "heart rate not entered" in text and "0 /min" not in text
    assert d.state.vitals.expired(d.state.now_s()) == []
    later = d.state.now_s() + 15 * 60
    assert [s.field for s in d.state.vitals.expired(later)] == ["core_temp_c"]  # 15 min after its entry
    # carried out as the bridge does: cleared on the board, shown as expired (not as never entered)
    carry_out(Action("vitals", {"core_temp_c": None, "expired": True}),
              lambda kind, fields: {"core_temp_c": None, "heart_rate_bpm": None}, lambda kind, detail: None, d)
    text = "\n".join(screen(d, 80, 24)[0])
    assert "patient core expired: re-enter" in text and "patient core not entered" not in text
    assert d.state.vitals.expired(later) == []  # the board holds none: nothing more to clear


def keys_for(d: Dashboard) -> tuple[KeyReader, queue.Queue[Action]]:
    actions: queue.Queue[Action] = queue.Queue()
    return KeyReader(d, actions), actions


def drained(actions: queue.Queue[Action]) -> list[Action]:
    got = []
    while not actions.empty():
        got.append(actions.get())
    return got


def type_keys(reader: KeyReader, text: str) -> None:
    for ch in text:
        reader.key(ch)


def test_stop_abort_and_resume_after_a_fault_need_their_word() -> None:
    d = bedside()
    reader, actions = keys_for(d)
    type_keys(reader, "s")
    assert drained(actions) == [] and d.prompt is not None and d.prompt.word == "stop"
    shown = "\n".join(screen(d, 80, 24)[0])
    assert "End the treatment early" in shown and "type stop and Enter (Esc cancels): ▏" in shown
    type_keys(reader, "stop\r")
    (stop,) = drained(actions)
    assert stop.kind == "stop" and stop.detail["confirmed"] == "typed stop"
    type_keys(reader, "a")
    type_keys(reader, "s\r")  # not the word
    assert [(a.kind, a.detail) for a in drained(actions)] == [("declined", {"of": "abort"})]
    assert d.messages[-1] == "not confirmed: abort not done"
    type_keys(reader, "a\x1b")  # Esc cancels
    assert [a.kind for a in drained(actions)] == ["declined"]
    type_keys(reader, "pk")  # everyday keys act at once
    assert [a.kind for a in drained(actions)] == ["pause", "ack"]
    type_keys(reader, "r")  # resume from PAUSED: at once
    assert [a.kind for a in drained(actions)] == ["resume"]
    d.update(Progress(record(t_ms=2_404_000), "FAULT", 9), boot=1)
    type_keys(reader, "r")
    assert drained(actions) == [] and d.prompt is not None and "Resume after the fault" in d.prompt.question
    type_keys(reader, "resume\r")
    assert [a.kind for a in drained(actions)] == ["resume"]


def test_an_unanswered_question_lapses(monkeypatch: pytest.MonkeyPatch) -> None:
    d = bedside()
    reader, actions = keys_for(d)
    now = [1000.0]
    monkeypatch.setattr(keys_module.time, "monotonic", lambda: now[0])
    type_keys(reader, "a")
    now[0] += keys_module.PROMPT_TIMEOUT_S + 1
    type_keys(reader, "abort\r")  # too late: the question was withdrawn, the keys mean what they always mean
    assert d.messages[0] == "not confirmed in 20 s: abort not done"
    assert all(a.kind != "abort" for a in drained(actions))


def test_an_implausible_patient_value_asks_before_it_is_sent() -> None:
    d = bedside()
    reader, actions = keys_for(d)
    type_keys(reader, ":core 39.8\r")  # the last entry was 37.9: a slip of a finger
    assert drained(actions) == [] and d.prompt is not None
    assert d.prompt.question.startswith("patient core 39.8 °C is outside the plausible 35..39 °C for a patient under "
                                        "HIPEC; at the 39.5 °C critical limit: heater off, session FAULT: send it?")
    lines, _segments = screen(d, 80, 24)
    assert "session FAULT: send it?" in "\n".join(lines)  # the whole question fits at 80 columns
    type_keys(reader, "\x1b")
    assert [a.kind for a in drained(actions)] == ["declined"]
    type_keys(reader, ":core 38.6\r")  # plausible, but 0.7 degC from the last entry in minutes
    assert d.prompt is not None and d.prompt.question.startswith(
        "patient core 38.6 °C is 0.7 °C from the last plausible entry 37.9 °C (more than 0.5 °C): send it?")
    type_keys(reader, "\x1b")
    drained(actions)
    type_keys(reader, ":core 37.8\r:hr 125\r")  # plausible: sent at once
    core, rate = drained(actions)
    assert core.detail == {"core_temp_c": 37.8} and rate.detail == {"heart_rate_bpm": 125}
    assert type(rate.detail["heart_rate_bpm"]) is int  # the board refuses 125.0 as a heart rate
    type_keys(reader, ":core 33\ryes\r")  # outside the plausible range: confirmed
    (sent,) = drained(actions)
    assert sent.detail["core_temp_c"] == 33.0 and sent.detail["confirmed"] == "typed yes"
    type_keys(reader, ":core nan\r")
    assert d.messages[-1] == "core nan: not a number; allowed 30..45 °C, or `core clear`"
    type_keys(reader, ":hr 95.5\r:core abc\r:temp clear\r")
    assert d.messages[-2:] == ["hr 95.5: not a whole number; allowed 20..250 /min (whole number)",
                               "core 'abc': not a number; allowed 30..45 °C, or `core clear`"]
    assert [a.detail for a in drained(actions)] == [{"core_temp_c": None}]


def test_typed_text_echoes_whole_and_notes_keep_their_text() -> None:
    d = bedside()
    reader, _actions = keys_for(d)
    type_keys(reader, ":note anaesthetist inform")
    assert ": note anaesthetist inform▏" in "\n".join(screen(d, 80, 24)[0])
    assert parse_command("note anaesthetist informed") == Action("event", {"note": "anaesthetist informed"})
    with pytest.raises(CommandError, match="not understood"):
        parse_command("nonsense 1")


def test_actions_are_carried_out_and_recorded_with_their_time() -> None:
    d = bedside()
    sent: list[tuple[str, dict[str, Any]]] = []
    recorded: list[tuple[str, dict[str, Any]]] = []

    def request(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        sent.append((kind, fields))
        if kind == "stop":
            from hipec.bridge import BoardError
            raise BoardError("bad_state", "type", "stop is not allowed in FAULT")
        return {"phase": "PAUSED"} if kind == "pause" else {"core_temp_c": 37.6, "heart_rate_bpm": None}

    def record_event(kind: str, detail: dict[str, Any]) -> None:
        recorded.append((kind, detail))

    carry_out(Action("pause"), request, record_event, d)
    carry_out(Action("vitals", {"core_temp_c": 37.6}), request, record_event, d)
    carry_out(Action("event", {"note": "drug added"}), request, record_event, d)
    carry_out(Action("stop", {"confirmed": "typed stop"}), request, record_event, d)
    at = {"boot_id": 1, "t_ms": 2_400_000, "session_s": 2400.0}
    assert sent == [("pause", {}), ("set_vitals", {"core_temp_c": 37.6}), ("stop", {})]
    assert recorded == [("operator", {"action": "pause", **at}),
                        ("operator", {"action": "vitals", "core_temp_c": 37.6, **at}),
                        ("operator", {"action": "event", "note": "drug added", **at}),
                        ("operator", {"action": "stop", "confirmed": "typed stop", **at,
                                      "refused": "stop is not allowed in FAULT"})]
    assert d.state.vitals.board == {"core_temp_c": 37.6, "heart_rate_bpm": None}
    assert "pause: phase now PAUSED" in d.messages and d.messages[-1] == "stop refused: stop is not allowed in FAULT"
