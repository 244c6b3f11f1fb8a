"""Message layer of the link: envelopes in, one reply out per request, events pushed.

Every message is the CBOR array [version, id, type, fields]. Requests carry an id from 1 to 2**32-1;
the reply repeats it with type "ok" (fields: the result) or "error" (fields: code, field, message).
Events from the board carry id 0. A request whose id equals one of the last few answered gets the
same reply again without being applied twice, so the host can retry safely.
"""
from micropython import const
from controller import cbor, wire
from controller import errors
from controller.errors import CommandError
from controller.tables import PROTOCOL_VERSION, MAX_REQUEST_ID

# Replies remembered for retries; the host keeps one request outstanding, a few cover reordering.
# Two (the last reply and the one before): with the event frame and the payload buffer the link then
# holds less heap than a cache of four did, and a reply is sent without a block of its size free.
_REPLY_CACHE = const(2)
_RX_CHUNK = const(64)


class Link:
    def __init__(self, board, handler, after_message=None):
        self.board = board
        self.handler = handler
        # Called after each message is answered (the controller collects its garbage there), so the
        # heap never holds the garbage of two replies at once.
        self.after_message = after_message
        self.reader = wire.FrameReader()
        self.rx = bytearray(_RX_CHUNK)
        # Replies are copied into buffers allocated once, so the live heap does not follow their sizes.
        self.cache_ids = [0] * _REPLY_CACHE
        self.cache_frames = [bytearray(wire.MAX_ENCODED) for _ in range(_REPLY_CACHE)]
        self.event_frame = bytearray(wire.MAX_ENCODED)
        self.payload = wire.PayloadBuffer()
        self.cache_lengths = [0] * _REPLY_CACHE
        self.cache_next = 0
        self.requests = 0
        self.retries = 0
        self.bad_messages = 0
        self.internal_errors = 0
        self.last_request_ms = None  # board ticks of the last well-formed request

    def service(self):
        """Read what the link has and answer every complete frame; return how many. Never raises."""
        handled = 0
        while True:
            n = self.board.link_read(self.rx)
            if n <= 0:
                return handled
            reader = self.reader
            for i in range(n):
                length = reader.push(self.rx[i])
                if length == 0:
                    continue
                handled += 1
                try:
                    if length > 0:
                        self._message(reader.view[:length])
                    else:
                        self._send_error(0, errors.BAD_FRAME, "frame",
                                         "frame dropped (bad CRC, stuffing or size)")
                except Exception:
                    self.internal_errors += 1
                if self.after_message is not None:
                    self.after_message()

    def send(self, msg_id, msg_type, fields):
        """Encode and write one message: a reply into the reply cache's next slot (kept for a retry of
        its id), an event into the event frame; returns the frame's length."""
        payload = self.payload
        payload.n = 0
        cbor.encode([PROTOCOL_VERSION, msg_id, msg_type, fields], payload)
        if msg_id:
            slot = self.cache_next
            self.cache_ids[slot] = 0  # its old reply is being overwritten
            buf = self.cache_frames[slot]
        else:
            buf = self.event_frame
        n = wire.encode_frame_into(payload.view(), buf)
        self.board.link_write(memoryview(buf)[:n])
        return n

    def event(self, kind, fields):
        try:
            self.send(0, kind, fields)
        except Exception:
            self.internal_errors += 1

    def _send_error(self, msg_id, code, field, message):
        return self.send(msg_id, "error", {"code": code, "field": field, "message": message})

    def _message(self, payload):
        try:
            msg = cbor.loads(payload)
        except cbor.CBORError as exc:
            self.bad_messages += 1
            self._send_error(0, errors.BAD_MESSAGE, "cbor", "undecodable CBOR: %s" % exc)
            return
        msg_id = 0
        try:
            if not isinstance(msg, list) or len(msg) != 4:
                raise CommandError(errors.BAD_MESSAGE, "envelope",
                                   "a message is [version, id, type, fields]")
            version, msg_id, msg_type, fields = msg
            if not isinstance(msg_id, int) or isinstance(msg_id, bool) or not 1 <= msg_id <= MAX_REQUEST_ID:
                msg_id = 0
                raise CommandError(errors.BAD_MESSAGE, "id", "id must be an integer 1..4294967295")
            if version != PROTOCOL_VERSION:
                raise CommandError(errors.UNSUPPORTED_VERSION, "version",
                                   "protocol version must be %d" % PROTOCOL_VERSION)
            if not isinstance(msg_type, str):
                raise CommandError(errors.BAD_MESSAGE, "type", "type must be a text string")
            if not isinstance(fields, dict):
                raise CommandError(errors.BAD_MESSAGE, "fields", "fields must be a map")
            for key in fields:
                if not isinstance(key, str):
                    raise CommandError(errors.BAD_MESSAGE, "fields", "field names must be text strings")
            self.last_request_ms = self.board.ticks_ms()
            for i in range(_REPLY_CACHE):
                if self.cache_ids[i] == msg_id:
                    self.retries += 1
                    self.board.link_write(memoryview(self.cache_frames[i])[:self.cache_lengths[i]])
                    return
            self.requests += 1
            result = self.handler.handle(msg_type, fields)
            frame_len = self.send(msg_id, "ok", result)
        except CommandError as exc:
            self.bad_messages += 1
            frame_len = self._send_error(msg_id, exc.code, exc.field, exc.message)
        except Exception as exc:  # a bug must not take the control loop down
            self.internal_errors += 1
            frame_len = self._send_error(msg_id, errors.INTERNAL, "", "internal error: %r" % exc)
        if msg_id:
            slot = self.cache_next  # send() wrote the frame there
            self.cache_lengths[slot] = frame_len
            self.cache_ids[slot] = msg_id
            self.cache_next = (slot + 1) % _REPLY_CACHE

    def counters(self):
        c = self.reader.counters()
        c["requests"] = self.requests
        c["retries"] = self.retries
        c["bad_messages"] = self.bad_messages
        c["internal_errors"] = self.internal_errors
        return c
