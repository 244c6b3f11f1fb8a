"""The alarm states the rule table (tables.ALARM_RULES) drives: persistence, latching, acknowledgement,
the reactions of the active alarms, and what blocks a resume.

The supervisor (safety.py) sets each rule's raw condition every tick; update() applies the rule's
persistence (a condition counts once it has held that long), raises and clears alarms (latching ones
stay active until acknowledged once their condition is gone) and returns the combined reactions,
which interlock.py applies to the outputs. Every raise, clear and acknowledgement is queued as an
event with its time and the value behind it. Nothing here allocates after construction.
"""
from micropython import const
from array import array

from controller.tables import (ALARM_NAMES, ALARM_PRIORITIES, ALARM_LATCHING, ALARM_PERSIST_MS, ALARM_REACTIONS,
                               ALARM_BLOCKS_RESUME, ALARM_PERSIST_CONFIG, N_ALARMS, HIGH, RAISED, CLEARED,
                               ACKNOWLEDGED, PRIORITY_NAMES)

# Alarm events waiting to be sent; more in one tick than this and the oldest are still counted.
_EVENT_QUEUE = const(16)


def rule_index(name):
    for i in range(N_ALARMS):
        if ALARM_NAMES[i] == name:
            return i
    return -1


class Alarms:
    def __init__(self):
        self.raw = bytearray(N_ALARMS)             # set by the supervisor every tick
        self.raw_value = array("f", [0.0] * N_ALARMS)
        self.held_ms = array("i", [0] * N_ALARMS)  # how long each raw condition has held
        self.condition = bytearray(N_ALARMS)       # raw condition held for the rule's persistence
        self.value = array("f", [0.0] * N_ALARMS)  # the reading behind the condition
        self.active = bytearray(N_ALARMS)
        self.acked = bytearray(N_ALARMS)
        self.raised_ms = array("i", [0] * N_ALARMS)
        # Persistence in ms; rules that name a setting are refreshed from the configuration each update.
        self.persist_ms = array("i", ALARM_PERSIST_MS)
        self.persist_from_config = [(i, ALARM_PERSIST_CONFIG[i]) for i in range(N_ALARMS) if ALARM_PERSIST_CONFIG[i]]
        self.reactions = 0  # of the active alarms, as of the last update
        # Events are queued as (alarm, kind, time) in fixed arrays and sent after the control step.
        self.queue_alarm = bytearray(_EVENT_QUEUE)
        self.queue_kind = bytearray(_EVENT_QUEUE)
        self.queue_ms = array("i", [0] * _EVENT_QUEUE)
        self.queue_value = array("f", [0.0] * _EVENT_QUEUE)
        self.queued = 0
        self.events_dropped = 0

    def set(self, i, present, value):
        """The supervisor's verdict on rule i for this tick, with the reading behind it."""
        self.raw[i] = 1 if present else 0
        if present:
            self.raw_value[i] = value

    def _queue(self, i, kind, now_ms):
        if self.queued >= _EVENT_QUEUE:
            self.events_dropped += 1
            return
        n = self.queued
        self.queue_alarm[n] = i
        self.queue_kind[n] = kind
        self.queue_ms[n] = now_ms
        self.queue_value[n] = self.value[i]
        self.queued = n + 1

    def update(self, now_ms, dt_ms, config):
        """Apply persistence, raise and clear alarms; return the combined reactions of the active ones."""
        for i, name in self.persist_from_config:
            self.persist_ms[i] = getattr(config, name) * 1000
        reactions = 0
        for i in range(N_ALARMS):
            if not self.raw[i]:
                self.held_ms[i] = 0
                self.condition[i] = 0
            else:
                needed = self.persist_ms[i]
                if self.held_ms[i] < needed:
                    self.held_ms[i] += dt_ms
                self.condition[i] = 1 if self.held_ms[i] >= needed else 0
                if self.condition[i]:
                    self.value[i] = self.raw_value[i]
            if self.condition[i]:
                if not self.active[i]:
                    self.active[i] = 1
                    self.acked[i] = 0
                    self.raised_ms[i] = now_ms
                    self._queue(i, RAISED, now_ms)
            elif self.active[i] and (not ALARM_LATCHING[i] or self.acked[i]):
                self.active[i] = 0
                self._queue(i, CLEARED, now_ms)
            if self.active[i]:
                reactions |= ALARM_REACTIONS[i]
        self.reactions = reactions
        return reactions

    def condition_gone(self, i):
        """The cause of rule i is known to be over (the watchdog reset, once acknowledged)."""
        self.raw[i] = 0
        self.held_ms[i] = 0
        self.condition[i] = 0

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
        """Active alarms as a bit mask (bit i: alarm i of the rule table), for telemetry."""
        mask = 0
        for i in range(N_ALARMS):
            if self.active[i]:
                mask |= 1 << i
        return mask

    def highest(self):
        top = 0
        for i in range(N_ALARMS):
            if self.active[i] and ALARM_PRIORITIES[i] > top:
                top = ALARM_PRIORITIES[i]
        return top

    def high_active(self):
        return self.highest() == HIGH

    def first_active(self, reaction):
        """The first active alarm whose reactions include this one, or -1."""
        for i in range(N_ALARMS):
            if self.active[i] and ALARM_REACTIONS[i] & reaction:
                return i
        return -1

    def resume_blockers(self):
        """Names of the active alarms that keep a held session held."""
        return [ALARM_NAMES[i] for i in range(N_ALARMS) if self.active[i] and ALARM_BLOCKS_RESUME[i]]

    def describe(self, i):
        """[name, priority, condition present, acknowledged, raised at (ms), value]: compact, so that
        every alarm at once still fits one reply."""
        return [ALARM_NAMES[i], PRIORITY_NAMES[ALARM_PRIORITIES[i]], self.condition[i] == 1,
                self.acked[i] == 1, self.raised_ms[i], self.value[i]]

    def active_names(self):
        return [ALARM_NAMES[i] for i in range(N_ALARMS) if self.active[i]]

    def active_list(self):
        return [self.describe(i) for i in range(N_ALARMS) if self.active[i]]
