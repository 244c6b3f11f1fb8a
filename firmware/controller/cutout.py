"""The independent over-temperature cut-out: a second, small check that shares no state with control or
the supervisor, and opens the heater's safety relay on its own.

It reads the safety channel's converter codes (the redundant inflow probe and the heat-exchanger
outlet) as the board samples them, and once either reads at or above the absolute cut-off it holds the
heater off and the relay open whatever the controller writes after: the board's heater outputs pass
through it (held()). On the real boards a hardware timer samples the safety bus ten times a second
and calls sample() (boards/common/mcu_board.py); the emulated board calls it at every exchange with
the plant, the same code on the same codes. It compares raw converter codes with limit codes worked
out once when it is armed, so its check is two integer comparisons: no float, no calibration lookup,
nothing of the controller at run time.

The controller arms it with the converter settings and the two probes' calibrations whenever they
change (a copy, pushed one way), and asks it to let go once over_temperature has been acknowledged
and has cleared; it lets go only once both probes read _CUTOUT_HYSTERESIS_C below the cut-off.
"""
from micropython import const
from controller.probes import CVD_A, CVD_B, CODE_FULL_SCALE, CODE_OPEN, CODE_SHORT
from controller.safety import ABS_CUTOFF_C

# A trip holds until both probes read this far below the cut-off (no chatter at the limit).
_CUTOUT_HYSTERESIS_C = const(0.5)
# Until armed, the reference build's converter (PT100 on 430 ohm) with no calibration.
_DEFAULT_R0_OHM = const(100.0)
_DEFAULT_RREF_OHM = const(430.0)


def limit_code(r0_ohm, rref_ohm, gain, offset_c, temp_c=ABS_CUTOFF_C):
    """The converter code at which a probe with this calibration reads temp_c (rounded down: the
    cut-out trips at the limit or just below it, never above)."""
    t = (temp_c - offset_c) / gain
    r = r0_ohm * (1.0 + CVD_A * t + CVD_B * t * t)
    return int(r * CODE_FULL_SCALE / rref_ohm)


class Cutout:
    """Made by the board at power-on; sample() from the board's timer or exchange, arm() and release()
    from the controller."""

    def __init__(self):
        self.limits = [0, 0]
        self.release_limits = [0, 0]
        self.arm(_DEFAULT_R0_OHM, _DEFAULT_RREF_OHM, (1.0, 1.0), (0.0, 0.0))
        self.tripped = False
        self.trips = 0  # since power-on
        self.last = [0, 0]

    def arm(self, r0_ohm, rref_ohm, gains, offsets_c):
        for i in range(2):
            self.limits[i] = limit_code(r0_ohm, rref_ohm, gains[i], offsets_c[i])
            self.release_limits[i] = limit_code(r0_ohm, rref_ohm, gains[i], offsets_c[i],
                                                ABS_CUTOFF_C - _CUTOUT_HYSTERESIS_C)

    def sample(self, inflow_2_code, outlet_code):
        """One sample of the two safety-channel converters; True while the cut-out holds the heater off."""
        self.last[0] = inflow_2_code
        self.last[1] = outlet_code
        if not self.tripped:
            if self._over(0, self.limits) or self._over(1, self.limits):
                self.tripped = True
                self.trips += 1
        return self.tripped

    def _over(self, i, limits):
        """A real reading (not an open or shorted converter, which the supervisor judges) at the limit."""
        code = self.last[i]
        return CODE_SHORT < code < CODE_OPEN and code >= limits[i]

    def holding(self):
        """Tripped, with either probe not yet below the release limit: what over_temperature shows."""
        return self.tripped and (self._over(0, self.release_limits) or self._over(1, self.release_limits))

    def release(self):
        """Let the heater be driven again if both probes read below the release limit; True if released."""
        if not (self._over(0, self.release_limits) or self._over(1, self.release_limits)):
            self.tripped = False
        return not self.tripped
