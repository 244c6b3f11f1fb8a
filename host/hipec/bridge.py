"""The bridge's connection to a board: requests with retries, replies matched by id, events queued.

One request is outstanding at a time. A request that gets no reply in time is sent again with the
same id, so the board answers it from its reply cache instead of applying it twice.
"""
from __future__ import annotations

import random
import time
from collections import deque
from typing import Any

import serial

from hipec.tables import protocol
from hipec.wire import FrameError, FrameSplitter, Message, decode_frame, decode_message, encode_message

MAX_REQUEST_ID: int = protocol.MAX_REQUEST_ID
# The board counts the host as gone after 5 s without a request; a heartbeat every 1 s keeps it sure.
HEARTBEAT_PERIOD_S = 1.0


class BoardError(Exception):
    """The board refused a request; code, field and message come from its error reply."""

    def __init__(self, code: str, field: str, message: str):
        super().__init__(f"{message} [{code}: {field}]")
        self.code = code
        self.field = field
        self.message = message


class PortBusy(OSError):
    """Another process holds the board's serial port."""


def port_holder(port: str) -> tuple[int, str] | None:
    """The process holding the exclusive lock on the device, (pid, its command line), from the kernel's
    lock table; None if it cannot be told."""
    import os

    try:
        st = os.stat(port)
        # The kernel names the file by its device (hex major:minor) and inode: both must match, or a
        # lock on another file system's file with the same inode number would be taken for this one.
        device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
        with open("/proc/locks") as f:
            for line in f:
                fields = line.split()
                if "FLOCK" not in fields:
                    continue
                pid, where = fields[4], fields[5]  # "12345", "00:05:3" (major:minor:inode)
                if where != device:
                    continue
                with open(f"/proc/{pid}/cmdline", "rb") as c:
                    command = c.read().replace(b"\0", b" ").decode(errors="replace").strip()
                return int(pid), command
    except (OSError, IndexError, ValueError):
        pass
    return None


class LinkTimeout(Exception):
    """No reply after every retry: the board is gone, hung or unplugged. never_answered: nothing on this
    port has ever replied since it was opened (a wrong port, not a lost link)."""

    def __init__(self, message: str, never_answered: bool = False):
        super().__init__(message)
        self.never_answered = never_answered


class BoardLink:
    def __init__(self, port: str, reply_timeout_s: float = 1.0, retries: int = 3):
        self.port = port
        self.reply_timeout_s = reply_timeout_s
        self.retries = retries
        try:
            # Exclusive: a second bridge on the same board would steal its replies and leave both with
            # link losses, so it is refused here, naming the process that holds the port.
            self.serial = serial.Serial(port, baudrate=115200, timeout=0.02, exclusive=True)
        except serial.SerialException as exc:
            holder = port_holder(port) if "exclusively lock" in str(exc) else None
            if holder:
                pid, command = holder
                raise PortBusy(f"{port} is in use by pid {pid} ({command}); one bridge per board: leave that "
                               f"bridge (`q` on its dashboard) or end it (`kill {pid}`), then try again") from None
            raise
        self.serial.reset_input_buffer()
        self.serial.write(b"\x00")  # ends any partial frame the board may hold
        self._splitter = FrameSplitter()
        # A random first id: a restarted bridge must not reuse ids the board still has cached replies for.
        self._next_id = random.randint(1, MAX_REQUEST_ID // 2)
        self.events: deque[Message] = deque(maxlen=10000)
        self._inbox: deque[Message] = deque()  # received, not yet looked at
        self.bad_frames = 0
        self.timeouts = 0
        self.answered = False  # a reply has come on this port since it was opened
        self.last_request_at = time.monotonic()
        self.last_frame_at = time.monotonic()

    def close(self) -> None:
        self.serial.close()

    def __enter__(self) -> BoardLink:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, msg_type: str, fields: dict[str, Any] | None = None,
                timeout_s: float | None = None) -> dict[str, Any]:
        msg_id = self._next_id
        self._next_id = self._next_id % MAX_REQUEST_ID + 1
        frame = encode_message(msg_id, msg_type, fields or {})
        wait = self.reply_timeout_s if timeout_s is None else timeout_s
        self.last_request_at = time.monotonic()
        for _attempt in range(self.retries + 1):
            self.serial.write(frame)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if not self._inbox:
                    self._inbox.extend(self._receive())
                while self._inbox:
                    msg = self._inbox.popleft()  # messages after the reply stay for the next call
                    if msg.id == 0:
                        self.events.append(msg)
                    elif msg.id == msg_id:
                        self.answered = True
                        if msg.type == "ok":
                            return msg.fields
                        f = msg.fields
                        raise BoardError(str(f.get("code")), str(f.get("field")), str(f.get("message")))
            self.timeouts += 1
        raise LinkTimeout(f"no reply to {msg_type} from {self.port} after {self.retries + 1} tries",
                          never_answered=not self.answered)

    def keepalive(self, period_s: float = HEARTBEAT_PERIOD_S) -> None:
        """Send a heartbeat if nothing else was asked for period_s, so the board knows the host is there."""
        if time.monotonic() - self.last_request_at >= period_s:
            self.request("heartbeat")

    def silent_s(self) -> float:
        """Seconds since the board last sent anything (it pushes a heartbeat every second)."""
        return time.monotonic() - self.last_frame_at

    def _receive(self) -> list[Message]:
        data = self.serial.read(max(1, self.serial.in_waiting))
        if data:
            self.last_frame_at = time.monotonic()
        messages = []
        for frame in self._splitter.feed(data):
            try:
                messages.append(decode_message(decode_frame(frame)))
            except FrameError:
                self.bad_frames += 1
        return messages
