# The boot-loop guard: consecutive watchdog resets lead to safe mode, which no stored value can defeat.
import gc

from controller import app, settings, wire
from controller.bootguard import SAFE_MODE_AFTER_RESETS, STABLE_RUN_MS
from controller.config import Config
from fakeboard import FakeBoard


def ask(board, ctl, msg):
    """The replies to msg (the pushes the board sent meanwhile left aside)."""
    board.replies()
    board.send(msg)
    ctl.link.service()
    return [r for r in board.replies() if r[1] == msg[1]]


def boot(board, cause):
    """A new boot of the same board (same non-volatile store) after a reset of the given cause."""
    gc.collect()  # one controller's buffers at a time fit the RP2040-sized heap
    board.reset_cause = lambda: cause
    return app.Controller(board, ring_records=25)


def stored_kp(board, kp):
    cfg = Config()
    cfg.kp_w_per_c = kp
    settings.save(board, cfg, wire.PayloadBuffer())


def test_watchdog_resets_in_a_row_boot_into_safe_mode_on_defaults_with_outputs_held_off():
    board = FakeBoard(30.0)
    stored_kp(board, 31.0)
    for n in range(1, SAFE_MODE_AFTER_RESETS):
        ctl = boot(board, "watchdog")
        assert not ctl.guard.safe_mode and ctl.settings_status == "loaded", n
        ctl = None
    ctl = boot(board, "watchdog")
    assert ctl.guard.safe_mode
    assert ctl.config.kp_w_per_c == Config().kp_w_per_c  # the stored record is not applied
    assert ctl.settings_status == "not applied: safe mode"
    (hello,) = ask(board, ctl, [2, 1, "hello", {}])
    assert hello[3]["safe_mode"] == {"resets": SAFE_MODE_AFTER_RESETS, "after": SAFE_MODE_AFTER_RESETS}
    (status,) = ask(board, ctl, [2, 2, "status", {}])
    assert status[3]["safe_mode"]["resets"] == SAFE_MODE_AFTER_RESETS
    (refused,) = ask(board, ctl, [2, 3, "start", {}])
    assert refused[2] == "error" and refused[3]["code"] == "bad_state"
    assert "safe mode" in refused[3]["message"] and "leave_safe_mode" in refused[3]["message"]
    (refused,) = ask(board, ctl, [2, 4, "pump_calibrate", {"revolutions": 5}])
    assert refused[2] == "error" and "safe mode" in refused[3]["message"]
    # Even a session forced on from inside cannot drive an output: the interlock holds them off.
    ctl.session.phase = app.session.HEATING
    ctl.plan.target_temp_c = 43.0
    board.run(ctl, 20)
    assert board.heater_pm == 0 and not board.heater_relay and board.pump_msps == 0 and board.bypass_open


def test_a_power_cycle_does_not_end_safe_mode_and_the_host_does():
    board = FakeBoard(30.0)
    stored_kp(board, 31.0)
    board.reset_count = SAFE_MODE_AFTER_RESETS
    ctl = boot(board, "power_on")
    assert ctl.guard.safe_mode  # power-cycled out of a loop: still safe
    board.run(ctl, STABLE_RUN_MS // 100 + 10, after=True)
    assert ctl.guard.safe_mode and board.reset_count == SAFE_MODE_AFTER_RESETS  # a quiet run does not end it
    (left,) = ask(board, ctl, [2, 1, "leave_safe_mode", {}])
    assert left[2] == "ok" and left[3] == {"safe_mode": None, "settings": "loaded"}
    assert ctl.config.kp_w_per_c == 31.0 and board.reset_count == 0
    (again,) = ask(board, ctl, [2, 2, "leave_safe_mode", {}])
    assert again[2] == "error" and again[3]["code"] == "bad_state"
    (started,) = ask(board, ctl, [2, 3, "start", {}])
    assert started[2] == "ok"


def test_a_stable_run_restarts_the_count_and_a_power_on_does_not_count():
    board = FakeBoard(30.0)
    boot(board, "watchdog")
    boot(board, "watchdog")
    assert board.reset_count == 2
    ctl = boot(board, "power_on")
    assert board.reset_count == 2 and not ctl.guard.safe_mode
    board.run(ctl, STABLE_RUN_MS // 100 - 5, after=True)
    assert board.reset_count == 2
    board.run(ctl, 10, after=True)
    assert board.reset_count == 0
    ctl = None
    ctl = boot(board, "watchdog")
    assert board.reset_count == 1 and not ctl.guard.safe_mode


def test_settings_fixed_in_safe_mode_are_the_ones_loaded_when_it_ends():
    board = FakeBoard(30.0)
    stored_kp(board, 31.0)
    board.reset_count = SAFE_MODE_AFTER_RESETS
    ctl = boot(board, "watchdog")
    (reply,) = ask(board, ctl, [2, 1, "set_config", {"kp_w_per_c": 12.0}])
    assert reply[2] == "ok"
    (left,) = ask(board, ctl, [2, 2, "leave_safe_mode", {}])
    assert left[3]["settings"] == "loaded" and ctl.config.kp_w_per_c == 12.0
