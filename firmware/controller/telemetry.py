"""Telemetry ring: fixed-size storage of the most recent records, each with a sequence number.

Records are rows of 32-bit integers in a preallocated array, so recording allocates nothing and the
ring's memory is fixed at boot. Temperatures are in milli-degC, so no float crosses the wire.
"""
from array import array

FIELDS = (
    "seq",
    "t_ms",
    "phase",
    "inflow_mc",
    "outflow_mc",
    "abdominal_1_mc",
    "abdominal_2_mc",
    "reservoir_mc",
    "setpoint_mc",
    "heater_pm",
    "flow_ml_min",
    "volume_ml",
    "pressure_mmhg",
    "treatment_s",
    "flags",
)
N_FIELDS = len(FIELDS)
SEQ = 0
T_MS = 1
PHASE = 2
TEMPS = 3  # five probe temperatures follow in probes.PROBE_NAMES order
SETPOINT = 8
HEATER = 9
FLOW = 10
VOLUME = 11
PRESSURE = 12
TREATMENT = 13
FLAGS = 14
# A probe that cannot be read is recorded as this value instead of a temperature.
NO_READING = -1000000


class TelemetryRing:
    def __init__(self, capacity):
        self.capacity = capacity
        # Built from zero bytes: a list initialiser would briefly need twice the memory.
        self.rows = array("i", bytes(4 * capacity * N_FIELDS))
        self.row = array("i", [0] * N_FIELDS)  # the record being filled this tick
        self.next_seq = 1

    def commit(self):
        """Store self.row as the next record; return its sequence number."""
        seq = self.next_seq
        self.row[SEQ] = seq
        base = (seq % self.capacity) * N_FIELDS
        rows = self.rows
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
        base = (seq % self.capacity) * N_FIELDS
        return list(self.rows[base:base + N_FIELDS])

    def since(self, seq, max_count):
        """Records with sequence number >= seq (clamped to what the ring still holds), oldest first."""
        start = seq if seq > self.oldest_seq() else self.oldest_seq()
        end = self.next_seq
        if end - start > max_count:
            end = start + max_count
        return [self.record(s) for s in range(start, end)]
