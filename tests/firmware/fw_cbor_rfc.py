# RFC 8949 Appendix A, every example: those inside the codec's subset decode to the right value (and
# encode back to the same bytes where the RFC marks them round-trip), the rest are refused cleanly.
import json
import math
import os

from controller import cbor

# The test sources' folder: this module's own, or (compiled, run from the build) the one the runner names.
TESTS_DIR = os.getenv("HIPEC_FW_TESTS_DIR") or __file__.rsplit("/", 1)[0]
VECTORS = TESTS_DIR.rsplit("/", 1)[0] + "/data/cbor-rfc8949-appendix-a.json"
INF = float("inf")
# The chips' MicroPython has single-precision floats (so has the float32 unix build the suite runs).
# There an RFC double such as 1.1 is held as the nearest single, and a decimal in the vectors file is
# read by MicroPython's single-precision parser, which may land an ulp off: decoded floats are compared
# within an ulp, and a float example round-trips from the value the codec decoded (a double that no
# single holds exactly cannot, the board has no doubles to encode).
SINGLE = 1.0 + 1e-9 == 1.0
SINGLE_ULP = float(1) / 8388608  # 2**-23
# Examples whose value JSON cannot carry, written out; any other "diagnostic" example is a tag,
# undefined or a simple value, which the subset excludes.
DIAGNOSTIC_VALUES = {
    "Infinity": INF,
    "-Infinity": -INF,
    "h''": b"",
    "h'01020304'": b"\x01\x02\x03\x04",
    "{1: 2, 3: 4}": {1: 2, 3: 4},
    "(_ h'0102', h'030405')": b"\x01\x02\x03\x04\x05",
}


def load():
    with open(VECTORS) as f:
        return json.load(f)


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        # Both floats, equal, and of the same sign: keeps -0.0 apart from 0.0 and 1.0 apart from 1.
        equal = a == b or (SINGLE and isinstance(b, float) and abs(a - b) <= abs(b) * SINGLE_ULP)
        return (isinstance(a, float) and isinstance(b, float) and equal
                and math.copysign(1.0, a) == math.copysign(1.0, b))
    return a == b


def test_every_example_is_decoded_right_or_refused():
    decoded = refused = 0
    for example in load():
        data = bytes.fromhex(example["hex"])
        diagnostic = example.get("diagnostic")
        if "decoded" in example or diagnostic in DIAGNOSTIC_VALUES or diagnostic == "NaN":
            value = cbor.loads(data)
            if diagnostic == "NaN":
                assert value != value, example
            else:
                expected = example["decoded"] if "decoded" in example else DIAGNOSTIC_VALUES[diagnostic]
                assert same(value, expected), (example, value)
            decoded += 1
        else:
            try:
                cbor.loads(data)
            except cbor.CBORError:
                refused += 1
                continue
            assert False, "outside the subset but decoded: %s" % example["hex"]
    # 70 examples fall inside the subset; 12 are tags, undefined or simple values.
    assert decoded == 70 and refused == 12, (decoded, refused)


def test_round_trip_examples_encode_to_the_same_bytes():
    checked = 0
    for example in load():
        if not example["roundtrip"]:
            continue
        data = bytes.fromhex(example["hex"])
        diagnostic = example.get("diagnostic")
        if "decoded" in example:
            value = example["decoded"]
        elif diagnostic in DIAGNOSTIC_VALUES:
            value = DIAGNOSTIC_VALUES[diagnostic]
        elif diagnostic == "NaN":
            value = float("nan")
        else:
            continue
        if SINGLE and isinstance(value, float):
            if data[0] == 0xFB:
                continue  # a double no single holds: the board encodes the single it decoded
            value = cbor.loads(data)
        if isinstance(value, dict) and len(value) > 1 or data[0] & 0x1F == 31:
            # Map order is the encoder's choice; indefinite lengths are never produced.
            assert cbor.loads(cbor.dumps(value)) == value
        else:
            assert cbor.dumps(value) == data, (example["hex"], cbor.dumps(value))
        checked += 1
    assert checked >= (52 if SINGLE else 55), checked
