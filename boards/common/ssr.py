"""A solid-state relay driven at the control tick: a duty between off and full, time-proportioned over
the writes, weighted by the time each write really held.

The switch is written once a tick, but not at evenly spaced instants: the work before the write varies
(probe reads, a reply, an accounted tick), and a garbage collection every few ticks (perf.COLLECT_TICKS)
moves the next write. Counting every write as one period (a first-order sigma-delta over calls) let that pattern beat
with the on/off pattern of the duty: on the emulated RP2040 the element's power swung by about 3 % over a
minute at a steady duty of 43 %, and the inflow by ±0.13 degC. Here what is owed is kept in permille
microseconds: each write first settles the interval that has just ended (what was asked for it less what
the switch gave), then switches on if that leaves more owed over the next interval than it would give.
"""

FULL_PM = 1000
# An interval longer than this (a stop, the first write) is counted as this long: what a stop owed is
# not paid back in a burst of full power afterwards.
MAX_INTERVAL_US = 250000


class TimeProportioned:
    def __init__(self):
        self.owed = 0       # permille x microseconds owed to the element (negative: given in excess)
        self.asked_pm = 0   # the duty asked for the interval now running
        self.on = False     # the switch over the interval now running

    def write(self, permille, elapsed_us):
        """The switch's state for the next interval; elapsed_us: since the last write."""
        if elapsed_us > MAX_INTERVAL_US:
            elapsed_us = MAX_INTERVAL_US
        self.owed += (self.asked_pm - (FULL_PM if self.on else 0)) * elapsed_us
        if permille <= 0:
            self.owed = 0
            self.asked_pm = 0
            self.on = False
            return False
        pm = permille if permille < FULL_PM else FULL_PM
        self.asked_pm = pm
        # On if what is owed after an interval like the last, off, is more than half of what it gives on.
        self.on = self.owed + pm * elapsed_us >= (FULL_PM // 2) * elapsed_us
        bound = FULL_PM * MAX_INTERVAL_US
        if self.owed > bound:
            self.owed = bound
        elif self.owed < -bound:
            self.owed = -bound
        return self.on
