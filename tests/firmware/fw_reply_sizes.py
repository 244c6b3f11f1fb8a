# Every reply fits the protocol's payload limit in its worst case: every alarm active, the longest
# settings status, the largest numbers a field can hold, the most records and events a pull returns.
# (A status with many alarms active once ended in an internal error: the moment it is needed most.)
from controller import app, cbor, tables
from fakeboard import FakeBoard, code_for_c

WORST_ID = tables.MAX_REQUEST_ID


def worst_board():
    board = FakeBoard(43.0)
    ctl = app.Controller(board, ring_records=20)
    for i in range(tables.N_ALARMS):
        ctl.alarms.active[i] = 1
        ctl.alarms.value[i] = -123456.789
    # The longest reason the stored settings can be refused for: a converter pair out of range.
    ctl.settings_status = "ignored: rtd_ref_ohm = 4499.99 with rtd_r0_ohm = 100.001: 0.137 degC per converter " \
                          "step, full scale at 10000 degC; rtd_ref_ohm / rtd_r0_ohm must be 1.35..6.3"
    return board, ctl


def size(ctl, request, fields=None):
    reply = ctl.commands.handle(request, fields or {})
    payload = cbor.dumps([tables.PROTOCOL_VERSION, WORST_ID, "ok", reply])
    return len(payload)


def test_status_and_get_alarms_fit_with_every_alarm_active():
    board, ctl = worst_board()
    board.codes = [code_for_c(79.9)] * 9  # every probe reading, none null
    board.run(ctl, 2)
    for i in range(tables.N_ALARMS):
        ctl.alarms.active[i] = 1
    assert size(ctl, "status") <= tables.MAX_PAYLOAD_BYTES, size(ctl, "status")
    assert size(ctl, "get_alarms") <= tables.MAX_PAYLOAD_BYTES, size(ctl, "get_alarms")


def test_the_tables_configuration_and_diagnostics_fit():
    _board, ctl = worst_board()
    for request in ("hello", "describe", "get_config", "diagnostics", "get_plan", "tune_status"):
        assert size(ctl, request) <= tables.MAX_PAYLOAD_BYTES, (request, size(ctl, request))


def test_the_largest_pulls_fit():
    board, ctl = worst_board()
    ctl.config.telemetry_period_ms = 100
    board.run(ctl, 30, after=True)
    row = ctl.telemetry.row
    for i in range(tables.N_FIELDS):
        row[i] = -2147483647  # every column at its widest
    for _ in range(tables.PULL_MAX_RECORDS):
        ctl.telemetry.commit()
    since = ctl.telemetry.next_seq - tables.PULL_MAX_RECORDS
    assert size(ctl, "telemetry_pull", {"since": since, "max": tables.PULL_MAX_RECORDS}) <= tables.MAX_PAYLOAD_BYTES
    assert size(ctl, "events_pull", {"since": 0, "max": tables.PULL_MAX_EVENTS}) <= tables.MAX_PAYLOAD_BYTES
