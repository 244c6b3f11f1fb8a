# CBOR codec: round trips, exact encodings from RFC 8949 Appendix A, and clean refusals.
from controller import cbor


def h(text):
    return bytes.fromhex(text)


def refused(data):
    try:
        cbor.loads(data)
    except cbor.CBORError:
        return True
    return False


def test_integers_encode_to_rfc_bytes():
    cases = ((0, "00"), (23, "17"), (24, "1818"), (1000, "1903e8"), (1000000, "1a000f4240"),
             (1000000000000, "1b000000e8d4a51000"), (18446744073709551615, "1bffffffffffffffff"),
             (-1, "20"), (-1000, "3903e7"), (-18446744073709551616, "3bffffffffffffffff"))
    for value, encoded in cases:
        assert cbor.dumps(value) == h(encoded), value
        assert cbor.loads(h(encoded)) == value


# The chips' floats are single precision (so are the float32 unix build's): 1.1 is then the single
# nearest it, encoded in four bytes. Powers of two are divided when the test runs (float(1) / 16384):
# a .mpy keeps float constants as decimals, even folded ones such as 1 / 16384, and a single-precision
# parser may read 6.103515625e-05 an ulp off.
SINGLE = 1.0 + 1e-9 == 1.0


def test_floats_use_the_shortest_exact_width():
    assert cbor.dumps(1.5) == h("f93e00")
    assert cbor.dumps(100000.0) == h("fa47c35000")
    assert cbor.dumps(1.1) == h("fa3f8ccccd" if SINGLE else "fb3ff199999999999a")
    assert cbor.loads(h("f93c00")) == 1.0
    assert cbor.loads(h("f90001")) == float(1) / 16777216
    assert cbor.loads(h("fa7f7fffff")) == (2 - float(1) / 8388608) * (1 << 127)
    assert cbor.loads(h("f9fc00")) == float("-inf")
    nan = cbor.loads(h("f97e00"))
    assert nan != nan


def test_strings_containers_and_simple_values_round_trip():
    value = [1, -2, "héllo", b"\x00\x01", {"a": [True, False, None]}, [], {}, ""]
    assert cbor.loads(cbor.dumps(value)) == value


def test_indefinite_lengths_decode():
    assert cbor.loads(h("9f018202039f0405ffff")) == [1, [2, 3], [4, 5]]
    assert cbor.loads(h("bf61610161629f0203ffff")) == {"a": 1, "b": [2, 3]}
    assert cbor.loads(h("7f657374726561646d696e67ff")) == "streaming"
    assert cbor.loads(h("5f42010243030405ff")) == b"\x01\x02\x03\x04\x05"


def test_outside_the_subset_is_refused_cleanly():
    assert refused(h("c074323031332d30332d32315432303a30343a30305a"))  # tag 0
    assert refused(h("f7"))  # undefined
    assert refused(h("f0"))  # simple(16)
    assert refused(h("ff"))  # lone break
    assert refused(h("1c"))  # reserved additional information
    assert refused(h("0000"))  # trailing bytes
    assert refused(h("62c328"))  # invalid UTF-8
    assert refused(h("a20101 0102".replace(" ", "")))  # duplicate key
    assert refused(h("a1800102"))  # array as a map key


def test_truncated_and_huge_lengths_are_refused_without_allocating():
    assert refused(b"")
    assert refused(h("1903"))
    assert refused(h("5bffffffffffffffff"))  # byte string claiming 2**64-1 bytes
    assert refused(h("9bffffffffffffffff"))  # array claiming 2**64-1 items
    assert refused(h("7a00100000"))  # text of 1 MiB in a 5-byte message


def test_deep_nesting_is_refused():
    assert refused(b"\x81" * (cbor.MAX_DEPTH + 2) + b"\x00")
    assert cbor.loads(b"\x81" * (cbor.MAX_DEPTH - 1) + b"\x00") is not None


def test_unencodable_value_raises_cbor_error():
    try:
        cbor.dumps(object())
    except cbor.CBORError:
        return
    assert False, "object() was encoded"


def test_subnormal_and_edge_halves_encode_in_two_bytes():
    # 0x02d6 * 2**-24 (4.3272972106933594e-05) is the subnormal half 0x02d6: found by the interop
    # property test.
    for value, encoded in ((float(0x02D6) / 16777216, "f902d6"), (float(1) / 16777216, "f90001"),
                           (float(1) / 16384, "f90400"), (65504.0, "f97bff"), (-0.0, "f98000"),
                           (float("inf"), "f97c00"), (float("-inf"), "f9fc00"), (65520.0, "fa477ff000")):
        assert cbor.dumps(value) == h(encoded), (value, cbor.dumps(value))


def test_text_that_is_not_strict_utf8_is_refused():
    # Overlong forms, a surrogate, above U+10FFFF, stray and missing continuation bytes: MicroPython's
    # own decoder accepts some of these; the protocol does not.
    for bad in (b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\xc3",
                b"\xe2\x82", b"\xf0\x9d\x84", b"\xff", b"ok\xc3("):
        try:
            cbor.loads(bytes([0x60 + len(bad)]) + bad)
        except cbor.CBORError as exc:
            assert "UTF-8" in str(exc)
        else:
            raise AssertionError("accepted %r" % bad)
    for good in ("é", "€", "\U0001d11e", "\ud7ff", "\ue000", "\U0010ffff", "plain"):
        raw = good.encode("utf-8")
        assert cbor.loads(bytes([0x60 + len(raw)]) + raw) == good
