# Fuzzes the firmware's receive path (framing, CBOR, envelope, commands) under MicroPython.
#
# Usage: micropython -X heapsize=250K bench/fuzz_link.py FRAMES [SEED]   (make fuzz: 100000 frames; the
# board's 240 KiB and the fuzzer's own 10)
# Feeds random and mutated frames into a Controller on an in-memory board: garbage, bit flips,
# truncations, valid CBOR with wrong types, huge declared lengths, deep nesting, oversize frames, and
# well-formed requests whose arguments are wrong. None of them may raise out of the link, change the
# session, plan or configuration, or grow the heap; afterwards a valid status request must be answered.
# Prints one JSON line of figures.
import gc
import json
import os
import random
import sys
import time

ROOT = "/".join(__file__.split("/")[:-2]) or "."
sys.path.insert(0, ROOT + "/tests/firmware")
# The firmware as boards load it (precompiled; see hipec.firmware_build), or its sources.
sys.path.insert(0, os.getenv("HIPEC_FIRMWARE") or ROOT + "/firmware")

from controller import app, cbor, session, wire  # noqa: E402
from fakeboard import FakeBoard  # noqa: E402

# Requests that change nothing, or that the generator always makes invalid.
SAFE_TYPES = ("hello", "status", "heartbeat", "echo", "get_plan", "get_config", "telemetry_pull")
INVALID_TYPES = ("set_plan", "set_config", "launch", "", "STATUS", "start ", "pump_calibrate")
# The longest oversize frame the generator sends: 0x01 bytes past the largest valid frame, then 0x00
# (made once, after the controller has its buffers).
OVERSIZE = [None]
CATEGORIES = ("garbage", "bitflip", "truncate", "wrong_types", "huge_length", "deep_nesting",
              "oversize", "bad_args")


def rnd_bytes(n):
    return bytes(random.getrandbits(8) for _ in range(n))


def framed(payload):
    out = bytearray()
    wire.encode_frame(payload, out)
    return out


def rnd_value(depth=0):
    kind = random.getrandbits(3)
    if kind == 0 or depth > 2:
        return random.getrandbits(16) - 30000
    if kind == 1:
        return "x" * random.getrandbits(3)
    if kind == 2:
        return random.getrandbits(10) / 7.0
    if kind == 3:
        return [rnd_value(depth + 1) for _ in range(random.getrandbits(2))]
    if kind == 4:
        return {"k%d" % random.getrandbits(4): rnd_value(depth + 1)}
    if kind == 5:
        return None
    if kind == 6:
        return rnd_bytes(random.getrandbits(3))
    return True


def valid_request(msg_id):
    msg_type = SAFE_TYPES[random.getrandbits(8) % len(SAFE_TYPES)]
    args = {}
    if msg_type == "telemetry_pull":
        args = {"since": random.getrandbits(6), "max": 1 + random.getrandbits(3)}
    elif msg_type == "echo":
        args = {"v": rnd_value()}
    return cbor.dumps([2, msg_id, msg_type, args])


def bad_args_request(msg_id):
    msg_type = INVALID_TYPES[random.getrandbits(8) % len(INVALID_TYPES)]
    args = {"no_such_field": rnd_value()}  # an unknown field: the whole request must be refused
    if random.getrandbits(1):
        args["target_temp_c"] = rnd_value()
    return cbor.dumps([2, msg_id, msg_type, args])


def make_frame(category, msg_id):
    if category == "garbage":
        data = bytearray(rnd_bytes(1 + random.getrandbits(7)))
        if random.getrandbits(1):
            data.append(0)
        return data
    if category == "bitflip":
        data = framed(valid_request(msg_id))
        for _ in range(1 + random.getrandbits(3)):
            i = random.getrandbits(16) % (len(data) - 1)
            data[i] ^= 1 << random.getrandbits(3)
        return data
    if category == "truncate":
        data = framed(valid_request(msg_id))
        cut = random.getrandbits(16) % (len(data) - 1)
        return data[:cut] + b"\x00"
    if category == "wrong_types":
        shape = random.getrandbits(2)
        if shape == 0:
            msg = rnd_value()
        elif shape == 1:
            msg = [rnd_value(), rnd_value(), rnd_value(), rnd_value()]
        elif shape == 2:
            msg = [2, msg_id, SAFE_TYPES[random.getrandbits(8) % len(SAFE_TYPES)], rnd_value()]
        else:
            msg = [2, msg_id, "telemetry_pull", {"since": rnd_value(), "max": rnd_value()}]
        if isinstance(msg, list) and len(msg) == 4 and isinstance(msg[2], str) and msg[2] == "echo":
            msg[3] = {}  # echo would return any map, valid or not; keep it a wrong-type probe
        return framed(cbor.dumps(msg))
    if category == "huge_length":
        head = (0x5B, 0x7B, 0x9B, 0xBB)[random.getrandbits(2)]
        return framed(bytes([0x84, 0x01, head]) + b"\xff\xff\xff\xff\xff\xff\xff" + rnd_bytes(4))
    if category == "deep_nesting":
        depth = 17 + random.getrandbits(7)
        return framed(b"\x81" * depth + b"\x00")
    if category == "oversize":
        # A view of one buffer made at the start: the generator's own garbage must not be what runs the
        # shared heap out (the frame is copied into the board's receive buffer anyway).
        return memoryview(OVERSIZE[0])[255 - random.getrandbits(8):]  # MAX_ENCODED + 2 .. + 257 bytes
    return framed(bad_args_request(msg_id))


