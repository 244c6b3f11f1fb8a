"""A client written from docs/protocol.md alone, with only the standard library (no cbor2, cobs or
pyserial, and nothing of this project's code), drives the emulated MCU."""
from __future__ import annotations

import os
import select
import struct
import termios
import time
import tty
import zlib
from typing import Any

from hipec.emulator.mcu import EmulatedMCU


# --- CBOR (section 3: the subset) -------------------------------------------------------------

def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for info, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if n < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | info]) + struct.pack(fmt, n)
    raise ValueError(n)


def cbor_encode(v: Any) -> bytes:
    if v is None:
        return b"\xf6"
    if v is True or v is False:
        return b"\xf5" if v else b"\xf4"
    if isinstance(v, int):
        return _head(0, v) if v >= 0 else _head(1, -1 - v)
    if isinstance(v, float):
        return b"\xfb" + struct.pack(">d", v)
    if isinstance(v, str):
        raw = v.encode()
        return _head(3, len(raw)) + raw
    if isinstance(v, list):
        return _head(4, len(v)) + b"".join(cbor_encode(x) for x in v)
    if isinstance(v, dict):
        return _head(5, len(v)) + b"".join(cbor_encode(k) + cbor_encode(x) for k, x in v.items())
    raise TypeError(type(v))


def cbor_decode(data: bytes, i: int = 0) -> tuple[Any, int]:
    ib = data[i]
    major, info = ib >> 5, ib & 31
    i += 1
    if major == 7:
        if info in (20, 21, 22):
            return (False, True, None)[info - 20], i
        width = {25: 2, 26: 4, 27: 8}[info]
        fmt = {2: ">e", 4: ">f", 8: ">d"}[width]
        return struct.unpack(fmt, data[i:i + width])[0], i + width
    if info < 24:
        n = info
    else:
        width = {24: 1, 25: 2, 26: 4, 27: 8}[info]
        n = int.from_bytes(data[i:i + width], "big")
        i += width
    if major == 0:
        return n, i
    if major == 1:
        return -1 - n, i
    if major in (2, 3):
        raw = data[i:i + n]
        return (raw if major == 2 else raw.decode()), i + n
    if major == 4:
        items = []
        for _ in range(n):
            item, i = cbor_decode(data, i)
            items.append(item)
        return items, i
    result = {}
    for _ in range(n):
        key, i = cbor_decode(data, i)
        result[key], i = cbor_decode(data, i)
    return result, i


# --- frames (section 2) -------------------------------------------------------------------------

def cobs_encode(data: bytes) -> bytes:
    out, block = bytearray(), bytearray()
    for byte in data:
        if byte == 0:
            out += bytes([len(block) + 1]) + block
            block.clear()
        else:
            block.append(byte)
            if len(block) == 254:
                out += b"\xff" + block
                block.clear()
    return bytes(out + bytes([len(block) + 1]) + block)


def cobs_decode(data: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(data):
        code = data[i]
        out += data[i + 1:i + code]
        i += code
        if code < 255 and i < len(data):
            out.append(0)
    return bytes(out)


class Client:
    def __init__(self, device: str):
        self.fd = os.open(device, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        termios.tcflush(self.fd, termios.TCIFLUSH)
        os.write(self.fd, b"\x00")  # section 2: end any partial frame
        self.buffer = b""
        self.next_id = 4242

    def request(self, msg_type: str, fields: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        msg_id, self.next_id = self.next_id, self.next_id + 1
        payload = cbor_encode([2, msg_id, msg_type, fields or {}])
        os.write(self.fd, cobs_encode(payload + struct.pack("<I", zlib.crc32(payload))) + b"\x00")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if select.select([self.fd], [], [], 0.1)[0]:
                self.buffer += os.read(self.fd, 4096)
            while b"\x00" in self.buffer:
                frame, self.buffer = self.buffer.split(b"\x00", 1)
                body = cobs_decode(frame)
                payload, crc = body[:-4], struct.unpack("<I", body[-4:])[0]
                assert zlib.crc32(payload) == crc
                version, reply_id, reply_type, reply_fields = cbor_decode(payload)[0]
                if reply_id == msg_id:
                    return reply_type, reply_fields
        raise TimeoutError(msg_type)


def test_a_client_written_from_the_document_drives_the_board() -> None:
    mcu = EmulatedMCU(speed=None)
    mcu.start()
    try:
        client = Client(mcu.device)
        kind, hello = client.request("hello")
        assert kind == "ok" and hello["protocol"] == 2
        kind, plan = client.request("set_plan", {"target_temp_c": 42.5, "duration_min": 1.0})
        assert kind == "ok" and plan["target_temp_c"] == 42.5
        kind, error = client.request("set_plan", {"flow_ml_min": 5000.0})
        assert kind == "error" and error["code"] == "bad_field" and error["field"] == "flow_ml_min"
        kind, started = client.request("start")
        assert kind == "ok" and started["phase"] == "PRIMING"
        first = started["telemetry_next"]
        mcu.wait_until(mcu.now_ms + 3000)
        kind, pulled = client.request("telemetry_pull", {"since": first, "max": 2})
        assert kind == "ok" and [r[0] for r in pulled["records"]] == [first, first + 1]
        kind, tables = client.request("describe")
        assert tables["phases"][pulled["records"][0][tables["telemetry_fields"].index("phase")]] == "PRIMING"
        kind, status = client.request("status")
        assert kind == "ok" and status["setpoint_c"] == 42.5
    finally:
        mcu.stop()
