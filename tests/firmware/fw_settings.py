# Settings in non-volatile store: saved by set_config and calibration, reloaded at boot, corrupt records refused.
import gc

from controller import app, settings, wire
from controller.config import Config
from fakeboard import FakeBoard


def ask(board, ctl, msg):
    board.send(msg)
    ctl.link.service()
    return board.replies()


def test_set_config_survives_a_reset():
    board = FakeBoard(30.0)
    ctl = app.Controller(board, ring_records=60)
    assert ctl.settings_status == "none"
    (reply,) = ask(board, ctl, [2, 1, "set_config", {"kp_w_per_c": 12.5, "probe_offset_c": [0.1, 0, 0, 0, -0.2, 0, 0, 0, 0.05]}])
    assert reply[2] == "ok"
    ctl = None
    gc.collect()  # one controller's buffers at a time fit the RP2040-sized heap
    again = app.Controller(board, ring_records=60)  # the same board (same store) after a reset
    assert again.settings_status == "loaded"
    assert again.config.kp_w_per_c == 12.5
    assert abs(again.config.probe_offset_c[4] + 0.2) < 1e-6


def test_a_corrupt_or_out_of_range_record_is_not_used():
    board = FakeBoard(30.0)
    cfg = Config()
    cfg.kp_w_per_c = 33.0
    settings.save(board, cfg, wire.PayloadBuffer())
    good = board.settings
    board.settings = good[:10] + bytes((good[10] ^ 0x01,)) + good[11:]
    fresh = Config()
    assert settings.load(board, fresh, wire.PayloadBuffer()) == "ignored: CRC mismatch" and fresh.kp_w_per_c == Config().kp_w_per_c
    board.settings = good[:3]
    assert settings.load(board, fresh, wire.PayloadBuffer()).startswith("ignored")
    cfg.kp_w_per_c = 33.0
    cfg.ti_s = 1e6  # outside today's range (a record from another firmware)
    settings.save(board, cfg, wire.PayloadBuffer())
    status = settings.load(board, fresh, wire.PayloadBuffer())
    assert status.startswith("ignored") and "ti_s" in status, status
    assert fresh.kp_w_per_c == Config().kp_w_per_c  # nothing of a refused record is applied


def test_a_version_1_record_keeps_its_calibrations_and_the_new_probes_take_their_defaults():
    from controller import cbor, wire
    board = FakeBoard(30.0)
    stored = {"kp_w_per_c": 14.0, "probe_offset_c": [0.1, 0.0, 0.0, 0.0, -0.2, 0.0, 0.0],
              "probe_gain": [1.0, 1.01, 1.0, 1.0, 1.0, 1.0, 1.0]}
    payload = cbor.dumps([1, stored])  # what the firmware before the redundant probes stored
    crc = wire.crc32(payload)
    board.settings = payload + bytes((crc >> 24 & 0xFF, crc >> 16 & 0xFF, crc >> 8 & 0xFF, crc & 0xFF))
    cfg = Config()
    assert settings.load(board, cfg, wire.PayloadBuffer()) == "loaded"
    assert cfg.kp_w_per_c == 14.0 and abs(cfg.probe_offset_c[4] + 0.2) < 1e-6 and abs(cfg.probe_gain[1] - 1.01) < 1e-6
    assert len(cfg.probe_offset_c) == 9 and cfg.probe_offset_c[8] == 0.0 and cfg.probe_gain[7] == 1.0
