# The heater current watch: the element's current against its drive (heater_current.py).
from array import array

from controller import app
from controller.config import Config
from controller.heater_current import HeaterCurrentWatch
from fakeboard import FakeBoard
from livehost import live

DT_S = 0.1
DT_MS = 100


def _loop_ma(cfg, current_a):
    return 4.0 + 16.0 * current_a / cfg.heater_current_full_scale_a


class _Element:
    """An element of real_w watts on the configured supply, its switch, and an averaging transducer."""

    def __init__(self, cfg, real_w, tau_s=0.1):
        self.cfg = cfg
        self.real_w = real_w
        self.tau_s = tau_s
        self.current_a = 0.0
        self.stuck = False

    def tick(self, drive_share):
        conducting = 1.0 if self.stuck else drive_share
        self.current_a += (conducting * self.real_w / self.cfg.heater_supply_v - self.current_a) * DT_S / (
            self.tau_s + DT_S)
        return _loop_ma(self.cfg, self.current_a)


def _drive(watch, element, drives):
    """Each drive share for one tick (the transducer reads the last tick's): the first tick flagged."""
    for i, drive in enumerate(drives):
        if watch.update(element.tick(drive), drive, DT_MS):
            return i
    return None


def _ssr_windows(seconds, on_share, period_s=2.0):
    """The drive of SSR windows, one share a tick (an array: a list of 1200 floats wants a 16 KB block,
    which the test heap beside the firmware may not have)."""
    ticks = int(period_s / DT_S)
    on = int(on_share * ticks)
    drives = array("f", bytes(4 * int(seconds / DT_S)))
    for i in range(len(drives)):
        if i % ticks < on:
            drives[i] = 1.0
    return drives


def test_an_element_off_its_nameplate_drawing_what_it_is_driven_is_no_failed_switch():
    """Elements 25 % stronger and weaker than their rating, driven by SSR windows, by a PWM duty, at full
    power and switched off from it (the transducer still averaging): never a failed switch, never lost."""
    cfg = Config()
    for real_w in (cfg.heater_rated_w * 1.25, cfg.heater_rated_w * 0.75):
        for drives in (_ssr_windows(120.0, 0.3), _ssr_windows(120.0, 0.9), [0.32] * 600, [1.0] * 50 + [0.0] * 50):
            watch = HeaterCurrentWatch(cfg)
            element = _Element(cfg, real_w, tau_s=0.25)
            assert _drive(watch, element, drives) is None, (real_w, drives[:30])
            assert not watch.lost


def test_a_switch_stuck_on_is_seen_the_tick_its_drive_falls():
    """The switch sticks while a PWM drive holds 0.42 of full power (an element 20 % weak, the least
    current a stuck switch draws beyond it): flagged within 0.3 s. On an SSR stuck in its window's on
    part, flagged within 0.3 s of the window's end."""
    cfg = Config()
    watch = HeaterCurrentWatch(cfg)
    element = _Element(cfg, cfg.heater_rated_w * 0.8)
    assert _drive(watch, element, [0.42] * 300) is None
    element.stuck = True
    flagged = _drive(watch, element, [0.42] * 50)
    assert flagged is not None and flagged <= 3, flagged
    assert watch.current_a > 0.42 * cfg.heater_rated_w / cfg.heater_supply_v  # the alarm's reading: more than driven
    watch = HeaterCurrentWatch(cfg)
    element = _Element(cfg, cfg.heater_rated_w)
    drives = _ssr_windows(60.0, 0.3)
    assert _drive(watch, element, drives) is None
    element.stuck = True
    flagged = _drive(watch, element, drives[:20])  # a window: 6 ticks on, then off
    assert flagged is not None and 6 <= flagged <= 9, flagged


def test_no_current_while_driven_or_a_failed_loop_is_lost():
    """An element that draws nothing (open, its fuse or thermal cut-out tripped) while driven at full power,
    by SSR windows of 30 %, or by a PWM duty of 0.3: lost for the alarm's two seconds within ten, never a
    failed switch. A
    loop below 3.6 mA (a broken wire): lost at once, no current read."""
    cfg = Config()
    for drives in ([1.0] * 100, _ssr_windows(10.0, 0.3), [0.3] * 100):
        watch = HeaterCurrentWatch(cfg)
        element = _Element(cfg, 0.0)
        held = longest = 0
        for drive in drives:
            assert not watch.update(element.tick(drive), drive, DT_MS)
            held = held + 1 if watch.lost else 0
            longest = max(longest, held)
        assert longest >= 20 and watch.current_a == 0.0, (drives[:20], longest)  # the alarm's 2 s
    assert not watch.update(2.0, 0.0, DT_MS)
    assert watch.lost and watch.current_a == -1.0
    watch.reset()
    assert not watch.update(4.0, 0.0, DT_MS) and not watch.lost


def _fitted(board):
    ctl = app.Controller(board, ring_records=50)
    board.send([2, 1, "set_config", {"heater_current_fitted": 1}])
    ctl.link.service()
    return ctl, board.replies()[-1]


def test_a_transducer_said_fitted_must_be_on_its_loop():
    """set_config refuses heater_current_fitted = 1, naming the field, where the input reads no loop
    current (none wired, or a board without the input: the configuration would claim a protection that
    is not there). With the loop reading 4 mA (the heater off) it is taken."""
    board = FakeBoard(43.0)
    ctl, reply = _fitted(board)  # a board with no such input
    assert reply[2] == "error" and reply[3]["field"] == "heater_current_fitted", reply
    assert "this board has no heater current input" in reply[3]["message"] and ctl.config.heater_current_fitted == 0
    del ctl  # a board runs one controller: two at once outgrow its heap
    board.current_ma = 0.0  # the input, with nothing on its loop
    ctl, reply = _fitted(board)
    assert reply[2] == "error" and "reads 0.0 mA" in reply[3]["message"], reply
    assert "no transducer on its loop" in reply[3]["message"] and ctl.config.heater_current_fitted == 0
    del ctl
    board.current_ma = 4.0
    ctl, reply = _fitted(board)
    assert reply[2] == "ok" and ctl.config.heater_current_fitted == 1


def test_the_board_opens_the_relay_and_the_bypass_on_a_failed_switch():
    """A session holding 43 degC drives the heater gently; the transducer reports the element's full
    current: heater_switch_failed (high) within half a second, the heater's relay open, the bypass open,
    the session in FAULT."""
    _switch_fails(fitted=True)


def test_a_transducer_not_fitted_is_never_looked_at():
    _switch_fails(fitted=False)


def _switch_fails(fitted):
    """A board runs one controller: each case in a test of its own (two in turn outgrew the test heap)."""
    board = FakeBoard(43.0)
    board.current_ma = 4.0
    ctl = app.Controller(board, ring_records=50)
    if fitted:
        ctl.config.heater_current_fitted = 1
    board.send([2, 1, "start", {}])
    ctl.link.service()
    board.replies()
    live(board, ctl, 300)
    assert board.heater_relay and ctl.alarms.active_names() == [], ctl.alarms.active_names()
    full_a = ctl.config.heater_rated_w / ctl.config.heater_supply_v
    board.current_ma = _loop_ma(ctl.config, full_a)
    live(board, ctl, 5)
    names = ctl.alarms.active_names()
    if not fitted:
        assert "heater_switch_failed" not in names and board.heater_relay
        return
    assert "heater_switch_failed" in names, names
    assert not board.heater_relay and board.bypass_open and ctl.fault_name() == "heater_switch_failed"
