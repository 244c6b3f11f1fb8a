"""Protocol features end to end: configuration, pump calibration, streaming, heartbeats, retries, REPL."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from hipec.bridge import BoardError, BoardLink
from hipec.emulator.mcu import EmulatedMCU
from hipec.emulator.params import PlantParams
from hipec.tables import TELEMETRY_FIELDS
from hipec.wire import encode_message


def test_config_is_read_changed_within_range_and_refused_outside(link: BoardLink) -> None:
    config = link.request("get_config")
    assert config["pump_ml_per_rev"] == 10.0 and len(config["probe_offset_c"]) == 9
    changed = link.request("set_config", {"kp_w_per_c": 25.0, "probe_offset_c": [0.1, 0, 0, 0, -0.1, 0, 0, 0, 0]})
    assert changed["kp_w_per_c"] == 25.0 and changed["probe_offset_c"][0] == pytest.approx(0.1)
    with pytest.raises(BoardError) as refused:
        link.request("set_config", {"ti_s": 60.0, "probe_gain": [1.0, 1.0, 1.2, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]})
    assert refused.value.field == "probe_gain[2]" and "0.95..1.05" in refused.value.message
    assert link.request("get_config")["ti_s"] == config["ti_s"]  # nothing of the refused change applied
    link.request("start")
    with pytest.raises(BoardError) as running:
        link.request("set_config", {"kp_w_per_c": 30.0})
    assert running.value.code == "bad_state" and "PRIMING" in running.value.message


def test_pump_calibration_learns_the_true_tubing_displacement(tmp_path: Path) -> None:
    mcu = EmulatedMCU(params=PlantParams(pump_ml_per_rev=10.6), speed=None)
    mcu.start()
    try:
        with BoardLink(mcu.device) as link:
            link.request("pump_calibrate", {"revolutions": 20})
            deadline = time.monotonic() + 30
            while link.request("status")["calibration"]["running"]:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            measured_ml = mcu.plant.delivered_ml  # what the operator reads off the graduated vessel
            result = link.request("pump_calibrate", {"measured_ml": measured_ml})
            assert result["ml_per_rev"] == pytest.approx(10.6, rel=0.002)
            with pytest.raises(BoardError) as again:
                link.request("pump_calibrate", {"measured_ml": measured_ml})
            assert again.value.code == "bad_state"
    finally:
        mcu.stop()


def test_streamed_telemetry_and_heartbeat_events_arrive(mcu: EmulatedMCU, link: BoardLink) -> None:
    link.request("set_config", {"telemetry_stream": 1})
    mcu.wait_until(mcu.now_ms + 7000)  # the host stays silent for 7 s of board time: link lost
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        link.request("heartbeat")
        beats = [m.fields["link_ok"] for m in link.events if m.type == "heartbeat"]
        if False in beats and beats[-1] is True:
            break
    beats = [m.fields["link_ok"] for m in link.events if m.type == "heartbeat"]
    assert beats[0] is True and False in beats and beats[-1] is True  # lost, then found again
    records = [m.fields["record"] for m in link.events if m.type == "telemetry"]
    assert len(records) >= 5 and all(len(r) == len(TELEMETRY_FIELDS) for r in records)
    seqs = [r[0] for r in records]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), (seqs, link.bad_frames, mcu.bytes_dropped)  # every record, in order


def test_a_retried_request_is_answered_from_the_cache_not_applied_twice(link: BoardLink) -> None:
    frame = encode_message(777, "start", {})
    link.serial.write(frame)
    link.serial.write(frame)  # the same id again: a retry after a lost reply
    replies = []
    deadline = time.monotonic() + 10
    while len(replies) < 2 and time.monotonic() < deadline:
        replies += [m for m in link._receive() if m.id == 777]
    assert [r.type for r in replies] == ["ok", "ok"] and replies[0].fields == replies[1].fields
    counters = link.request("diagnostics")["link"]
    assert counters["retries"] == 1


def test_board_notices_a_silent_host(mcu: EmulatedMCU, link: BoardLink) -> None:
    link.request("heartbeat")
    assert link.request("diagnostics")["link_losses"] == 0
    mcu.wait_until(mcu.now_ms + 8000)  # the host says nothing for 8 s of board time
    assert link.request("diagnostics")["link_losses"] == 1


def test_enter_repl_makes_outputs_safe_and_hands_the_link_back(mcu: EmulatedMCU, link: BoardLink) -> None:
    link.request("start")
    with pytest.raises(BoardError) as refused:
        link.request("enter_repl")
    assert refused.value.code == "bad_state"
    link.request("abort")
    assert link.request("enter_repl") == {"phase": "ABORTED"}
    deadline = time.monotonic() + 10
    while not mcu.in_repl:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    _at, heater_pm, heater_relay, pump_msps, bypass_open = mcu.output_log[-1]
    assert (heater_pm, heater_relay, pump_msps, bypass_open) == (0, False, 0, True)