def same_bytes(a, b):
    """Two payload buffers hold the same bytes (compared in place: no copy of either)."""
    return a.n == b.n and all(a.buf[i] == b.buf[i] for i in range(a.n))


def main():
    frames = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    # The oversize frame first, in one allocation, while the heap still has a block its size.
    oversize = bytearray(wire.MAX_ENCODED + 257)
    for i in range(wire.MAX_ENCODED + 256):
        oversize[i] = 1
    OVERSIZE[0] = oversize
    # The configuration before and after, as the board encodes it (setting by setting, cbor.LazyMap), into
    # buffers made now: a dict of fifty settings needs a block of about a kilobyte that the heap beside the
    # firmware may not have, and that would be the harness's failure, not the firmware's.
    config_before = wire.PayloadBuffer()
    config_after = wire.PayloadBuffer()
    board = FakeBoard(40.0)
    # The firmware tests' ring rather than the board's: this process holds the fuzzer and its fake
    # board in the capped heap beside the firmware (with the harness's allowance on top), and the
    # ring's size changes nothing the link does.
    ctl = app.Controller(board, ring_records=60)
    plan_before = ctl.plan.as_dict()
    cbor.encode(ctl.config.as_map(), config_before)
    counts = {}
    for name in CATEGORIES:
        counts[name] = 0
    escaped = 0
    reply_bytes = 0
    heap_start = 0
    started = time.ticks_ms() if hasattr(time, "ticks_ms") else 0
    warmup = frames // 10
    for n in range(frames):
        category = CATEGORIES[random.getrandbits(8) % len(CATEGORIES)]
        counts[category] += 1
        board.feed(make_frame(category, 1 + n))
        try:
            ctl.link.service()
        except Exception:
            escaped += 1
        reply_bytes += len(board.tx)
        board.tx = bytearray()
        if n % 10 == 0:
            board.now += 100
            ctl.tick(board.now, 100)
            ctl.after_tick(board.now)
            board.tx = bytearray()
        if n == warmup:
            gc.collect()
            heap_start = gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0
    gc.collect()
    heap_end = gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0
    cbor.encode(ctl.config.as_map(), config_after)
    elapsed_ms = time.ticks_diff(time.ticks_ms(), started) if hasattr(time, "ticks_ms") else 0
    # A host starts with 0x00 (docs/protocol.md), which ends whatever partial frame the fuzz left.
    board.feed(b"\x00" + framed(cbor.dumps([2, 0xFFFFFFFF, "status", {}])))
    ctl.link.service()
    answers = [r for r in board.replies() if r[1] == 0xFFFFFFFF]
    status_ok = len(answers) == 1 and answers[0][2] == "ok" and answers[0][3]["phase"] == "IDLE"
    link = ctl.link.counters()
    print(json.dumps({
        "frames": frames,
        "categories": counts,
        "escaped": escaped,
        "internal_errors": link["internal_errors"],
        "link": link,
        "reply_bytes": reply_bytes,
        "phase": session.PHASE_NAMES[ctl.session.phase],
        "plan_unchanged": ctl.plan.as_dict() == plan_before,
        "config_unchanged": same_bytes(config_before, config_after),
        "heap_after_warmup": heap_start,
        "heap_end": heap_end,
        # Every buffer (reply cache included) is allocated at boot. After warm-up the live heap still
        # settles by a little (128 B measured after 2,000 frames and the same after 20,000): the
        # interpreter's own bookkeeping, not a leak. More than this would be one.
        "heap_bound_bytes": 256,
        "status_ok": status_ok,
        "elapsed_ms": elapsed_ms,
    }))


main()
