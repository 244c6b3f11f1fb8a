"""The protocol's tables, written once: phases, probes, alarm rules, telemetry columns and flags, event
and error names, and the requests with the phases each is allowed in.

This module imports nothing, so the host loads this very file (hipec/tables.py) instead of keeping its
own copy: a name, an order or a number of the protocol exists only here. docs/protocol.md's tables are
checked against it by tests/host/test_protocol_doc.py.
"""

# 2: the redundant inflow probe and the heat-exchanger outlet probe joined the probes and the records.
PROTOCOL_VERSION = 2
# The board's stored settings record, CBOR [version, config] + CRC-32 (settings.py; `hipec flash` writes
# one too). 2: per-probe lists gained inflow_2 and heater_outlet (a version 1 record is migrated).
SETTINGS_VERSION = 2
# Request ids run 1..2**32-1; events carry id 0.
MAX_REQUEST_ID = 0xFFFFFFFF
# Largest message (CBOR payload) either side may send; the largest replies (status and get_alarms with
# every alarm active, get_config, describe, a telemetry_pull of PULL_MAX_RECORDS records) fit with
# room for a few more alarms and settings (1024 until the heater current transducer's two alarms and
# settings), and the board's receive buffer and reply cache stay small (five buffers of about this size).
MAX_PAYLOAD_BYTES = 1280
# Most records in one telemetry_pull reply (at most 106 bytes each), and most events in one events_pull
# reply (an alarm event is under 110 bytes): both replies stay under MAX_PAYLOAD_BYTES.
PULL_MAX_RECORDS = 8
PULL_MAX_EVENTS = 8
# Each frame's payload is followed by its CRC-32, little-endian.
CRC_BYTES = 4

# ---------------------------------------------------------------- phases

IDLE = 0
PRIMING = 1
HEATING = 2
TREATMENT = 3
COOLDOWN = 4
DRAIN = 5
COMPLETE = 6
PAUSED = 7
ABORTED = 8
FAULT = 9
PHASE_NAMES = (
    "IDLE", "PRIMING", "HEATING", "TREATMENT", "COOLDOWN", "DRAIN", "COMPLETE", "PAUSED", "ABORTED",
    "FAULT",
)
RUNNING = (PRIMING, HEATING, TREATMENT, COOLDOWN, DRAIN)
# Phases in which the heater may be on.
HEATED = (PRIMING, HEATING, TREATMENT, PAUSED)
# Phases in which fluid goes into the abdomen (bypass valve closed).
PERFUSING = (HEATING, TREATMENT, COOLDOWN)
# No session is running: settings, plan and calibration may change.
AT_REST = (IDLE, COMPLETE, ABORTED, FAULT)
# A session that reached one of these has ended on the board.
FINAL = (COMPLETE, ABORTED, FAULT)

# ---------------------------------------------------------------- probes

# Converter channels in board order; lists of per-probe values on the wire follow it. inflow_2 sits
# beside inflow on its own converter and bus (the redundant channel: the higher of the two governs the
# limits); heater_outlet sits at the heat exchanger's outlet, where a heater stuck on shows first.
PROBE_NAMES = ("inflow", "outflow", "abdominal_1", "abdominal_2", "reservoir", "abdominal_3", "abdominal_4",
               "inflow_2", "heater_outlet")
INFLOW = 0
OUTFLOW = 1
ABDOMINAL_1 = 2
ABDOMINAL_2 = 3
RESERVOIR = 4
ABDOMINAL_3 = 5
ABDOMINAL_4 = 6
INFLOW_2 = 7
HEATER_OUTLET = 8
N_PROBES = 9
ABDOMINAL = (ABDOMINAL_1, ABDOMINAL_2, ABDOMINAL_3, ABDOMINAL_4)

# ---------------------------------------------------------------- alarms (IEC 60601-1-8 priorities)

