"""CBOR (RFC 8949) encoder and decoder for the subset the wire protocol uses.

Supported: unsigned and negative integers up to 64 bits, floats (decode half, single and double;
encode the shortest width that round-trips exactly), byte and text strings, arrays and maps with
definite or indefinite length, true, false and null. Everything else (tags, undefined, simple values,
bignums, trailing bytes, nesting deeper than MAX_DEPTH) is refused with CBORError; no other exception
leaves loads().
"""
import math
import struct

# Deep nesting is how a hostile frame would exhaust the small C stack of a microcontroller.
MAX_DEPTH = 16

_U64_LIMIT = 1 << 64


class CBORError(ValueError):
    pass


class _Break:
    pass


_BREAK = _Break()
# Scratch for packing floats without allocating bytes objects.
_SCRATCH = bytearray(8)


# ---------------------------------------------------------------- encoding

def _head(out, major, n):
    mt = major << 5
    if n < 24:
        out.append(mt | n)
    elif n < 0x100:
        out.append(mt | 24)
        out.append(n)
    elif n < 0x10000:
        out.append(mt | 25)
        out.extend(struct.pack(">H", n))
    elif n < 0x100000000:
        out.append(mt | 26)
        out.extend(struct.pack(">I", n))
    elif n < _U64_LIMIT:
        out.append(mt | 27)
        out.extend(struct.pack(">Q", n))
    else:
        raise CBORError("integer out of 64-bit range")


# The smallest normal half, 2**-14, divided at import: mpy-cross would fold 1 / 16384 into the decimal
# 6.103515625e-05, which a single-precision board parses an ulp off.
_HALF_MIN_NORMAL = float(1) / 16384


def _half_bits(x):
    """IEEE 754 half-precision bits of x when x is exactly representable there, else -1.

    Computed here rather than with struct's "e" format, which some ports round or flush for
    subnormal halves."""
    negative = x < 0.0 or (x == 0.0 and math.copysign(1.0, x) < 0.0)
    sign = 0x8000 if negative else 0
    a = -x if x < 0.0 else x
    if a == 0.0:
        return sign
    if a == float("inf"):
        return sign | 0x7C00
    if a < _HALF_MIN_NORMAL:  # below the smallest normal half: subnormal, a multiple of 2**-24
        f = a * 16777216.0
        return sign | int(f) if f == int(f) else -1
    m, e = math.frexp(a)  # a = m * 2**e, 0.5 <= m < 1
    exponent = e + 14
    if exponent > 30:
        return -1
    f = (m * 2.0 - 1.0) * 1024.0
    if f != int(f):
        return -1
    return sign | (exponent << 10) | int(f)


def _append(out, buf, n):
    for i in range(n):
        out.append(buf[i])


def _encode_float(out, x):
    """Shortest exact width, decided on the bits of the double: every float is a heap object on
    these ports, so the common cases do no float arithmetic at all (status and configuration replies
    carry dozens of floats)."""
    if x != x:
        out.extend(b"\xf9\x7e\x00")  # the preferred NaN
        return
    b = _SCRATCH
    struct.pack_into(">d", b, 0, x)
    biased = ((b[0] & 0x7F) << 4) | (b[1] >> 4)
    low_mantissa = b[3] | b[4] | b[5] | b[6] | b[7]
    if biased == 0x7FF or (biased == 0 and not (b[1] & 0x0F) and not b[2] and not low_mantissa):
        _put_half(out, _half_bits(x))  # infinities and zeros
        return
    e = biased - 1023
    if -14 <= e <= 15 and not (b[2] & 0x03) and not low_mantissa:
        # Normal half: 10 mantissa bits, the rest zero.
        _put_half(out, ((b[0] & 0x80) << 8) | ((e + 15) << 10) | ((b[1] & 0x0F) << 6) | (b[2] >> 2))
        return
    if -24 <= e < -14:  # subnormal half candidates: rare, decided with float arithmetic
        half = _half_bits(x)
        if half >= 0:
            _put_half(out, half)
            return
    single = -126 <= e <= 127 and not (b[4] & 0x1F) and not (b[5] | b[6] | b[7])
    if not single and -149 <= e < -126:  # subnormal single candidates: rare
        struct.pack_into(">f", b, 0, x)
        single = struct.unpack_from(">f", b, 0)[0] == x
        if not single:
            struct.pack_into(">d", b, 0, x)
    if single:
        struct.pack_into(">f", b, 0, x)
        out.append(0xFA)
        _append(out, b, 4)
        return
    out.append(0xFB)
    _append(out, b, 8)


