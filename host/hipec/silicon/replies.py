"""The link's reply times on the chip's clock: from the moment a request's last byte reached the device
(the start of the slice it was delivered in) to the moment the device sent the last byte of the reply
with the same id. Frames that are not the protocol's (REPL traffic while flashing) are skipped; the
board's events (id 0) are not replies."""
from __future__ import annotations

import threading

from hipec.wire import FrameError, FrameSplitter, decode_frame, decode_message


class ReplyClock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._to_board = FrameSplitter()
        self._from_board = FrameSplitter()
        self._sent_ns: dict[int, float] = {}  # request id -> chip time it reached the device
        # (request type, reply time, chip time of the reply) in order
        self.reply_ns: list[tuple[str, float, float]] = []
        self._types: dict[int, str] = {}

    def to_board(self, data: bytes, delivered_ns: float) -> None:
        with self._lock:
            for frame in self._to_board.feed(data):
                message = _message(frame)
                if message is not None:
                    self._sent_ns[message[0]] = delivered_ns
                    self._types[message[0]] = message[1]

    def from_board(self, data: bytes, at_ns: float) -> None:
        with self._lock:
            for frame in self._from_board.feed(data):
                message = _message(frame)
                if message is None or message[0] == 0:
                    continue
                sent = self._sent_ns.pop(message[0], None)
                if sent is not None:
                    self.reply_ns.append((self._types.pop(message[0], "?"), at_ns - sent, at_ns))

    def worst(self) -> tuple[str, float] | None:
        """(request type, reply time in ns) of the longest reply so far."""
        with self._lock:
            if not self.reply_ns:
                return None
            kind, took, _at = max(self.reply_ns, key=lambda item: item[1])
            return kind, took


def _message(frame: bytes) -> tuple[int, str] | None:
    try:
        message = decode_message(decode_frame(frame))
    except FrameError:
        return None
    return message.id, message.type
