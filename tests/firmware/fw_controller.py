# The controller as a whole on a fake board: requests, retries, untrusted input, outputs per phase.
from controller import app, eventlog, session, tables, wire
from fakeboard import FakeBoard, code_for_c
from livehost import flush


def make(temp_c=22.0):
    board = FakeBoard(temp_c)
    return board, app.Controller(board, ring_records=25)  # a small ring: many controllers, one heap


def ask(board, ctl, msg):
    board.send(msg)
    ctl.link.service()
    return board.replies()


def test_hello_reports_versions_fields_and_reset_cause():
    board, ctl = make()
    (reply,) = ask(board, ctl, [2, 7, "hello", {}])
    assert reply[0] == 2 and reply[1] == 7 and reply[2] == "ok"
    assert reply[3]["protocol"] == 2 and reply[3]["reset_cause"] == "power_on"
    assert reply[3]["boot_id"] == 1
    (tables,) = ask(board, ctl, [2, 8, "describe", {}])
    assert tables[3]["telemetry_fields"][0] == "seq" and tables[3]["alarms"][0] == "over_temperature"


def test_repeated_request_id_is_answered_again_but_applied_once():
    board, ctl = make()
    (first,) = ask(board, ctl, [2, 42, "start", {}])
    assert first[2] == "ok" and ctl.session.phase == session.PRIMING
    ctl.session.phase = session.IDLE  # were it applied twice, it would start again
    (second,) = ask(board, ctl, [2, 42, "start", {}])
    assert second == first and ctl.session.phase == session.IDLE
    assert ctl.link.retries == 1


def test_untrusted_input_gets_error_replies_and_never_raises():
    board, ctl = make()
    bad = ([3, 1, "status", {}], [2, 0, "status", {}], [2, 2, 3, {}], [2, 3, "status", []], "x",
           [2, 4, "launch", {}], [2, 5, "set_plan", {"target_temp_c": 50.0}], [2, 6, "resume", {}])
    codes = []
    for msg in bad:
        replies = ask(board, ctl, msg)
        assert len(replies) == 1, msg
        assert replies[0][2] == "error"
        codes.append(replies[0][3]["code"])
    assert codes == ["unsupported_version", "bad_message", "bad_message", "bad_message", "bad_message",
                     "unknown_type", "bad_field", "bad_state"]
    out = bytearray()
    wire.encode_frame(b"\xff\xff", out)  # framed, but not CBOR
    board.feed(out)
    board.feed(b"\x01\x02\x03\x00")  # not even a frame
    ctl.link.service()
    assert [r[3]["code"] for r in board.replies()] == ["bad_message", "bad_frame"]
    assert ctl.session.phase == session.IDLE and ctl.plan.target_temp_c == 43.0


def test_outputs_follow_the_phase_and_heater_stays_off_when_idle():
    board, ctl = make(30.0)
    board.run(ctl, 20)
    assert board.heater_pm == 0 and board.pump_msps == 0 and board.bypass_open
    ask(board, ctl, [2, 1, "start", {}])
    board.run(ctl, 20)
    assert board.heater_pm > 0 and board.pump_msps > 0 and board.bypass_open
    ask(board, ctl, [2, 2, "abort", {}])
    board.run(ctl, 1)
    assert board.heater_pm == 0 and ctl.session.phase == session.ABORTED


def test_over_temperature_cuts_the_heater_in_the_same_tick():
    board, ctl = make(43.0)
    ask(board, ctl, [2, 1, "start", {}])
    board.run(ctl, 2)
    board.replies()
    board.codes[1] = code_for_c(45.2)  # outflow probe over the absolute limit
    board.run(ctl, 1)
    assert board.heater_pm == 0 and ctl.session.phase == session.FAULT
    assert board.bypass_open  # hot fluid is kept away from the patient
    ctl.after_tick(board.now)
    primed, alarm, state = board.replies()  # in the order they happened: start, alarm, its FAULT
    assert primed[2] == "state" and primed[3]["phase"] == "PRIMING"
    assert alarm[1] == 0 and alarm[2] == "alarm"
    assert alarm[3]["alarm"] == "over_temperature" and alarm[3]["priority"] == "high"
    assert alarm[3]["state"] == "raised" and 45.1 < alarm[3]["value"] < 45.3
    assert state[2] == "state" and state[3]["phase"] == "FAULT" and state[3]["fault"] == "over_temperature"
    assert state[3]["seq"] == alarm[3]["seq"] + 1  # both are in the event log, in order
    (pulled,) = ask(board, ctl, [2, 9, "events_pull", {"since": alarm[3]["seq"]}])
    assert [e["type"] for e in pulled[3]["events"]] == ["alarm", "state"]
    assert pulled[3]["events"][1]["fault"] == "over_temperature"