LOW = 1
MEDIUM = 2
HIGH = 3
PRIORITY_NAMES = ("none", "low", "medium", "high")

# Reactions, combined over all active alarms each tick and applied by interlock.py.
HEATER_OFF = 1   # heater duty 0 and the safety relay opened
PUMP_STOP = 2    # pump stopped (the fault is in the pump or the line: pumping would make it worse)
BYPASS = 4       # bypass valve opened: fluid that may be too hot does not reach the patient
FAULT_HOLD = 8   # session enters FAULT; heating resumes only on an explicit host command
PAUSE_HOLD = 16  # session enters PAUSED (treatment timer stops); the host resumes it

# The rule table, one row per alarm: name, priority, latching (stays active after its condition clears
# until acknowledged), persistence in ms (a condition counts once it has held that long), reactions,
# blocks resume (a held session stays held while it is active), and the setting whose seconds replace
# the persistence ("" for none). The order is the bit order of the telemetry `alarms` column; the
# conditions are safety.py's; docs/hazards.md gives each rule's hazard, detection time and test.
ALARM_RULES = (
    ("over_temperature", HIGH, True, 0, HEATER_OFF | BYPASS | FAULT_HOLD, True, ""),
    ("temp_high", HIGH, True, 1000, HEATER_OFF | BYPASS | FAULT_HOLD, True, ""),
    ("temp_low", MEDIUM, False, 0, 0, False, "temp_low_delay_s"),
    ("control_probe_failed", HIGH, True, 0, HEATER_OFF | FAULT_HOLD, True, ""),
    ("monitor_probe_failed", MEDIUM, False, 0, 0, False, ""),
    ("probe_disagreement", MEDIUM, False, 30000, 0, False, ""),
    # persistence 0: the condition keeps its own windows (60 s off balance, 300 s heating without gain)
    ("heat_balance", HIGH, True, 0, HEATER_OFF | BYPASS | FAULT_HOLD, True, ""),
    ("pressure_high", HIGH, True, 1000, HEATER_OFF | PUMP_STOP | FAULT_HOLD, True, ""),
    ("air_in_line", HIGH, True, 200, HEATER_OFF | PUMP_STOP | FAULT_HOLD, True, ""),
    ("reservoir_low", MEDIUM, False, 2000, 0, False, ""),
    ("flow_deviation", HIGH, True, 5000, HEATER_OFF | PUMP_STOP | FAULT_HOLD, True, ""),
    ("link_lost", LOW, False, 0, 0, False, ""),
    ("host_absent", HIGH, True, 0, HEATER_OFF | PAUSE_HOLD, True, ""),
    ("treatment_overrun", MEDIUM, False, 0, 0, False, ""),
    ("core_temp_high", MEDIUM, False, 0, 0, False, ""),
    ("core_temp_critical", HIGH, True, 0, HEATER_OFF | FAULT_HOLD, True, ""),
    ("heart_rate_high", MEDIUM, False, 0, 0, False, ""),
    # latching, and only its acknowledgement ends its cause
    ("watchdog_reset", HIGH, True, 0, 0, False, ""),
    # the two inflow probes read the same fluid: apart, one of them is wrong and nobody knows which
    ("inflow_disagreement", HIGH, True, 2000, HEATER_OFF | BYPASS | FAULT_HOLD, True, ""),
    # the exchanger outlet heats faster than the power commanded explains: a switch failed closed
    ("heater_runaway", HIGH, True, 300, HEATER_OFF | BYPASS | FAULT_HOLD, True, ""),
    # heating up, the controlled temperature has come no closer to the target for ten minutes: the heater
    # at its limit (power, losses, the outlet's cap) or control off its mark; persistence 0: its own window
    ("no_progress", MEDIUM, False, 0, 0, False, ""),
    # the element draws current its drive does not explain (heater_current.py): a switch failed closed
    ("heater_switch_failed", HIGH, True, 300, HEATER_OFF | BYPASS | FAULT_HOLD, True, ""),
    # driven, the element draws no current, or the current transducer's loop failed: no heat, or no
    # protection against a switch failed closed but the runaway watch's
    ("heater_current_lost", MEDIUM, False, 2000, 0, False, ""),
)
# The same table by column, indexed by alarm number: what the firmware's per-tick loops read.
ALARM_NAMES = tuple(rule[0] for rule in ALARM_RULES)
ALARM_PRIORITIES = tuple(rule[1] for rule in ALARM_RULES)
ALARM_LATCHING = tuple(rule[2] for rule in ALARM_RULES)
ALARM_PERSIST_MS = tuple(rule[3] for rule in ALARM_RULES)
ALARM_REACTIONS = tuple(rule[4] for rule in ALARM_RULES)
ALARM_BLOCKS_RESUME = tuple(rule[5] for rule in ALARM_RULES)
ALARM_PERSIST_CONFIG = tuple(rule[6] for rule in ALARM_RULES)
del ALARM_RULES  # the columns are what the firmware reads: the rows would only take heap
N_ALARMS = len(ALARM_NAMES)
OVER_TEMPERATURE = 0
TEMP_HIGH = 1
TEMP_LOW = 2
CONTROL_PROBE_FAILED = 3
MONITOR_PROBE_FAILED = 4
PROBE_DISAGREEMENT = 5
HEAT_BALANCE = 6
PRESSURE_HIGH = 7
AIR_IN_LINE = 8
RESERVOIR_LOW = 9
FLOW_DEVIATION = 10
LINK_LOST = 11
HOST_ABSENT = 12
TREATMENT_OVERRUN = 13
CORE_TEMP_HIGH = 14
CORE_TEMP_CRITICAL = 15
HEART_RATE_HIGH = 16
WATCHDOG_RESET = 17
INFLOW_DISAGREEMENT = 18
HEATER_RUNAWAY = 19
NO_PROGRESS = 20
HEATER_SWITCH_FAILED = 21
HEATER_CURRENT_LOST = 22

