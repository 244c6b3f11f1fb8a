# Frame layer: COBS + CRC-32 round trips, and every kind of damaged frame dropped and counted.
from controller import wire


def frame(payload):
    out = bytearray()
    wire.encode_frame(payload, out)
    return out


def feed(reader, data):
    got = []
    for byte in data:
        n = reader.push(byte)
        if n > 0:
            got.append(bytes(reader.view[:n]))
    return got


def test_round_trip_of_payloads_with_and_without_zeros():
    payloads = [b"\x01", b"\x00", b"\x00\x00\x00", bytes(range(256)), bytes(300), b"\xff" * 600,
                bytes([i % 7 for i in range(wire.MAX_PAYLOAD)])]
    reader = wire.FrameReader()
    for p in payloads:
        encoded = frame(p)
        assert encoded[-1] == 0 and encoded.find(b"\x00") == len(encoded) - 1
        assert feed(reader, encoded) == [p]
    assert reader.frames_ok == len(payloads)


def test_bad_crc_is_dropped_and_the_next_frame_still_arrives():
    reader = wire.FrameReader()
    damaged = frame(b"hello")
    damaged[2] ^= 0x01
    assert feed(reader, damaged + frame(b"next")) == [b"next"]
    assert reader.frames_bad_crc == 1


def test_garbage_between_frames_resynchronises_on_zero():
    reader = wire.FrameReader()
    data = b"\x13\x37garbage\x00" + frame(b"one") + b"\x05\x05\x05" + b"\x00" + frame(b"two")
    assert feed(reader, data) == [b"one", b"two"]
    assert reader.frames_bad_cobs + reader.frames_bad_crc == 2


def test_oversize_frame_is_dropped_without_growing_the_buffer():
    reader = wire.FrameReader()
    size = len(reader.buf)
    assert feed(reader, b"\x01" * (wire.MAX_ENCODED + 50) + b"\x00" + frame(b"ok")) == [b"ok"]
    assert reader.frames_oversize == 1
    assert len(reader.buf) == size


def test_empty_frames_are_ignored_silently():
    reader = wire.FrameReader()
    assert feed(reader, b"\x00\x00" + frame(b"x")) == [b"x"]
    assert reader.frames_bad_crc == 0 and reader.frames_bad_cobs == 0


def test_payload_over_the_limit_is_refused_by_the_encoder():
    try:
        frame(bytes(wire.MAX_PAYLOAD + 1))
    except ValueError:
        return
    assert False, "an oversize payload was framed"
