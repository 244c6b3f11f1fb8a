"""The mistakes an operator meets (a wrong port, a board that does not answer, a file that is not a
record), each told in one line that names the thing and the way out, instead of a library's own text.
"""
from __future__ import annotations

import errno
import os
import sqlite3
import stat

import serial

from hipec.bridge import BoardError, BoardLink, LinkTimeout

# Where `hipec run`, `history` and `report` keep the record unless --db names another file.
DEFAULT_RECORD = "hipec-record.sqlite"
PORTS_HINT = "`hipec ports` lists the boards"


class PortError(OSError):
    """A serial port that cannot be opened, told in one line with the way out."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a plain file"
    if stat.S_ISCHR(mode):
        return "a character device that is not a terminal"
    return "not a device"


def open_board(port: str) -> BoardLink:
    """A link to the board on port, or PortError saying in one line what is wrong with the port."""
    try:
        mode = os.stat(port).st_mode
    except FileNotFoundError:
        raise PortError(f"no serial port {port}; {PORTS_HINT}") from None
    except PermissionError:
        raise PortError(f"{port}: permission denied; {PORTS_HINT}") from None
    if not stat.S_ISCHR(mode):
        raise PortError(f"{port} is not a serial port ({_kind(mode)}); {PORTS_HINT}")
    try:
        return BoardLink(port)
    except serial.SerialException as exc:
        code = exc.errno if isinstance(exc.errno, int) else (exc.args[0] if exc.args and isinstance(exc.args[0], int)
                                                             else None)
        text = str(exc)
        if code == errno.EACCES or "Permission denied" in text:
            raise PortError(f"{port}: permission denied; add your user to the group that owns it (often dialout) "
                            f"and log in again") from None
        if code == errno.ENOTTY or "Inappropriate ioctl" in text:
            raise PortError(f"{port} is not a serial port ({_kind(mode)}); {PORTS_HINT}") from None
        if code == errno.EBUSY:
            raise PortError(f"{port} is busy (another program has it open); close it and try again") from None
        raise PortError(f"cannot open {port}: {text}; {PORTS_HINT}") from None


def explain(exc: BaseException) -> str | None:
    """The one line for an error whose library text does not say what to do; None to keep its own."""
    if isinstance(exc, BoardError):
        return f"the board refused: {exc.message}"  # its code and field are for the record, not the operator
    if isinstance(exc, LinkTimeout):
        return (f"{exc}: is a board running this firmware connected there? {PORTS_HINT}; a board that was reset "
                "answers again after its boot")
    if isinstance(exc, serial.SerialException):
        return f"the serial link failed ({exc}); {PORTS_HINT}"
    if isinstance(exc, sqlite3.Error):
        return f"the record cannot be used ({exc}); give a hipec record with --db (default {DEFAULT_RECORD})"
    return None
