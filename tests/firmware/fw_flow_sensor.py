# The flow loop: an inline flow sensor teaches the pump its tube's real displacement (pump.py).
from controller import app
from controller.config import Config
from controller.pump import FLOW_TRIM_MAX, Pump
from fakeboard import FakeBoard
from livehost import live

DT_S = 0.1


class _Head:
    """A pump head whose tube moves true_ml_per_rev a revolution, read by a clamp-on sensor."""

    def __init__(self, true_ml_per_rev):
        self.true_ml_per_rev = true_ml_per_rev
        self.steps = 0.0
        self.pumped_ml = 0.0

    def pump_steps(self):
        return int(self.steps)


def _run(pump, head, cfg, seconds, loop_ma=None):
    """Pump for seconds; the sensor reads the true flow as 4-20 mA unless loop_ma(true flow) says else.
    Returns the true flow at the end, mL/min."""
    true_ml_min = 0.0
    for _ in range(int(seconds / DT_S)):
        pump.tick(DT_S)
        steps = pump.msps / 1000.0 * DT_S
        head.steps += steps
        head.pumped_ml += steps / cfg.pump_steps_per_rev * head.true_ml_per_rev
        true_ml_min = pump.msps / 1000.0 / cfg.pump_steps_per_rev * head.true_ml_per_rev * 60.0
        ma = 4.0 + 16.0 * true_ml_min / cfg.flow_sensor_full_scale_ml_min if loop_ma is None else loop_ma(true_ml_min)
        pump.sense(ma, DT_S)
        pump.delivered_ml()
    return true_ml_min


def _worn(true_ml_per_rev=10.4):
    cfg = Config()
    cfg.flow_sensor_fitted = 1
    head = _Head(true_ml_per_rev)
    pump = Pump(head, cfg)
    pump.set_flow(500.0)
    return cfg, head, pump


def test_the_flow_loop_learns_a_worn_tube():
    """A tube moving 4 % more than its calibration: open loop the flow is 4 % high; the sensor brings the
    flow and the counted volume to within 0.5 % of the truth within ten minutes."""
    cfg, head, pump = _worn()
    assert abs(_run(pump, head, cfg, 12.0) - 520.0) < 1.0  # before it has learnt: the tube's 4 %
    true_ml_min = _run(pump, head, cfg, 600.0)
    assert abs(true_ml_min - 500.0) < 2.5, true_ml_min
    assert abs(pump.trim - 1.04) < 0.005, pump.trim
    assert abs(pump.delivered_ml() - head.pumped_ml) < 0.01 * head.pumped_ml, (pump.delivered_ml(), head.pumped_ml)


def test_a_broken_loop_holds_what_was_learnt():
    """Below 3.6 mA the loop is broken (NAMUR NE 43): no reading, and the trim holds."""
    cfg, head, pump = _worn()
    _run(pump, head, cfg, 600.0)
    learnt = pump.trim
    _run(pump, head, cfg, 120.0, lambda _flow: 2.0)
    assert pump.sensed_ml_min == -1.0 and pump.trim == learnt


def test_the_trim_stops_at_its_bound():
    """A sensor reading 30 % high (misclamped, a wrong full scale) is not a tube: the trim stops at its
    bound instead of following it."""
    cfg, head, pump = _worn(10.0)
    _run(pump, head, cfg, 900.0, lambda flow: 4.0 + 16.0 * 1.3 * flow / cfg.flow_sensor_full_scale_ml_min)
    assert abs(pump.trim - (1.0 + FLOW_TRIM_MAX)) < 1e-6, pump.trim


def test_without_a_sensor_fitted_the_loop_is_never_read():
    """The configuration says no sensor: whatever the input reads, the pump runs on its calibration."""
    board = FakeBoard(43.0)
    board.flow_ma = 10.0  # 375 mL/min on a 1000 mL/min sensor, while the pump runs 500
    ctl = app.Controller(board, ring_records=50)
    board.send([2, 1, "start", {}])
    ctl.link.service()
    board.replies()
    live(board, ctl, 600)
    assert ctl.pump.flow_ml_min > 0.0 and ctl.pump.trim == 1.0 and ctl.pump.sensed_ml_min == -1.0


def test_a_sensor_said_fitted_must_be_on_its_loop():
    """set_config refuses flow_sensor_fitted = 1, naming the field, where the input reads no loop current
    (no sensor wired, or a board without the input): the pump would otherwise run open loop while the
    configuration says closed. With the loop reading 4 mA (no flow yet) it is taken."""
    board = FakeBoard(43.0)
    ctl = app.Controller(board, ring_records=50)
    board.send([2, 1, "set_config", {"flow_sensor_fitted": 1}])
    ctl.link.service()
    reply = board.replies()[-1]
    assert reply[2] == "error" and reply[3]["field"] == "flow_sensor_fitted", reply
    assert "this board has no flow sensor input" in reply[3]["message"] and ctl.config.flow_sensor_fitted == 0
    board.flow_ma = 0.0  # the input, with nothing on its loop
    board.send([2, 2, "set_config", {"flow_sensor_fitted": 1}])
    ctl.link.service()
    reply = board.replies()[-1]
    assert "no sensor on its loop" in reply[3]["message"] and ctl.config.flow_sensor_fitted == 0
    board.flow_ma = 4.0
    board.send([2, 3, "set_config", {"flow_sensor_fitted": 1}])
    ctl.link.service()
    assert board.replies()[-1][2] == "ok" and ctl.config.flow_sensor_fitted == 1
