"""The bedside dashboard rendered into a recording console, and the operator's keys and commands."""
from __future__ import annotations

import queue
from typing import Any

from rich.console import Console

from hipec.dashboard import Action, Dashboard, KeyReader, carry_out, parse_command
from hipec.runner import Plan, Progress
from hipec.tables import NO_READING as NO, TELEMETRY_FIELDS

CONFIG = {"band_c": 0.1, "alarm_band_c": 0.5, "abdominal_probes": 2}


def record(**values: int) -> dict[str, int]:
    base = dict.fromkeys(TELEMETRY_FIELDS, 0)
    base.update({"inflow_mc": 43020, "outflow_mc": 41010, "abdominal_1_mc": 41500, "abdominal_2_mc": 41350,
                 "reservoir_mc": 40100, "abdominal_3_mc": NO, "abdominal_4_mc": NO, "setpoint_mc": 43000,
                 "heater_demand_pm": 147, "flow_ml_min": 500, "volume_ml": 31250, "pressure_mmhg": 112,
                 "treatment_s": 1810})
    base.update(values)
    return base


def text_of(dashboard: Dashboard) -> str:
    console = Console(record=True, width=120, color_system=None)
    console.print(dashboard.render())
    return console.export_text()


def test_dashboard_shows_what_the_bedside_needs() -> None:
    d = Dashboard(Plan(), patient="P-0042")
    d.config = CONFIG
    assert "waiting for the board's first record" in text_of(d)
    d.update(Progress(record(), "TREATMENT", 100))
    d.alarms = [["reservoir_low", "medium", True, False, 1000, 0.0], ["temp_high", "high", False, False, 900, 43.6]]
    d.vitals = {"core_temp_c": 37.9, "heart_rate_bpm": 96}
    out = text_of(d)
    for expected in ("patient P-0042", "43 °C", "setpoint 43.00 °C ± 0.1 °C", "inflow", " 43.02 °C", "reservoir",
                     "TREATMENT", "30:10 in band", "29:50 to go", "500 mL/min", "31.25 L", "112 mmHg",
                     "37.9 °C", "96 /min", "MEDIUM reservoir_low", "HIGH   temp_high (cause gone, acknowledge to clear)",
                     "[p]ause"):
        assert expected in out, expected
    assert "abdominal 3" not in out  # not fitted


def test_temperatures_are_coloured_by_distance_from_the_setpoint() -> None:
    d = Dashboard(Plan())
    d.config = CONFIG
    assert str(d._temperature(43050, 43.0).style) == "green"
    assert str(d._temperature(43300, 43.0).style) == "yellow"
    assert str(d._temperature(43700, 43.0).style) == "bold red"


def test_keys_queue_actions_and_typed_commands() -> None:
    d = Dashboard(Plan())
    actions: queue.Queue[Action] = queue.Queue()
    keys = KeyReader(d, actions)
    for ch in "p:core 37.6\r:hr 101\r:nonsense\rd":
        keys.key(ch)
    got = []
    while not actions.empty():
        got.append(actions.get())
    assert got == [Action("pause"), Action("vitals", {"core_temp_c": 37.6}), Action("vitals", {"heart_rate_bpm": 101}),
                   Action("event", {"note": "drug added"})]
    assert "not understood" in d.messages[-1]
    assert parse_command("note anaesthetist informed") == Action("event", {"note": "anaesthetist informed"})


def test_actions_are_carried_out_and_recorded() -> None:
    d = Dashboard(Plan())
    sent: list[tuple[str, dict[str, Any]]] = []
    recorded: list[tuple[str, dict[str, Any]]] = []

    def request(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        sent.append((kind, fields))
        return {"phase": "PAUSED"} if kind == "pause" else {"core_temp_c": 37.6, "heart_rate_bpm": None}

    carry_out(Action("pause"), request, lambda k, v: recorded.append((k, v)), d)
    carry_out(Action("vitals", {"core_temp_c": 37.6}), request, lambda k, v: recorded.append((k, v)), d)
    carry_out(Action("event", {"note": "drug added"}), request, lambda k, v: recorded.append((k, v)), d)
    assert sent == [("pause", {}), ("set_vitals", {"core_temp_c": 37.6})]
    assert recorded == [("operator", {"action": "pause"}), ("operator", {"action": "vitals", "core_temp_c": 37.6}),
                        ("operator", {"action": "event", "note": "drug added"})]
    assert d.vitals == {"core_temp_c": 37.6} and "pause: phase now PAUSED" in d.messages
