"""Telemetry ring: fixed-size storage of the most recent records, each with a sequence number.

Records are rows of 32-bit integers in preallocated arrays, so recording allocates nothing and the
ring's memory is fixed at boot. The ring is cut into chunks of CHUNK_RECORDS rows so that no single
large block is needed on a fragmented heap. Temperatures are in milli-degC, so no float crosses the wire.
"""
from array import array

# Rows per chunk: 50 rows of 19 int32 = 3800 bytes, easy to find even on a fragmented heap.
CHUNK_RECORDS = 50

from controller.tables import (TELEMETRY_FIELDS as FIELDS, N_FIELDS, SEQ, T_MS, PHASE, TEMPS,  # noqa: F401
                               SETPOINT, HEATER_DEMAND, FLOW, VOLUME, PRESSURE, TREATMENT_S, FLAGS, ALARMS,
                               CONTROLLED, NO_READING)


class TelemetryRing:
    def __init__(self, capacity):
        chunks = (capacity + CHUNK_RECORDS - 1) // CHUNK_RECORDS
        self.capacity = chunks * CHUNK_RECORDS
        # Built from zero bytes: a list initialiser would briefly need several times the memory.
        self.chunks = [array("i", bytes(4 * CHUNK_RECORDS * N_FIELDS)) for _ in range(chunks)]
        self.row = array("i", [0] * N_FIELDS)  # the record being filled this tick
        self.next_seq = 1

    def commit(self):
        """Store self.row as the next record; return its sequence number."""
        seq = self.next_seq
        self.row[SEQ] = seq
        slot = seq % self.capacity
        rows = self.chunks[slot // CHUNK_RECORDS]
        base = (slot % CHUNK_RECORDS) * N_FIELDS
        row = self.row
        for i in range(N_FIELDS):
            rows[base + i] = row[i]
        self.next_seq = seq + 1
        return seq

    def oldest_seq(self):
        first = self.next_seq - self.capacity
        return first if first > 1 else 1

    def latest(self):
        """The last committed record as a list, or None before the first."""
        if self.next_seq == 1:
            return None
        return self.record(self.next_seq - 1)

    def record(self, seq):
        slot = seq % self.capacity
        base = (slot % CHUNK_RECORDS) * N_FIELDS
        return list(self.chunks[slot // CHUNK_RECORDS][base:base + N_FIELDS])

    def since(self, seq, max_count):
        """Records with sequence number >= seq (clamped to what the ring still holds), oldest first."""
        start = seq if seq > self.oldest_seq() else self.oldest_seq()
        end = self.next_seq
        if end - start > max_count:
            end = start + max_count
        return [self.record(s) for s in range(start, end)]
