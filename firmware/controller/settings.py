"""Settings kept across resets: the board configuration (calibrations, gains, limits) in the board's
non-volatile store, as one CBOR record followed by its CRC-32.

A record that fails its CRC, does not decode, or holds a value outside today's ranges is not used: the
board starts on its defaults and says why (status `settings`), rather than run on half a configuration.
"""
from micropython import const
from controller import cbor, wire
from controller.config import SPEC, PER_PROBE
from controller.probes import N_PROBES
from controller.errors import CommandError
# Bumped when the meaning of a stored field changes; an older record is then migrated or ignored, not
# misread.
from controller.tables import SETTINGS_VERSION, INFLOW_2, HEATER_OUTLET
# Probes a version 1 record's per-probe lists have.
_V1_PROBES = const(7)


def store(ctl):
    """Every change of the controller's configuration ends here: stored, and the cut-out armed with it."""
    save(ctl.board, ctl.config, ctl.link.payload)
    ctl.settings_status = "saved"
    arm_cutout(ctl.board, ctl.config)


def arm_cutout(board, cfg):
    """Give the board's independent cut-out the converter settings and the safety channel's
    calibrations (a copy: it reads nothing of the controller when it samples)."""
    board.cutout.arm(cfg.rtd_r0_ohm, cfg.rtd_ref_ohm,
                     (cfg.probe_gain[INFLOW_2], cfg.probe_gain[HEATER_OUTLET]),
                     (cfg.probe_offset_c[INFLOW_2], cfg.probe_offset_c[HEATER_OUTLET]))


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
    about a kilobyte read, or decoded whole, as a new object may find no block of its size); return
    "loaded", "none" or the reason it was not used."""
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
    reader = cbor.Reader(payload)
    try:
        if reader.container(4) != 2:
            return "ignored: not a version %d record" % SETTINGS_VERSION
        version = reader.value()
        if version not in (1, SETTINGS_VERSION):
            return "ignored: not a version %d record" % SETTINGS_VERSION
        count = reader.container(5)
        config.apply_record(reader, count, _from_v1 if version == 1 else _as_stored)
        if reader.pos != len(payload):
            return "ignored: %d bytes after the record" % (len(payload) - reader.pos)
    except cbor.CBORError as exc:
        return "ignored: %s" % exc
    except CommandError as exc:
        return "ignored: %s" % exc.message
    return "loaded"


def _as_stored(_config, _name, value):
    return value


def _from_v1(config, name, value):
    """A version 1 record's per-probe lists end at abdominal_4: the new probes keep what they have
    (their defaults, at boot)."""
    if SPEC[name][0] == PER_PROBE and isinstance(value, list) and len(value) == _V1_PROBES:
        current = getattr(config, name)
        return value + [current[i] for i in range(_V1_PROBES, N_PROBES)]
    return value
