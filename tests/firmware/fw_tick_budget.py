# What one control tick leaves on the heap, on a heated circuit that moves: a plant behind the fake board's
# converters (element, exchanger, reservoir, the probes' lags), a host heartbeating, HEATING with every
# estimator at work (the element fit scoring, the runaway watch's slower circuits, the predictor's line).
import gc

from controller import app, session
from fakeboard import FakeBoard, code_for_c

# A heap block on the chips (MicroPython's rp2 and esp32 ports: 4 words of 4 bytes). A float is one block
# there and one on a 64-bit build too (4 words of 8 bytes): the budget is counted in blocks, the unit the
# heap fills in whatever the build's word.
CHIP_BLOCK_BYTES = 16
# Ticks measured: three of the element fit's cycles of 27 ticks (its choice takes a row a tick after
# each), so every tick's periodic work (telemetry each second, the history samples) falls in.
MEASURED_TICKS = 81


class Circuit:
    """The reference circuit, coarsely: a 1500 W element with an 8 s lag into a 250 mL exchanger at the
    pump's flow, a 3 L reservoir losing 8 W/degC to a 22 degC room, probes lagging 2 s."""

    def __init__(self, board, temp_c):
        self.board = board
        self.element_w = 0.0
        self.exchanger_c = temp_c
        self.reservoir_c = temp_c
        self.outlet_c = temp_c
        self.inflow_c = temp_c

    def step(self, dt_s=0.1):
        board = self.board
        drive_w = 1500.0 * board.heater_pm / 1000.0 if board.heater_relay else 0.0
        self.element_w += (drive_w - self.element_w) * dt_s / 8.0
        carried_w_per_c = (500.0 if board.pump_msps else 0.0) / 60.0 * 4.18
        self.exchanger_c += (carried_w_per_c * (self.reservoir_c - self.exchanger_c) + self.element_w
                             - 1.5 * (self.exchanger_c - 22.0)) * dt_s / (250.0 * 4.18)
        self.reservoir_c += (carried_w_per_c * (self.exchanger_c - self.reservoir_c)
                             - 8.0 * (self.reservoir_c - 22.0)) * dt_s / (3000.0 * 4.18)
        self.outlet_c += (self.exchanger_c - self.outlet_c) * dt_s / 2.0
        self.inflow_c += (self.exchanger_c - 0.2 - self.inflow_c) * dt_s / 2.0
        # The converters' noise: a step now and then, as livehost.live() gives its fixed codes.
        noise = 1 if board.lived % 50 == 0 else 0
        for i in range(9):
            temp_c = self.inflow_c if i in (0, 7) else self.outlet_c if i == 8 else self.reservoir_c
            board.codes[i] = code_for_c(temp_c) + noise


def _live_tick(board, ctl, circuit):
    """The plant moves and the host heartbeats (outside the tick), then the tick: what it allocated."""
    circuit.step()
    if board.lived % 10 == 0:
        board.send([2, 1000000 + board.lived, "heartbeat", {}])
        ctl.link.service()
    board.steps += board.pump_msps // 10000
    board.now += 100
    measured = hasattr(gc, "mem_alloc")  # (CPython has no heap to count: the same ticks, unmeasured)
    if measured:
        gc.collect()
        gc.disable()
        before = gc.mem_alloc()
    ctl.tick(board.now, 100)
    allocated = gc.mem_alloc() - before if measured else 0
    gc.enable()
    ctl.after_tick(board.now)
    board.lived += 1
    board.discard()
    return allocated


def _block_bytes():
    """The heap block of this build: what one float takes."""
    held = [None]  # (made first: storing into it allocates nothing)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    held[0] = 1.5 * CHIP_BLOCK_BYTES
    block = gc.mem_alloc() - before
    gc.enable()
    return block


def test_a_heated_tick_stays_within_its_allocation_budget():
    board = FakeBoard(37.0)
    ctl = app.Controller(board, ring_records=25)
    circuit = Circuit(board, 37.0)
    board.send([2, 1, "start", {}])
    ctl.link.service()
    board.discard()
    for _ in range(3000):
        _live_tick(board, ctl, circuit)
        if ctl.session.phase == session.HEATING and ctl.heater.fit.scored_s > 0.0:
            break
    # Heating, the heater driven, the element fit scoring: the tick's every estimator at work.
    assert ctl.session.phase == session.HEATING and ctl.heater_w > 0.0, (ctl.session.phase, ctl.heater_w)
    assert ctl.heater.fit.scored_s > 0.0 and ctl.supervisor.runaway.started
    worst = 0
    for _ in range(MEASURED_TICKS):
        worst = max(worst, _live_tick(board, ctl, circuit))
    assert ctl.session.phase == session.HEATING and not ctl.alarms.active_names(), ctl.alarms.active_names()
    if hasattr(gc, "mem_alloc"):
        blocks = worst // _block_bytes()
        budget_blocks = app.TICK_ALLOC_BUDGET_BYTES // CHIP_BLOCK_BYTES
        assert 0 < blocks <= budget_blocks, (worst, blocks, budget_blocks)
