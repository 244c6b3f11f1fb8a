# Cost of the firmware's message encoding under MicroPython, and CBOR against JSON lines.
#
# Usage: micropython -X heapsize=240K bench/codec.py [ROUNDS]
# For a streamed telemetry event, a 12-record telemetry_pull reply and a status reply, prints the
# microseconds to encode (CBOR + CRC + COBS frame) and to decode (frame + CBOR) one message, and the
# bytes on the wire; then the same telemetry as JSON lines (a JSON object per record with field names,
# and a JSON array per record), with their sizes and encode/decode times. One JSON object on stdout.
import json
import os
import sys
import time

ROOT = "/".join(__file__.split("/")[:-2]) or "."
# The firmware as boards load it (precompiled; see hipec.firmware_build), or its sources.
sys.path.insert(0, os.getenv("HIPEC_FIRMWARE") or ROOT + "/firmware")

from controller import cbor, probes, telemetry, wire  # noqa: E402

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
NO = telemetry.NO_READING
# A record in telemetry.FIELDS order (two cavity probes fitted: the other two read "no reading").
RECORD = [4711, 4711000, 3, 43012, 39588, 39601, 39452, 37890, NO, NO, 43000, 146, 500, 39250, 110,
          2856, 18, 0, 43012]
STATUS = {
    "phase": "TREATMENT", "fault": "none",
    "temps_c": dict(zip(probes.PROBE_NAMES, (43.012, 39.588, 39.601, 39.452, 37.89, None, None))),
    "setpoint_c": 43.0, "heater_w": 219.4, "flow_ml_min": 500.0, "delivered_ml": 39250.5,
    "pressure_mmhg": 110, "reservoir_low": False, "air_in_line": False, "bypass_open": False,
    "treatment_s": 2856, "duration_s": 3600, "telemetry_next": 4712, "telemetry_oldest": 4112,
    "uptime_ms": 4711000, "overruns": 0, "heap_peak_bytes": 108960, "heap_live_bytes": 91296,
    "link_losses": 0,
}
MESSAGES = (
    ("telemetry_event", [2, 0, "telemetry", {"record": RECORD}]),
    ("telemetry_pull_12", [2, 123456, "ok", {"records": [RECORD] * 12, "oldest": 4100, "next": 4712}]),
    ("status_reply", [2, 123457, "ok", STATUS]),
)


def per_call_us(fn, arg):
    start = time.ticks_us()
    for _ in range(ROUNDS):
        fn(arg)
    return time.ticks_diff(time.ticks_us(), start) / ROUNDS


def encode(msg):
    out = bytearray()
    wire.encode_frame(cbor.dumps(msg), out)
    return out


def decode(frame):
    reader = wire.FrameReader()
    n = 0
    for byte in frame:
        n = reader.push(byte)
    return cbor.loads(bytes(reader.view[:n]))


def main():
    assert len(RECORD) == telemetry.N_FIELDS
    figures = {"rounds": ROUNDS}
    for name, msg in MESSAGES:
        frame = encode(msg)
        assert decode(frame) == msg
        figures[name] = {
            "wire_bytes": len(frame),
            "cbor_bytes": len(cbor.dumps(msg)),
            "encode_us": round(per_call_us(encode, msg), 1),
            "decode_us": round(per_call_us(decode, frame), 1),
        }
    named = {}
    for i in range(telemetry.N_FIELDS):
        named[telemetry.FIELDS[i]] = RECORD[i]
    for name, value in (("json_object_line", named), ("json_array_line", RECORD)):
        line = json.dumps(value) + "\n"
        figures[name] = {
            "wire_bytes": len(line),
            "encode_us": round(per_call_us(lambda v: json.dumps(v) + "\n", value), 1),
            "decode_us": round(per_call_us(json.loads, line), 1),
        }
    cbor_record = cbor.dumps(RECORD)
    figures["cbor_record_only"] = {
        "cbor_bytes": len(cbor_record),
        "encode_us": round(per_call_us(cbor.dumps, RECORD), 1),
        "decode_us": round(per_call_us(cbor.loads, cbor_record), 1),
    }
    print(json.dumps(figures))


main()
