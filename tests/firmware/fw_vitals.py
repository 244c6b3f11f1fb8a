# Patient values the host enters: a slip is corrected without a power cycle, and none outlives its session.
from controller import session
from fw_controller import ask, make


def test_a_mistyped_core_temperature_is_corrected_without_a_power_cycle():
    """39.8 typed for 37.8 faults the session; the corrected value ends the condition, the acknowledgement
    clears the latched alarm, the session resumes, and a value of one session never holds the next."""
    board, ctl = make(42.0)
    ask(board, ctl, [2, 1, "start", {}])
    (slip,) = ask(board, ctl, [2, 2, "set_vitals", {"core_temp_c": 39.8}])
    assert slip[3] == {"core_temp_c": 39.8, "heart_rate_bpm": None}
    board.run(ctl, 2)
    assert ctl.session.phase == session.FAULT and "core_temp_critical" in ctl.alarms.active_names()
    (refused,) = ask(board, ctl, [2, 3, "resume", {}])
    assert refused[2] == "error" and "core_temp_critical" in refused[3]["message"]
    ask(board, ctl, [2, 4, "set_vitals", {"core_temp_c": 37.8}])
    board.run(ctl, 2)
    (acked,) = ask(board, ctl, [2, 5, "ack_alarm", {"alarm": "all"}])
    assert acked[3]["alarms"] == []
    (resumed,) = ask(board, ctl, [2, 6, "resume", {}])
    assert resumed[2] == "ok" and resumed[3]["phase"] == "PRIMING"
    (cleared,) = ask(board, ctl, [2, 7, "set_vitals", {"core_temp_c": None, "heart_rate_bpm": 90}])
    assert cleared[3] == {"core_temp_c": None, "heart_rate_bpm": 90}
    ask(board, ctl, [2, 8, "set_vitals", {"core_temp_c": 39.9}])
    ask(board, ctl, [2, 9, "abort", {}])
    ask(board, ctl, [2, 10, "reset", {}])
    (status,) = ask(board, ctl, [2, 11, "status", {}])
    assert status[3]["core_temp_c"] is None and status[3]["heart_rate_bpm"] is None


