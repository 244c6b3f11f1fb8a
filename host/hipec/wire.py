"""Host side of the link framing and message envelope (the board's side is firmware/controller/wire.py).

Frame: COBS(payload + CRC-32 little-endian) + 0x00. Payload: the CBOR array [version, id, type, fields].
"""
from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import Any

import cbor2
from cobs import cobs  # type: ignore[import-untyped]

from hipec.tables import protocol

PROTOCOL_VERSION: int = protocol.PROTOCOL_VERSION
MAX_PAYLOAD: int = protocol.MAX_PAYLOAD_BYTES
CRC_BYTES: int = protocol.CRC_BYTES


class FrameError(ValueError):
    pass


@dataclass(frozen=True)
class Message:
    version: int
    id: int
    type: str
    fields: dict[str, Any]


def encode_frame(payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise FrameError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    crc = binascii.crc32(payload) & 0xFFFFFFFF
    encoded: bytes = cobs.encode(payload + crc.to_bytes(CRC_BYTES, "little"))
    return encoded + b"\x00"


def decode_frame(frame: bytes) -> bytes:
    """Payload of one frame given without its 0x00 delimiter; FrameError if it is damaged."""
    try:
        body: bytes = cobs.decode(frame)
    except cobs.DecodeError as exc:
        raise FrameError(f"bad COBS stuffing: {exc}") from None
    if len(body) <= CRC_BYTES:
        raise FrameError("frame too short for a CRC")
    payload, crc = body[:-CRC_BYTES], int.from_bytes(body[-CRC_BYTES:], "little")
    if binascii.crc32(payload) & 0xFFFFFFFF != crc:
        raise FrameError("CRC mismatch")
    return payload


def encode_message(msg_id: int, msg_type: str, fields: dict[str, Any]) -> bytes:
    return encode_frame(cbor2.dumps([PROTOCOL_VERSION, msg_id, msg_type, fields]))


def decode_message(payload: bytes) -> Message:
    try:
        value = cbor2.loads(payload)
    except Exception as exc:  # cbor2 raises several types for malformed input
        raise FrameError(f"undecodable CBOR: {exc}") from None
    if not (isinstance(value, list) and len(value) == 4 and isinstance(value[1], int)
            and isinstance(value[2], str) and isinstance(value[3], dict)):
        raise FrameError(f"not a message envelope: {value!r:.80}")
    return Message(value[0], value[1], value[2], value[3])


class FrameSplitter:
    """Cuts a received byte stream into frames at 0x00 delimiters."""

    def __init__(self, max_frame: int = 2 * MAX_PAYLOAD) -> None:
        self._buf = bytearray()
        self._max = max_frame
        self.dropped = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        frames: list[bytes] = []
        while True:
            end = self._buf.find(0)
            if end < 0:
                if len(self._buf) > self._max:
                    self.dropped += 1
                    self._buf.clear()
                return frames
            frame = bytes(self._buf[:end])
            del self._buf[:end + 1]
            if frame:
                frames.append(frame)