def test_high_alarm_latches_until_acknowledged_and_resume_waits_for_it():
    board, ctl = make(43.0)
    ask(board, ctl, [2, 1, "start", {}])
    board.run(ctl, 1)
    board.codes[0] = code_for_c(45.5)
    board.run(ctl, 1)
    board.codes[0] = code_for_c(43.0)
    board.run(ctl, 38)  # the cause is gone, but a high-priority alarm latches
    assert ctl.alarms.active_names() == ["over_temperature"] and board.heater_pm == 0
    (refused,) = ask(board, ctl, [2, 2, "resume", {}])
    assert refused[2] == "error" and "over_temperature" in refused[3]["message"]
    (acked,) = ask(board, ctl, [2, 3, "ack_alarm", {"alarm": "over_temperature"}])
    assert acked[3]["alarms"] == []
    (resumed,) = ask(board, ctl, [2, 4, "resume", {}])
    assert resumed[2] == "ok" and resumed[3]["phase"] == "PRIMING"
    board.codes = [code_for_c(40.0)] * 9  # fluid below the setpoint: heating is wanted again
    board.run(ctl, 5)
    assert board.heater_pm > 0


def test_core_temperature_from_the_host_raises_alarms():
    board, ctl = make(43.0)
    (reply,) = ask(board, ctl, [2, 1, "set_vitals", {"core_temp_c": 38.7, "heart_rate_bpm": 130}])
    assert reply[2] == "ok"
    board.run(ctl, 1)
    assert set(ctl.alarms.active_names()) == {"core_temp_high", "heart_rate_high"}
    (bad,) = ask(board, ctl, [2, 2, "set_vitals", {"core_temp_c": 55.0}])
    assert bad[2] == "error" and bad[3]["field"] == "core_temp_c"


def test_telemetry_pull_returns_records_in_order():
    board, ctl = make()
    board.run(ctl, 35)
    (reply,) = ask(board, ctl, [2, 9, "telemetry_pull", {"since": 0, "max": tables.PULL_MAX_RECORDS}])
    seqs = [r[0] for r in reply[3]["records"]]
    assert seqs == [1, 2, 3] and reply[3]["next"] == 4
    (reply,) = ask(board, ctl, [2, 10, "telemetry_pull", {"since": 0, "max": 99}])
    assert reply[2] == "error" and reply[3]["field"] == "max"


def test_flow_can_be_changed_during_a_session_within_the_limits():
    board, ctl = make(40.0)
    ask(board, ctl, [2, 1, "start", {}])
    board.run(ctl, 50)
    (reply,) = ask(board, ctl, [2, 2, "set_flow", {"flow_ml_min": 400}])
    assert reply[2] == "ok" and ctl.plan.flow_ml_min == 400.0
    board.run(ctl, 10)  # one second: the running flow changes at the gentle rate, not at once
    rate = ctl.config.flow_change_ml_min_per_s
    assert abs(ctl.pump.flow_ml_min - (500.0 - rate * 1.0)) < 1e-3, ctl.pump.flow_ml_min
    board.run(ctl, int(100.0 / rate * 10) + 10)
    assert abs(ctl.pump.flow_ml_min - 400.0) < 1e-6
    (refused,) = ask(board, ctl, [2, 3, "set_flow", {"flow_ml_min": 1500}])
    assert refused[2] == "error" and refused[3]["field"] == "flow_ml_min" and ctl.plan.flow_ml_min == 400.0


def test_cascade_plan_fills_at_the_target_then_moves_the_inflow_setpoint_for_the_cavity():
    board, ctl = make(40.0)
    ctl.config.prime_stable_s = 0
    (reply,) = ask(board, ctl, [2, 1, "set_plan", {"controlled_point": "abdominal", "target_temp_c": 41.0,
                                                    "volume_l": 1.6}])
    assert reply[2] == "ok"
    board.codes = [code_for_c(41.0)] * 9
    board.codes[2] = board.codes[3] = code_for_c(39.0)  # cavity probes still cooler than the target
    ask(board, ctl, [2, 2, "start", {}])
    flush(board, ctl)
    board.run(ctl, 20)
    assert ctl.session.phase == session.HEATING
    assert ctl.setpoint_c == 41.0 and not ctl.cascade_active  # filling: inflow at the target
    assert ctl.controlled_c < 39.5  # but the phase is judged on the cavity
    board.run(ctl, 150)  # 0.1 L beyond the 1.5 L circuit at 500 mL/min: the abdomen is filled
    assert ctl.cascade_active and ctl.session.phase == session.HEATING  # cavity not in band: no treatment
    for n in range(3, 7):  # a minute more, the host heartbeating
        ask(board, ctl, [2, n, "heartbeat", {}])
        board.run(ctl, 150)
    assert ctl.setpoint_c == 44.0  # the cavity 2 degC low asks for the capped inflow, no more
    assert ctl.session.phase == session.HEATING, ctl.alarms.active_names()
    board.codes[2] = board.codes[3] = code_for_c(41.0)
    board.run(ctl, 60)
    assert ctl.session.phase == session.TREATMENT, (ctl.controlled_c, ctl.alarms.active_names())