def _put_half(out, bits):
    out.append(0xF9)
    out.append(bits >> 8)
    out.append(bits & 0xFF)


class LazyMap:
    """A map that encode writes key by key, from its keys and get(key), without it ever being built
    as a dict: a reply of fifty settings then needs no free block of a kilobyte when it is sent."""

    def __init__(self, keys, get):
        self.keys = keys
        self.get = get


def encode(value, out, depth=0):
    """Append the CBOR encoding of value to the bytearray out."""
    if depth > MAX_DEPTH:
        raise CBORError("nesting deeper than %d" % MAX_DEPTH)
    if value is None:
        out.append(0xF6)
    elif value is True:
        out.append(0xF5)
    elif value is False:
        out.append(0xF4)
    elif isinstance(value, int):
        if value >= 0:
            _head(out, 0, value)
        else:
            _head(out, 1, -1 - value)
    elif isinstance(value, float):
        _encode_float(out, value)
    elif isinstance(value, str):
        data = value.encode("utf-8")
        _head(out, 3, len(data))
        out.extend(data)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        _head(out, 2, len(value))
        out.extend(value)
    elif isinstance(value, (list, tuple)):
        _head(out, 4, len(value))
        for item in value:
            encode(item, out, depth + 1)
    elif isinstance(value, dict):
        _head(out, 5, len(value))
        for key in value:
            encode(key, out, depth + 1)
            encode(value[key], out, depth + 1)
    elif isinstance(value, LazyMap):
        _head(out, 5, len(value.keys))
        for key in value.keys:
            encode(key, out, depth + 1)
            encode(value.get(key), out, depth + 1)
    else:
        raise CBORError("cannot encode a value of type %s" % type(value).__name__)


def dumps(value):
    out = bytearray()
    encode(value, out)
    return bytes(out)


# ---------------------------------------------------------------- decoding

def _half(h):
    # Scaled by exact integer powers of two: float literals and ** may be an ulp off in single precision.
    exponent = (h >> 10) & 0x1F
    mantissa = h & 0x3FF
    if exponent == 0:
        value = mantissa / 16777216  # 2**24
    elif exponent == 31:
        value = float("inf") if mantissa == 0 else float("nan")
    elif exponent < 25:
        value = (mantissa + 1024) / (1 << (25 - exponent))
    else:
        value = float((mantissa + 1024) << (exponent - 25))
    return -value if h & 0x8000 else value


def valid_utf8(raw):
    """Strict UTF-8 (RFC 3629), which MicroPython's decoder is not: no overlong forms (C0 AF, E0 80 AF),
    no surrogates (ED A0 80), nothing above U+10FFFF (F4 90 80 80), no stray continuation bytes."""
    n = len(raw)
    i = 0
    while i < n:
        b = raw[i]
        if b < 0x80:
            i += 1
            continue
        if 0xC2 <= b <= 0xDF:
            need, low, high = 1, 0x80, 0xBF
        elif 0xE0 <= b <= 0xEF:
            need = 2
            low = 0xA0 if b == 0xE0 else 0x80   # E0 80..9F would be overlong
            high = 0x9F if b == 0xED else 0xBF  # ED A0..BF would be a surrogate
        elif 0xF0 <= b <= 0xF4:
            need = 3
            low = 0x90 if b == 0xF0 else 0x80   # F0 80..8F would be overlong
            high = 0x8F if b == 0xF4 else 0xBF  # F4 90.. would be above U+10FFFF
        else:
            return False
        if i + need >= n:  # the sequence runs past the end
            return False
        if not low <= raw[i + 1] <= high:
            return False
        for k in range(2, need + 1):
            if not 0x80 <= raw[i + k] <= 0xBF:
                return False
        i += need + 1
    return True


