# Telemetry ring and plan checks.
from controller import telemetry
from controller.errors import CommandError, BAD_FIELD
from controller.plan import Plan


def test_ring_keeps_the_latest_records_with_sequence_numbers():
    ring = telemetry.TelemetryRing(100)
    assert ring.capacity == 100 and 100 % telemetry.CHUNK_RECORDS == 0
    for i in range(250):
        ring.row[telemetry.T_MS] = i * 1000
        assert ring.commit() == i + 1
    assert ring.oldest_seq() == 151 and ring.next_seq == 251
    got = ring.since(0, 1000)
    assert [r[0] for r in got] == list(range(151, 251))
    assert [r[telemetry.T_MS] for r in got] == [s * 1000 - 1000 for s in range(151, 251)]
    assert [r[0] for r in ring.since(200, 3)] == [200, 201, 202]
    assert ring.since(251, 5) == []
    assert ring.latest()[0] == 250


def test_ring_capacity_rounds_up_to_whole_chunks():
    assert telemetry.TelemetryRing(1).capacity == telemetry.CHUNK_RECORDS
    assert telemetry.TelemetryRing(telemetry.CHUNK_RECORDS + 1).capacity == 2 * telemetry.CHUNK_RECORDS


def test_plan_refuses_out_of_range_values_and_changes_nothing():
    plan = Plan()
    before = plan.as_dict()
    for fields, field in (({"target_temp_c": 44.5}, "target_temp_c"),
                          ({"flow_ml_min": 500, "target_temp_c": 36.0}, "target_temp_c"),
                          ({"flow_ml_min": 1200}, "flow_ml_min"),
                          ({"duration_min": "60"}, "duration_min"),
                          ({"volume_l": True}, "volume_l"),
                          ({"colour": 1}, "colour"),
                          ({"controlled_point": "rectum"}, "controlled_point")):
        try:
            plan.apply(fields)
            assert False, fields
        except CommandError as exc:
            assert exc.code == BAD_FIELD and exc.field == field, (exc.field, field)
            assert field in exc.message
        assert plan.as_dict() == before


def test_plan_range_message_names_the_limits():
    try:
        Plan().apply({"target_temp_c": 45.0})
    except CommandError as exc:
        assert "37.0..44.0" in exc.message, exc.message
        return
    assert False


def test_plan_accepts_a_full_valid_plan():
    plan = Plan()
    plan.apply({"target_temp_c": 42.5, "duration_min": 90, "volume_l": 6, "flow_ml_min": 400})
    assert plan.as_dict()["target_temp_c"] == 42.5 and plan.duration_min == 90.0


def test_event_log_keeps_the_latest_events_in_order():
    from controller import eventlog
    log = eventlog.EventLog(1, 8)
    for i in range(20):
        assert log.add(i * 100, eventlog.ALARM, i % 18, 1, 0.5) == i + 1
    assert list(log.since(0)) == list(range(13, 21))
    assert list(log.since(18)) == [18, 19, 20]
    assert log.entry(20) == (1900, eventlog.ALARM, 19 % 18, 1, 0.5)
