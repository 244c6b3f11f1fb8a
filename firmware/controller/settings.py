"""Settings kept across resets: the board configuration (calibrations, gains, limits) in the board's
non-volatile store, as one CBOR record followed by its CRC-32.

A record that fails its CRC, does not decode, or holds a value outside today's ranges is not used: the
board starts on its defaults and says why (status `settings`), rather than run on half a configuration.
"""
from controller import cbor, wire
from controller.config import SPEC, PER_PROBE
from controller.errors import CommandError
# Bumped when the meaning of a stored field changes; an older record is then migrated or ignored, not
# misread.
from controller.tables import SETTINGS_VERSION
# Probes a version 1 record's per-probe lists have.
V1_PROBES = 7


def save(board, config, out):
    """Write the record through out, a wire.PayloadBuffer made at boot (the link's, idle whenever a
    request's handler or the tick's after-work runs): on a fragmented heap a record of about a
    kilobyte built as a new object may find no block of its size."""
    out.n = 0
    cbor.encode([SETTINGS_VERSION, config.as_map()], out)
    crc = wire.crc32(out.view())
    for shift in (24, 16, 8, 0):
        out.append(crc >> shift & 0xFF)
    board.settings_write(out.view())


def load(board, config, buf):
    """Apply the stored configuration, read through buf (a wire.PayloadBuffer made at boot: a record of
    about a kilobyte read as a new object may find no block of its size); return "loaded", "none" or
    the reason it was not used."""
    n = board.settings_read_into(buf.buf)
    if n == 0:
        return "none"
    if n < 0:
        return "ignored: record too long"
    if n < 5:
        return "ignored: record too short"
    data = memoryview(buf.buf)[:n]
    payload = data[:-4]
    crc = (data[-4] << 24) | (data[-3] << 16) | (data[-2] << 8) | data[-1]
    if wire.crc32(payload) != crc:
        return "ignored: CRC mismatch"
    try:
        record = cbor.loads(payload)
    except cbor.CBORError as exc:
        return "ignored: %s" % exc
    if not isinstance(record, list) or len(record) != 2 or record[0] not in (1, SETTINGS_VERSION):
        return "ignored: not a version %d record" % SETTINGS_VERSION
    stored = record[1]
    if not isinstance(stored, dict):
        return "ignored: not a version %d record" % SETTINGS_VERSION
    if record[0] == 1:
        _from_v1(stored, config)
    # A setting this firmware no longer has is dropped; every one it has must be in range.
    try:
        config.apply(stored, known_only=True)
    except CommandError as exc:
        return "ignored: %s" % exc.message
    return "loaded"


def _from_v1(stored, config):
    """A version 1 record's per-probe lists end at abdominal_4: the new probes keep their defaults."""
    for name in stored:
        if name in SPEC and SPEC[name][0] == PER_PROBE and isinstance(stored[name], list) \
                and len(stored[name]) == V1_PROBES:
            defaults = getattr(config, name)
            stored[name] = stored[name] + [defaults[i] for i in range(V1_PROBES, len(defaults))]
