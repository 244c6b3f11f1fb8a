"""4-20 mA current-loop inputs (the flow sensor, the heater's current transducer): a reading as a share
of the transmitter's full scale, and the range outside which the loop itself has failed.

4 mA is the transmitter's zero and 20 mA its full scale; below 3.6 mA or above 21 mA the transmitter or
its wiring has failed (NAMUR NE 43), so a broken wire is never read as "nothing flowing".
"""
from micropython import const
_LOOP_ZERO_MA = const(4.0)
_LOOP_SPAN_MA = const(16.0)
LOOP_MIN_MA = 3.6
_LOOP_MAX_MA = const(21.0)


def share(loop_ma):
    """The reading as a share of full scale (0.0 at 4 mA or a little under it, 1.0 at 20 mA), or -1.0 for a
    failed loop."""
    if loop_ma < LOOP_MIN_MA or loop_ma > _LOOP_MAX_MA:
        return -1.0
    if loop_ma < _LOOP_ZERO_MA:
        return 0.0  # a transmitter's zero within its tolerance, not a failure
    return (loop_ma - _LOOP_ZERO_MA) / _LOOP_SPAN_MA