class _Decoder:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def _take(self, n):
        start = self.pos
        end = start + n
        if end > len(self.data):
            raise CBORError("truncated: need %d bytes at offset %d" % (n, start))
        self.pos = end
        return start

    def _uint(self, info):
        if info < 24:
            return info
        if info == 24:
            return self.data[self._take(1)]
        if info == 25:
            i = self._take(2)
            return (self.data[i] << 8) | self.data[i + 1]
        if info == 26:
            i = self._take(4)
            return struct.unpack(">I", bytes(self.data[i:i + 4]))[0]
        if info == 27:
            i = self._take(8)
            return struct.unpack(">Q", bytes(self.data[i:i + 8]))[0]
        raise CBORError("reserved additional information %d" % info)

    def _string(self, major, info):
        if info == 31:
            parts = []
            while True:
                ib = self.data[self._take(1)]
                if ib == 0xFF:
                    break
                if ib >> 5 != major or (ib & 0x1F) == 31:
                    raise CBORError("bad chunk in indefinite-length string")
                parts.append(self._chunk(ib & 0x1F))
            raw = b"".join(parts)
        else:
            raw = self._chunk(info)
        if major == 2:
            return raw
        if not valid_utf8(raw):
            raise CBORError("text string is not valid UTF-8")
        try:
            return raw.decode("utf-8")
        except UnicodeError:
            raise CBORError("text string is not valid UTF-8")

    def _chunk(self, info):
        n = self._uint(info)
        if n > len(self.data) - self.pos:
            raise CBORError("string length %d exceeds the message" % n)
        i = self._take(n)
        return bytes(self.data[i:i + n])

    def _items(self, info, depth):
        items = []  # type: list
        if info == 31:
            while True:
                item = self.value(depth + 1, True)
                if item is _BREAK:
                    return items
                items.append(item)
        n = self._uint(info)
        if n > len(self.data) - self.pos:
            raise CBORError("container length %d exceeds the message" % n)
        for _ in range(n):
            items.append(self.value(depth + 1, False))
        return items

    def value(self, depth=0, break_ok=False):
        if depth > MAX_DEPTH:
            raise CBORError("nesting deeper than %d" % MAX_DEPTH)
        ib = self.data[self._take(1)]
        major = ib >> 5
        info = ib & 0x1F
        if major == 0:
            return self._uint(info)
        if major == 1:
            return -1 - self._uint(info)
        if major == 2 or major == 3:
            return self._string(major, info)
        if major == 4:
            return self._items(info, depth)
        if major == 5:
            return self._map(info, depth)
        if major == 6:
            raise CBORError("tags are not supported")
        return self._simple(info, break_ok)

    def _map(self, info, depth):
        result = {}  # type: dict
        if info == 31:
            while True:
                key = self.value(depth + 1, True)
                if key is _BREAK:
                    return result
                self._put(result, key, self.value(depth + 1, False))
        n = self._uint(info)
        if n > len(self.data) - self.pos:
            raise CBORError("map length %d exceeds the message" % n)
        for _ in range(n):
            key = self.value(depth + 1, False)
            self._put(result, key, self.value(depth + 1, False))
        return result

    @staticmethod
    def _put(result, key, item):
        if isinstance(key, (list, dict)):
            raise CBORError("map keys must be integers, strings or floats")
        if key in result:
            raise CBORError("duplicate map key")
        result[key] = item

    def _simple(self, info, break_ok):
        if info == 20:
            return False
        if info == 21:
            return True
        if info == 22:
            return None
        if info == 25:
            i = self._take(2)
            return _half((self.data[i] << 8) | self.data[i + 1])
        if info == 26:
            i = self._take(4)
            return struct.unpack(">f", bytes(self.data[i:i + 4]))[0]
        if info == 27:
            i = self._take(8)
            return struct.unpack(">d", bytes(self.data[i:i + 8]))[0]
        if info == 31:
            if break_ok:
                return _BREAK
            raise CBORError("unexpected break")
        raise CBORError("simple value %d is not supported" % info)


class Reader(_Decoder):
    """Items read one at a time from data, for a large record taken apart without being built whole
    (a map of fifty settings as a dict needs a block of a kilobyte)."""

    def container(self, major):
        """The length of the definite-length array (major 4) or map (major 5) that comes next."""
        ib = self.data[self._take(1)]
        if ib >> 5 != major or ib & 0x1F == 31:
            raise CBORError("expected a definite-length %s" % ("array" if major == 4 else "map"))
        n = self._uint(ib & 0x1F)
        if n > len(self.data) - self.pos:
            raise CBORError("container length %d exceeds the message" % n)
        return n


def loads(data):
    """Decode exactly one CBOR item from data (bytes, bytearray or memoryview)."""
    decoder = _Decoder(data)
    try:
        value = decoder.value()
    except CBORError:
        raise
    except (IndexError, ValueError, TypeError, OverflowError, MemoryError, RuntimeError) as exc:
        # RuntimeError covers MicroPython's recursion limit.
        raise CBORError("malformed: %s" % exc)
    if decoder.pos != len(data):
        raise CBORError("%d trailing bytes after the item" % (len(data) - decoder.pos))
    return value