def test_every_phase_change_is_logged_even_between_two_ticks():
    """Commands sent back to back between two ticks each change the phase: every change becomes a state
    event, in order, as does a command's phase left again by the very next tick (stop into COOLDOWN on
    a circuit already cool goes on to DRAIN)."""
    board, ctl = make(22.0)
    for n, command in enumerate(("start", "pause", "resume", "abort", "reset", "start", "stop"), start=1):
        board.send([2, n, command, {}])
    ctl.link.service()
    board.run(ctl, 3, after=True)
    phases = []
    for seq in ctl.events.since(1):
        kind, fields = eventlog.event_fields(ctl.events, seq)
        if kind == "state":
            phases.append(fields["phase"])
    assert phases == ["PRIMING", "PAUSED", "PRIMING", "ABORTED", "IDLE", "PRIMING", "COOLDOWN", "DRAIN"], phases


def test_unknown_fields_are_refused_on_every_request():
    """The protocol's rule, on every request: a field the request does not take is a bad_field, and
    nothing happens (start with a stray field does not start a session)."""
    board, ctl = make()
    for n, (request, fields) in enumerate((("start", {"bogus": 1}), ("status", {"bogus": 1}),
                                           ("hello", {"x": 0}), ("telemetry_pull", {"since": 1, "bogus": 2}),
                                           ("ack_alarm", {"alarm": "all", "extra": True}),
                                           ("set_vitals", {"core_temp_c": 37.0, "pulse": 80})), start=1):
        (reply,) = ask(board, ctl, [2, n, request, fields])
        assert reply[2] == "error" and reply[3]["code"] == "bad_field", (request, reply)
        assert reply[3]["field"] in ("bogus", "x", "extra", "pulse") and "unknown field" in reply[3]["message"]
        assert ctl.session.phase == session.IDLE and ctl.inputs.core_temp_c == 0.0


def test_vitals_need_a_value_and_report_what_was_never_entered_as_null():
    board, ctl = make()
    (empty,) = ask(board, ctl, [2, 1, "set_vitals", {}])
    assert empty[2] == "error" and empty[3]["code"] == "bad_field"
    (core,) = ask(board, ctl, [2, 2, "set_vitals", {"core_temp_c": 37.0}])
    assert core[3] == {"core_temp_c": 37.0, "heart_rate_bpm": None}
    (status,) = ask(board, ctl, [2, 3, "status", {}])
    assert status[3]["heart_rate_bpm"] is None and status[3]["core_temp_c"] == 37.0


def test_an_unknown_setting_is_named_and_the_settings_are_left_to_get_config():
    """Fifty names in the refusal would make a message of nearly a kilobyte while the board runs (the
    link fuzzer found no free block for it): the message names the field and where the known are listed."""
    board, ctl = make()
    (reply,) = ask(board, ctl, [2, 1, "set_config", {"kp_w_per_cc": 12.0}])
    assert reply[2] == "error" and reply[3]["code"] == "bad_field" and reply[3]["field"] == "kp_w_per_cc"
    message = reply[3]["message"]
    assert "'kp_w_per_cc'" in message and "get_config lists the" in message and len(message) < 80, message
    assert ctl.config.kp_w_per_c != 12.0


def test_a_telemetry_period_between_ticks_is_refused():
    board, ctl = make()
    (refused,) = ask(board, ctl, [2, 1, "set_config", {"telemetry_period_ms": 150}])
    assert refused[3]["code"] == "bad_field" and refused[3]["field"] == "telemetry_period_ms"
    assert ctl.config.telemetry_period_ms == 1000
    (accepted,) = ask(board, ctl, [2, 2, "set_config", {"telemetry_period_ms": 200}])
    assert accepted[3]["telemetry_period_ms"] == 200


def test_a_range_refusal_names_field_value_and_range_with_its_unit_only_where_it_has_one():
    board, ctl = make()
    (unitless,) = ask(board, ctl, [2, 1, "set_config", {"heater_current_fitted": 2}])
    assert unitless[3]["message"] == "heater_current_fitted = 2 is outside 0..1", unitless
    (volts,) = ask(board, ctl, [2, 2, "set_config", {"heater_supply_v": 11.5}])
    assert volts[3]["message"] == "heater_supply_v = 11.5 is outside 12.0..250.0 V", volts


def test_probe_alarms_of_a_bad_calibration_clear_once_it_is_restored_and_acknowledged():
    board, ctl = make(43.0)
    # set_config answers with the whole configuration, which this test does not read: left undecoded.
    board.send([2, 1, "set_config", {"rtd_r0_ohm": 120.0}])  # a wrong probe type: reads implausibly low
    ctl.link.service()
    board.discard()
    board.run(ctl, 10)
    assert ctl.config.rtd_r0_ohm == 120.0 and "control_probe_failed" in ctl.alarms.active_names()
    board.send([2, 2, "set_config", {"rtd_r0_ohm": 100.0}])  # the calibration restored
    ctl.link.service()
    board.discard()
    board.run(ctl, 10)
    (acked,) = ask(board, ctl, [2, 3, "ack_alarm", {"alarm": "all"}])
    assert "control_probe_failed" not in acked[3]["alarms"], acked
    (started,) = ask(board, ctl, [2, 4, "start", {}])
    board.run(ctl, 5)
    assert started[2] == "ok" and ctl.session.phase == session.PRIMING  # not FAULT at once
