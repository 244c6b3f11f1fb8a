"""Telemetry ring: fixed-size storage of the most recent records, each with a sequence number.

Records are rows of 32-bit integers in preallocated arrays, so recording allocates nothing and the
ring's memory is fixed at boot. The ring is cut into chunks of CHUNK_RECORDS rows so that no single
large block is needed on a fragmented heap. Temperatures are in milli-degC, so no float crosses the wire.
"""
from array import array

# Records kept for a host that reconnects: 110 = 110 s at the default 1 Hz (the link-loss grace period
# and a bridge's 30 s of reconnecting, with room), 9.0 KiB; each record held costs every board
# 84 bytes of heap for the whole session.
RING_RECORDS = 110
# Rows per chunk: 10 rows of 21 int32 = 840 bytes, easy to find even on a heap the firmware's import
# has broken up.
CHUNK_RECORDS = 10

from controller.tables import (FLAG_BYPASS_OPEN, FLAG_HEATER_ON, FLAG_FAULT, FLAG_HIGH_ALARM, FLAG_IN_BAND, FAULT,
                               N_PROBES, TELEMETRY_FIELDS as FIELDS, N_FIELDS, SEQ, T_MS, PHASE, TEMPS,  # noqa: F401
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


def record(ctl, t_ms):
    """Fill the ring's next row from the controller's state at the end of a tick, and commit it: what
    each column of tables.TELEMETRY_FIELDS holds is decided here and nowhere else."""
    row = ctl.telemetry.row
    p = ctl.probes
    row[T_MS] = t_ms
    row[PHASE] = ctl.session.phase
    for i in range(N_PROBES):
        row[TEMPS + i] = int(p.temp_c[i] * 1000.0) if p.valid[i] else NO_READING
    row[SETPOINT] = int(ctl.setpoint_c * 1000.0)
    row[HEATER_DEMAND] = int(ctl.heater_w * 1000.0 / ctl.config.heater_rated_w)
    row[FLOW] = int(ctl.pump.flow_ml_min)
    row[VOLUME] = int(ctl.pump.delivered_ml())
    row[PRESSURE] = ctl.board.pressure_mmhg()
    row[TREATMENT_S] = ctl.session.treatment_ms // 1000
    flags = 0
    if ctl.bypass_open:
        flags |= FLAG_BYPASS_OPEN
    if ctl.heater_w > 0.0:
        flags |= FLAG_HEATER_ON
    if ctl.session.phase == FAULT:
        flags |= FLAG_FAULT
    if ctl.alarms.high_active():
        flags |= FLAG_HIGH_ALARM
    if ctl.in_band:
        flags |= FLAG_IN_BAND
    row[FLAGS] = flags
    row[ALARMS] = ctl.alarms.bits()
    row[CONTROLLED] = int(ctl.controlled_c * 1000.0)
    ctl.telemetry.commit()