# What happened to an alarm, as `state` in alarm events.
RAISED = 1
CLEARED = 2
ACKNOWLEDGED = 3
ALARM_EVENT_NAMES = ("", "raised", "cleared", "acknowledged")

# ---------------------------------------------------------------- telemetry records

TELEMETRY_FIELDS = (
    "seq",
    "t_ms",
    "phase",
    "inflow_mc",
    "outflow_mc",
    "abdominal_1_mc",
    "abdominal_2_mc",
    "reservoir_mc",
    "abdominal_3_mc",
    "abdominal_4_mc",
    "inflow_2_mc",
    "heater_outlet_mc",
    "setpoint_mc",
    "heater_demand_pm",
    "flow_ml_min",
    "volume_ml",
    "pressure_mmhg",
    "treatment_s",
    "flags",
    "alarms",
    "controlled_mc",
)
N_FIELDS = len(TELEMETRY_FIELDS)
SEQ = 0
T_MS = 1
PHASE = 2
TEMPS = 3  # the nine probe temperatures follow in PROBE_NAMES order
SETPOINT = 12
HEATER_DEMAND = 13  # the power control asked for, per mille of the rated power (not the duty written)
FLOW = 14
VOLUME = 15
PRESSURE = 16
TREATMENT_S = 17
FLAGS = 18
ALARMS = 19  # bit i set while alarm i of ALARM_RULES is active
CONTROLLED = 20  # the temperature the board judges against the target: the inflow, or the cavity mean
# A probe that cannot be read (or is not fitted) is recorded as this value instead of a temperature.
NO_READING = -1000000

# Bits of the `flags` column.
FLAG_BYPASS_OPEN = 1
FLAG_HEATER_ON = 2
FLAG_FAULT = 4
FLAG_HIGH_ALARM = 8
FLAG_IN_BAND = 16  # the controlled value is in the band, as the board judged it for its treatment timer
FLAG_NAMES = ("bypass_open", "heater_on", "fault", "high_alarm", "in_band")

