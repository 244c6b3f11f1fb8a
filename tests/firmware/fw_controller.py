# The controller as a whole on a fake board: requests, retries, untrusted input, outputs per phase.
from controller import app, session, wire
from fakeboard import FakeBoard, code_for_c


def make(temp_c=22.0):
    board = FakeBoard(temp_c)
    return board, app.Controller(board, ring_records=60)  # a small ring: many controllers, one heap


def ask(board, ctl, msg):
    board.send(msg)
    ctl.link.service()
    return board.replies()


def test_hello_reports_versions_fields_and_reset_cause():
    board, ctl = make()
    (reply,) = ask(board, ctl, [1, 7, "hello", {}])
    assert reply[0] == 1 and reply[1] == 7 and reply[2] == "ok"
    assert reply[3]["protocol"] == 1 and reply[3]["reset_cause"] == "power_on"
    assert reply[3]["telemetry_fields"][0] == "seq"


def test_repeated_request_id_is_answered_again_but_applied_once():
    board, ctl = make()
    (first,) = ask(board, ctl, [1, 42, "start", {}])
    assert first[2] == "ok" and ctl.session.phase == session.PRIMING
    ctl.session.phase = session.IDLE  # were it applied twice, it would start again
    (second,) = ask(board, ctl, [1, 42, "start", {}])
    assert second == first and ctl.session.phase == session.IDLE
    assert ctl.link.retries == 1


def test_untrusted_input_gets_error_replies_and_never_raises():
    board, ctl = make()
    bad = ([2, 1, "status", {}], [1, 0, "status", {}], [1, 2, 3, {}], [1, 3, "status", []], "x",
           [1, 4, "launch", {}], [1, 5, "set_plan", {"target_temp_c": 50.0}], [1, 6, "resume", {}])
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
    board.rx.extend(out)
    board.rx.extend(b"\x01\x02\x03\x00")  # not even a frame
    ctl.link.service()
    assert [r[3]["code"] for r in board.replies()] == ["bad_message", "bad_frame"]
    assert ctl.session.phase == session.IDLE and ctl.plan.target_temp_c == 43.0


def test_outputs_follow_the_phase_and_heater_stays_off_when_idle():
    board, ctl = make(30.0)
    for i in range(20):
        ctl.tick(i * 100, 100)
    assert board.heater_pm == 0 and board.pump_msps == 0 and board.bypass_open
    ask(board, ctl, [1, 1, "start", {}])
    for i in range(20, 40):
        ctl.tick(i * 100, 100)
    assert board.heater_pm > 0 and board.pump_msps > 0 and board.bypass_open
    ask(board, ctl, [1, 2, "abort", {}])
    ctl.tick(4000, 100)
    assert board.heater_pm == 0 and ctl.session.phase == session.ABORTED


def test_over_temperature_cuts_the_heater_in_the_same_tick():
    board, ctl = make(43.0)
    ask(board, ctl, [1, 1, "start", {}])
    ctl.tick(0, 100)
    ctl.tick(100, 100)
    board.codes[1] = code_for_c(45.2)  # outflow probe over the absolute limit
    board.replies()
    ctl.tick(200, 100)
    assert board.heater_pm == 0 and ctl.session.phase == session.FAULT
    ctl.after_tick(200)
    (event,) = board.replies()
    assert event[1] == 0 and event[2] == "state"
    assert event[3] == {"phase": "FAULT", "fault": "over_temperature"}


def test_telemetry_pull_returns_records_in_order():
    board, ctl = make()
    for i in range(35):
        ctl.tick(i * 100, 100)
    (reply,) = ask(board, ctl, [1, 9, "telemetry_pull", {"since": 0, "max": 12}])
    seqs = [r[0] for r in reply[3]["records"]]
    assert seqs == [1, 2, 3] and reply[3]["next"] == 4
    (reply,) = ask(board, ctl, [1, 10, "telemetry_pull", {"since": 0, "max": 99}])
    assert reply[2] == "error" and reply[3]["field"] == "max"


def test_tick_allocation_is_bounded():
    import gc
    board, ctl = make(43.0)
    ask(board, ctl, [1, 1, "start", {}])
    for i in range(50):
        ctl.tick(i * 100, 100)
    gc.collect()
    before = gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0
    for i in range(50, 60):
        ctl.tick(i * 100, 100)
    if hasattr(gc, "mem_alloc"):
        per_tick = (gc.mem_alloc() - before) / 10
        assert per_tick < app.TICK_ALLOC_BUDGET_BYTES, per_tick
