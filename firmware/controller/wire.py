"""Framing of the serial link: COBS-encoded frames ending in 0x00, each holding one message and its CRC-32.

A frame on the wire is COBS(payload + crc32(payload) as 4 bytes little-endian) followed by 0x00.
The receiver never trusts a frame: oversize, badly stuffed, short or bad-CRC frames are counted and
dropped, and reception resynchronises on the next 0x00.
"""
import binascii

from controller.tables import MAX_PAYLOAD_BYTES as MAX_PAYLOAD, CRC_BYTES
# COBS adds one byte per 254 plus one; the receive buffer holds a whole encoded frame.
MAX_ENCODED = MAX_PAYLOAD + CRC_BYTES + (MAX_PAYLOAD + CRC_BYTES) // 254 + 2


def crc32(data):
    return binascii.crc32(data) & 0xFFFFFFFF


class PayloadBuffer:
    """A message's CBOR, encoded into a bytearray made once at boot: cbor.encode writes it through
    append and extend as into a growing one, so a reply of a kilobyte needs no free block of that
    size at the moment it is sent (a fragmented heap may have none)."""

    def __init__(self):
        self.buf = bytearray(MAX_PAYLOAD)
        self.n = 0

    def append(self, byte):
        if self.n >= MAX_PAYLOAD:
            raise ValueError("message exceeds MAX_PAYLOAD %d" % MAX_PAYLOAD)
        self.buf[self.n] = byte
        self.n += 1

    def extend(self, data):
        n = self.n
        end = n + len(data)
        if end > MAX_PAYLOAD:
            raise ValueError("message exceeds MAX_PAYLOAD %d" % MAX_PAYLOAD)
        self.buf[n:end] = data  # the same length replaced: in place
        self.n = end

    def view(self):
        return memoryview(self.buf)[:self.n]


def encode_frame(payload, out):
    """Append a whole frame carrying payload to the bytearray out."""
    body = len(payload) + CRC_BYTES
    buf = bytearray(body + body // 254 + 2)
    out.extend(memoryview(buf)[:encode_frame_into(payload, buf)])


def encode_frame_into(payload, buf):
    """Write the frame carrying payload (COBS of payload and its CRC, then 0x00) into buf, a bytearray
    of MAX_ENCODED bytes, from its start; return the frame's length. Nothing grows or is copied, so a
    reply needs no block of memory the size of a frame (a fragmented heap may not have one)."""
    n = len(payload)
    if n > MAX_PAYLOAD:
        raise ValueError("payload of %d bytes exceeds MAX_PAYLOAD %d" % (n, MAX_PAYLOAD))
    crc = crc32(payload)
    code_pos = 0
    i = 1
    code = 1
    for k in range(n + CRC_BYTES):
        byte = payload[k] if k < n else (crc >> (8 * (k - n))) & 0xFF
        if byte == 0:
            buf[code_pos] = code
            code_pos = i
            i += 1
            code = 1
        else:
            buf[i] = byte
            i += 1
            code += 1
            if code == 0xFF:
                buf[code_pos] = code
                code_pos = i
                i += 1
                code = 1
    buf[code_pos] = code
    buf[i] = 0
    return i + 1


def cobs_decode_in_place(buf, n):
    """Decode the n COBS bytes at the start of buf in place; return the decoded length or -1."""
    read = 0
    write = 0
    while read < n:
        code = buf[read]
        end = read + code
        if code == 0 or end > n:
            return -1
        read += 1
        while read < end:
            byte = buf[read]
            if byte == 0:
                return -1
            buf[write] = byte
            write += 1
            read += 1
        if code != 0xFF and read < n:
            buf[write] = 0
            write += 1
    return write


class FrameReader:
    """Accumulates received bytes and yields verified payloads, one frame at a time."""

    def __init__(self):
        self.buf = bytearray(MAX_ENCODED)
        self.view = memoryview(self.buf)
        self.n = 0
        self.overflow = False
        self.frames_ok = 0
        self.frames_oversize = 0
        self.frames_bad_cobs = 0
        self.frames_bad_crc = 0

    def push(self, byte):
        """Take one received byte.

        Returns the payload length when the byte completes a good frame (the payload is then at
        self.view[:length] until the next call), -1 when it completes a bad frame, else 0.
        """
        if byte != 0:
            if self.n < MAX_ENCODED:
                self.buf[self.n] = byte
                self.n += 1
            else:
                self.overflow = True
            return 0
        n = self.n
        self.n = 0
        if self.overflow:
            self.overflow = False
            self.frames_oversize += 1
            return -1
        if n == 0:
            return 0  # an empty frame is a harmless resynchronisation marker
        length = cobs_decode_in_place(self.buf, n)
        if length < 0:
            self.frames_bad_cobs += 1
            return -1
        if length <= CRC_BYTES:
            self.frames_bad_crc += 1
            return -1
        length -= CRC_BYTES
        if length > MAX_PAYLOAD:
            self.frames_oversize += 1
            return -1
        b = self.buf
        got = b[length] | (b[length + 1] << 8) | (b[length + 2] << 16) | (b[length + 3] << 24)
        if got != crc32(self.view[:length]):
            self.frames_bad_crc += 1
            return -1
        self.frames_ok += 1
        return length

    def counters(self):
        return {
            "ok": self.frames_ok,
            "oversize": self.frames_oversize,
            "bad_cobs": self.frames_bad_cobs,
            "bad_crc": self.frames_bad_crc,
        }
