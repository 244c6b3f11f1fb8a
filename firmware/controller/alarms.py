"""Alarm rules, in one table, and the alarm states they drive (IEC 60601-1-8 priorities).

Each rule names what the supervisor (safety.py) detects, how urgent it is, and what the board does on
its own while the alarm is active. High-priority alarms latch: they stay active after their condition
clears until the host acknowledges them. Every raise, clear and acknowledgement becomes an event with
its time and the value that triggered it. A reaction that stops heating holds until the alarm is gone
(condition cleared and, if latching, acknowledged) and the host explicitly resumes.
"""
from array import array

HIGH = 3
MEDIUM = 2
LOW = 1
PRIORITY_NAMES = ("none", "low", "medium", "high")

# Reactions, combined over all active alarms each tick.
HEATER_OFF = 1   # heater output forced to 0
PUMP_STOP = 2    # pump stopped (the fault is in the pump or the line: pumping would make it worse)
BYPASS = 4       # bypass valve opened: fluid that may be too hot does not reach the patient
FAULT = 8        # session enters FAULT; heating resumes only on an explicit host command
HOLD = 16        # session enters PAUSED (treatment timer stops); the host resumes it

# id: (name, priority, reactions). The order is the bit order of the telemetry `alarms` column.
RULES = (
    ("over_temperature", HIGH, HEATER_OFF | BYPASS | FAULT),       # 0: any fluid probe >= 45.0 degC
    ("temp_high", HIGH, HEATER_OFF | BYPASS | FAULT),              # 1: controlled > setpoint + band
    ("temp_low", MEDIUM, 0),                                       # 2: controlled < setpoint - band
    ("control_probe_failed", HIGH, HEATER_OFF | FAULT),            # 3: inflow/reservoir open, short, stuck
    ("monitor_probe_failed", MEDIUM, 0),                           # 4: outflow/abdominal open, short, stuck
    ("probe_disagreement", MEDIUM, 0),                             # 5: abdominal probes disagree
    ("heat_balance", HIGH, HEATER_OFF | BYPASS | FAULT),           # 6: inflow does not match power and flow
    ("pressure_high", HIGH, HEATER_OFF | PUMP_STOP | FAULT),       # 7: occlusion, kinked line
    ("air_in_line", HIGH, HEATER_OFF | PUMP_STOP | FAULT),         # 8: air detector
    ("reservoir_low", MEDIUM, 0),                                  # 9: level switch
    ("flow_deviation", HIGH, HEATER_OFF | PUMP_STOP | FAULT),      # 10: steps not executed: stalled pump
    ("link_lost", LOW, 0),                                         # 11: no request for LINK_TIMEOUT
    ("host_absent", HIGH, HEATER_OFF | HOLD),                      # 12: link lost beyond the grace period
    ("treatment_overrun", MEDIUM, 0),                              # 13: treatment phase far past plan
    ("core_temp_high", MEDIUM, 0),                                 # 14: patient core above alarm limit
    ("core_temp_critical", HIGH, HEATER_OFF | FAULT),              # 15: patient core above 39.5 degC
    ("heart_rate_high", MEDIUM, 0),                                # 16: heart rate above 120 /min
    ("watchdog_reset", HIGH, 0),                                   # 17: the board was reset by its watchdog
)
N_ALARMS = len(RULES)
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

RAISED = 1
CLEARED = 2
ACKNOWLEDGED = 3
EVENT_NAMES = ("", "raised", "cleared", "acknowledged")
# Alarm events waiting to be sent; more in one tick than this and the oldest are still counted.
EVENT_QUEUE = 16


class Alarms:
    def __init__(self):
        self.condition = bytearray(N_ALARMS)   # set by the supervisor every tick
        self.value = array("f", [0.0] * N_ALARMS)  # the reading behind the condition
        self.active = bytearray(N_ALARMS)
        self.acked = bytearray(N_ALARMS)
        self.raised_ms = array("i", [0] * N_ALARMS)
        # Events are queued as (alarm, kind, time) in fixed arrays and sent after the control step.
        self.queue_alarm = bytearray(EVENT_QUEUE)
        self.queue_kind = bytearray(EVENT_QUEUE)
        self.queue_ms = array("i", [0] * EVENT_QUEUE)
        self.queue_value = array("f", [0.0] * EVENT_QUEUE)
        self.queued = 0
        self.events_dropped = 0

    def _queue(self, i, kind, now_ms):
        if self.queued >= EVENT_QUEUE:
            self.events_dropped += 1
            return
        n = self.queued
        self.queue_alarm[n] = i
        self.queue_kind[n] = kind
        self.queue_ms[n] = now_ms
        self.queue_value[n] = self.value[i]
        self.queued = n + 1

    def update(self, now_ms):
        """Raise and clear alarms from this tick's conditions; return the combined reactions."""
        reactions = 0
        for i in range(N_ALARMS):
            if self.condition[i]:
                if not self.active[i]:
                    self.active[i] = 1
                    self.acked[i] = 0
                    self.raised_ms[i] = now_ms
                    self._queue(i, RAISED, now_ms)
            elif self.active[i] and (RULES[i][1] != HIGH or self.acked[i]):
                self.active[i] = 0
                self._queue(i, CLEARED, now_ms)
            if self.active[i]:
                reactions |= RULES[i][2]
        return reactions

    def acknowledge(self, i, now_ms):
        """Operator acknowledgement: a latched alarm whose condition is gone clears at once."""
        if not self.active[i]:
            return False
        if not self.acked[i]:
            self.acked[i] = 1
            self._queue(i, ACKNOWLEDGED, now_ms)
        if not self.condition[i]:
            self.active[i] = 0
            self._queue(i, CLEARED, now_ms)
        return True

    def bits(self):
        """Active alarms as a bit mask (bit i = RULES[i]), for telemetry."""
        mask = 0
        for i in range(N_ALARMS):
            if self.active[i]:
                mask |= 1 << i
        return mask

    def highest(self):
        top = 0
        for i in range(N_ALARMS):
            if self.active[i] and RULES[i][1] > top:
                top = RULES[i][1]
        return top

    def find(self, name):
        for i in range(N_ALARMS):
            if RULES[i][0] == name:
                return i
        return -1

    def describe(self, i):
        """[name, priority, condition present, acknowledged, raised at (ms), value]: compact, so that
        every alarm at once still fits one reply."""
        return [RULES[i][0], PRIORITY_NAMES[RULES[i][1]], self.condition[i] == 1, self.acked[i] == 1,
                self.raised_ms[i], self.value[i]]

    def active_names(self):
        return [RULES[i][0] for i in range(N_ALARMS) if self.active[i]]

    def active_list(self):
        return [self.describe(i) for i in range(N_ALARMS) if self.active[i]]