# ---------------------------------------------------------------- events and errors

# Kinds of event log entries (the log keeps state and alarm events).
EVENT_STATE = 1
EVENT_ALARM = 2

BAD_FRAME = "bad_frame"
BAD_MESSAGE = "bad_message"
UNSUPPORTED_VERSION = "unsupported_version"
UNKNOWN_TYPE = "unknown_type"
BAD_FIELD = "bad_field"
BAD_STATE = "bad_state"
NOT_READY = "not_ready"  # allowed here, not yet: a condition the message names passes by itself; ask again
INTERNAL = "internal"
ERROR_CODES = (BAD_FRAME, BAD_MESSAGE, UNSUPPORTED_VERSION, UNKNOWN_TYPE, BAD_FIELD, BAD_STATE, NOT_READY, INTERNAL)

# ---------------------------------------------------------------- requests

ANY_PHASE = (IDLE, PRIMING, HEATING, TREATMENT, COOLDOWN, DRAIN, COMPLETE, PAUSED, ABORTED, FAULT)
# request: the phases it is accepted in (further conditions are the request's own, docs/protocol.md).
REQUESTS = {
    "hello": ANY_PHASE,
    "describe": ANY_PHASE,
    "status": ANY_PHASE,
    "diagnostics": ANY_PHASE,
    "heartbeat": ANY_PHASE,
    "echo": ANY_PHASE,
    "get_plan": ANY_PHASE,
    "set_plan": AT_REST,
    "start": (IDLE, COMPLETE, ABORTED),
    "pause": (PRIMING, HEATING, TREATMENT),
    "resume": (PAUSED, FAULT),
    "stop": (PRIMING, HEATING, TREATMENT, PAUSED),
    "abort": (PRIMING, HEATING, TREATMENT, COOLDOWN, DRAIN, PAUSED, FAULT),
    "reset": (FAULT, ABORTED, COMPLETE),
    "telemetry_pull": ANY_PHASE,
    "events_pull": ANY_PHASE,
    "get_config": ANY_PHASE,
    "set_config": AT_REST,
    "pump_calibrate": ANY_PHASE,  # revolutions: at rest; measured_ml: after a finished run
    "enter_repl": AT_REST,
    "get_alarms": ANY_PHASE,
    "ack_alarm": ANY_PHASE,
    "set_flow": ANY_PHASE,
    "set_vitals": ANY_PHASE,
    "tune_start": (PRIMING,),
    "tune_status": ANY_PHASE,
    "tune_cancel": ANY_PHASE,
    "leave_safe_mode": AT_REST,
}
PHASE_COMMANDS = ("start", "pause", "resume", "stop", "abort", "reset")
# request: the fields it takes, every other one refused as bad_field; a request not listed takes none.
# None: the request checks its fields itself (the plan's and configuration's tables; echo takes any).
REQUEST_FIELDS = {
    "set_plan": None,
    "set_config": None,
    "echo": None,
    "telemetry_pull": ("since", "max"),
    "events_pull": ("since", "max"),
    "pump_calibrate": ("revolutions", "measured_ml"),
    "ack_alarm": ("alarm",),
    "set_flow": ("flow_ml_min",),
    "set_vitals": ("core_temp_c", "heart_rate_bpm"),
    "tune_start": ("amplitude_w", "cycles", "hysteresis_c"),
}
# A patient value entered by hand stands for the patient this long: anaesthesia charts vitals every 5 min,
# so three missed rounds mean nobody is keeping it current. The board then holds none (a stale number
# neither raises nor holds an alarm), with or without a host; the dashboard shows it expired.
VITALS_MAX_AGE_MS = 900000
# The control period: 10 Hz is fast against the circuit's ~20 s line delay and slow for a microcontroller.
# Telemetry is recorded in whole ticks.
TICK_MS = 100
