"""Interoperability of the firmware's CBOR codec, running under MicroPython, with cbor2.

Random values (hypothesis) are encoded by cbor2, decoded by the firmware codec inside the
`micropython` interpreter, encoded again by the firmware and decoded by cbor2: the value must come back
unchanged. That checks both directions: cbor2 -> firmware and firmware -> cbor2.
"""
from __future__ import annotations

import math
import struct
import subprocess
from typing import Any, Iterator

import cbor2
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hipec import REPO_ROOT
from hipec.emulator.mcu import DEFAULT_HEAP_KIB, micropython_binary


class CodecServer:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [micropython_binary(), "-X", f"heapsize={DEFAULT_HEAP_KIB}K",
             str(REPO_ROOT / "tests" / "firmware" / "mp_codec_server.py"), str(REPO_ROOT / "firmware")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def round_trip(self, data: bytes) -> tuple[int, bytes]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(struct.pack("<I", len(data)) + data)
        self.proc.stdin.flush()
        head = self.proc.stdout.read(5)
        assert len(head) == 5, "the MicroPython codec server died"
        status, size = struct.unpack("<BI", head)
        return status, self.proc.stdout.read(size)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server() -> Iterator[CodecServer]:
    s = CodecServer()
    yield s
    s.close()


def same(a: Any, b: Any) -> bool:
    """Equality that treats NaN as equal to NaN and keeps -0.0 apart from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**64), max_value=2**64 - 1)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text() | st.binary())
keys = st.text(max_size=8) | st.integers(min_value=-(2**63), max_value=2**63)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=6)
                      | st.dictionaries(keys, inner, max_size=6), max_leaves=24)


@settings(max_examples=400, deadline=None)
@given(values)
def test_cbor2_values_survive_the_firmware_codec(server: CodecServer, value: Any) -> None:
    status, body = server.round_trip(cbor2.dumps(value))
    assert status == 0, body.decode()
    assert same(cbor2.loads(body), value)


@settings(max_examples=200, deadline=None)
@given(st.floats(width=16) | st.floats(width=32) | st.floats())
@example(4.3272972106933594e-05)  # a subnormal half the first codec encoded as a single
def test_firmware_floats_use_the_shortest_exact_width(server: CodecServer, value: float) -> None:
    status, body = server.round_trip(cbor2.dumps(value, canonical=True))
    assert status == 0
    # cbor2's canonical mode also picks the shortest width that keeps the value exactly.
    assert len(body) == len(cbor2.dumps(value, canonical=True))
    assert same(cbor2.loads(body), value)


@pytest.mark.parametrize("data", [
    cbor2.dumps(2**64),                      # bignum tag
    cbor2.dumps(cbor2.CBORTag(1, 0)),        # a tag
    b"\xf7",                                 # undefined
    b"\x81" * 40 + b"\x00",                  # nesting deeper than the limit
    b"\x9b\xff\xff\xff\xff\xff\xff\xff\xff",  # array claiming 2**64-1 items
])
def test_values_outside_the_subset_are_refused_not_crashed(server: CodecServer, data: bytes) -> None:
    status, body = server.round_trip(data)
    assert status == 1 and body
    status, _ = server.round_trip(cbor2.dumps({"still": "alive"}))
    assert status == 0
