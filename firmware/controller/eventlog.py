"""Event log: the state changes and alarm changes the board pushes, kept in a small ring with sequence
numbers so that a host that missed a push (unplugged, restarting) pulls it later, like telemetry.

Entries are rows of preallocated arrays; logging allocates nothing.
"""
from array import array

from controller.tables import EVENT_STATE as STATE, EVENT_ALARM as ALARM  # noqa: E402
# STATE: code = phase, detail = index of the alarm behind a FAULT + 1 (0: none).
# ALARM: code = alarm id, detail = RAISED, CLEARED or ACKNOWLEDGED.
# 64 entries: far more alarm and phase changes than a link-loss grace period can produce.
CAPACITY = 64


class EventLog:
    def __init__(self, capacity=CAPACITY):
        self.capacity = capacity
        self.t_ms = array("i", [0] * capacity)
        self.kind = bytearray(capacity)
        self.code = bytearray(capacity)
        self.detail = bytearray(capacity)
        self.value = array("f", [0.0] * capacity)
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
