# A fake board's circuit as tests live through it: time passing with a host heartbeating and the
# converters' noise, and the flush after the pump starts. Apart from fakeboard.py, which the link fuzzer
# compiles beside the firmware in the board's heap.


def live(board, ctl, ticks):
    """Let ticks pass as on a circuit with a host: a heartbeat every second, and each converter's code
    moving by a step now and then as a real one's noise does (a code frozen for two minutes while the
    fluid moves is a stuck probe); what the board wrote meanwhile is discarded."""
    for _ in range(ticks):
        if board.lived % 10 == 0:
            board.send([2, 1000000 + board.lived, "heartbeat", {}])
            ctl.link.service()
        step = 1 if board.lived % 50 == 0 else -1 if board.lived % 50 == 1 else 0
        for i in range(len(board.codes)):
            board.codes[i] += step
        board.run(ctl, 1)
        board.lived += 1
    board.discard()


def flush(board, ctl):
    """Live until the first flush after the pump started is over (pump.py: until then the bypass stays
    open); returns the ticks it took."""
    ticks = 0
    while ctl.pump.flushing or board.lived % 50 == 1:
        live(board, ctl, 1)
        ticks += 1
        if ticks > 6000:
            raise AssertionError("the flush did not end in 10 minutes")
    return ticks
