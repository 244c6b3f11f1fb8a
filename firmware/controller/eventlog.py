"""What the board tells the host on its own: state changes and alarm changes, kept in a small ring
with sequence numbers so that a host that missed a push (unplugged, restarting) pulls it later, like
telemetry; and the heartbeats. Log entries are rows of preallocated arrays, so logging allocates
nothing; pushing (after the control step) builds the messages.
"""
from micropython import const
from array import array

from controller.tables import (EVENT_STATE as STATE, EVENT_ALARM as ALARM, ALARM_NAMES, ALARM_PRIORITIES, PRIORITY_NAMES,
                               PHASE_NAMES, ALARM_EVENT_NAMES)
# STATE: code = phase, detail = index of the alarm behind a FAULT + 1 (0: none).
# ALARM: code = alarm id, detail = RAISED, CLEARED or ACKNOWLEDGED.
# 64 entries: far more alarm and phase changes than a link-loss grace period can produce.
_CAPACITY = const(64)


class EventLog:
    def __init__(self, boot_id, capacity=_CAPACITY):
        self.boot_id = boot_id  # every pushed event says which boot it belongs to
        self.capacity = capacity
        self.t_ms = array("i", bytes(4 * capacity))
        self.kind = bytearray(capacity)
        self.code = bytearray(capacity)
        self.detail = bytearray(capacity)
        self.value = array("f", bytes(4 * capacity))
        self.next_seq = 1

    def add(self, t_ms, kind, code, detail, value):
        """Log one event; return its sequence number."""
        seq = self.next_seq
        slot = seq % self.capacity
        self.t_ms[slot] = t_ms
        self.kind[slot] = kind
        self.code[slot] = code
        self.detail[slot] = detail
        self.value[slot] = value
        self.next_seq = seq + 1
        return seq

    def oldest_seq(self):
        first = self.next_seq - self.capacity
        return first if first > 1 else 1

    def since(self, seq):
        """Sequence numbers still held from seq on (clamped to the oldest held), oldest first."""
        start = seq if seq > self.oldest_seq() else self.oldest_seq()
        return range(start, self.next_seq)

    def entry(self, seq):
        slot = seq % self.capacity
        return self.t_ms[slot], self.kind[slot], self.code[slot], self.detail[slot], self.value[slot]


def event_fields(log, seq):
    """An event log entry as the host sees it: pushed, and again in events_pull replies."""
    t_ms, kind, code, detail, value = log.entry(seq)
    if kind == STATE:
        fault = ALARM_NAMES[detail - 1] if detail else "none"
        return "state", {"seq": seq, "t_ms": t_ms, "phase": PHASE_NAMES[code], "fault": fault}
    return "alarm", {"seq": seq, "t_ms": t_ms, "alarm": ALARM_NAMES[code],
                     "priority": PRIORITY_NAMES[ALARM_PRIORITIES[code]], "state": ALARM_EVENT_NAMES[detail],
                     "value": value}


def push(link, log, seq):
    kind, fields = event_fields(log, seq)
    fields["boot_id"] = log.boot_id
    link.event(kind, fields)


def log_changes(alarms, session, log, link, uptime_ms):
    """Move the alarms' and the session's queued changes into the event log in the order they happened,
    and push each to the host. An alarm goes before a phase change of the same moment: it caused it.
    uptime_ms converts the session's board ticks to the uptime alarms are stamped with."""
    a = s = 0
    while a < alarms.queued or s < session.queued:
        state_ms = uptime_ms(session.queue_ms[s]) if s < session.queued else 0
        if s >= session.queued or (a < alarms.queued and alarms.queue_ms[a] <= state_ms):
            seq = log.add(alarms.queue_ms[a], ALARM, alarms.queue_alarm[a], alarms.queue_kind[a],
                          alarms.queue_value[a])
            a += 1
        else:
            seq = log.add(state_ms, STATE, session.queue_phase[s], session.queue_fault[s], 0.0)
            s += 1
        push(link, log, seq)
    alarms.queued = 0
    session.queued = 0


def heartbeat(link, log, uptime_ms, phase, link_ok):
    link.event("heartbeat", {"uptime_ms": uptime_ms, "phase": PHASE_NAMES[phase], "link_ok": link_ok,
                             "event_next": log.next_seq, "boot_id": log.boot_id})

