"""The launcher's end of the pipe to the Node harness (tools/rp2040/pipe.js): messages of one type byte,
a 32-bit little-endian length and the payload. USB bytes travel raw (from the device, after the chip's
time in nanoseconds as a float64); everything else is JSON."""
from __future__ import annotations

import json
import struct
import threading
from dataclasses import dataclass
from typing import IO, Any

USB = 0x55
EXCHANGE = 0x58
INPUTS = 0x49
EVENT = 0x45
_HEADER = struct.Struct("<BI")
_STAMP = struct.Struct("<d")


class HarnessGone(EOFError):
    """The harness's stdout closed (it exited or crashed)."""


@dataclass(frozen=True)
class Message:
    kind: int
    payload: bytes

    def json(self) -> dict[str, Any]:
        value = json.loads(self.payload)
        assert isinstance(value, dict)
        return value

    def usb(self) -> tuple[float, bytes]:
        """(chip time in ns, the bytes) of a USB message from the device."""
        return _STAMP.unpack_from(self.payload)[0], self.payload[_STAMP.size:]


class Pipe:
    """Both directions to one harness process; writes are serialised (the USB relay and the plant
    thread both write)."""

    def __init__(self, to_harness: IO[bytes], from_harness: IO[bytes]):
        self._out = to_harness
        self._in = from_harness
        self._lock = threading.Lock()

    def send(self, kind: int, payload: bytes) -> None:
        with self._lock:
            self._out.write(_HEADER.pack(kind, len(payload)) + payload)
            self._out.flush()

    def send_json(self, kind: int, value: dict[str, Any]) -> None:
        self.send(kind, json.dumps(value, separators=(",", ":")).encode())

    def receive(self) -> Message:
        header = self._in.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise HarnessGone("the RP2040 harness closed its pipe")
        kind, length = _HEADER.unpack(header)
        payload = self._in.read(length)
        if len(payload) < length:
            raise HarnessGone("the RP2040 harness closed its pipe mid-message")
        return Message(kind, payload)
