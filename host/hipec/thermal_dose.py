"""The hyperthermia field's thermal dose: cumulative equivalent minutes at 43 °C (CEM43, Sapareto and
Dewey 1984), CEM43 = Σ Δt · R^(43 − T), with R = 0.5 at or above 43 °C and 0.25 below.

Each interval between two readings counts with the mean of its two temperatures. An interval longer
than MAX_INTERVAL_S is a gap in the readings (a board reset, a probe that read nothing): it is not
counted, so the dose is never made up for time nobody measured.
"""
from __future__ import annotations

from collections.abc import Iterable

REFERENCE_C = 43.0
R_ABOVE = 0.5  # at or above 43 degC: each degree halves the time to the same effect
R_BELOW = 0.25  # below 43 degC: each degree quarters the effect
# Readings further apart than this are a gap, not an interval (telemetry comes every second or so).
MAX_INTERVAL_S = 30.0


def rate(temp_c: float) -> float:
    """Equivalent minutes at 43 degC per minute at temp_c."""
    return float((R_ABOVE if temp_c >= REFERENCE_C else R_BELOW) ** (REFERENCE_C - temp_c))


def cem43(samples: Iterable[tuple[float, float]]) -> float:
    """CEM43 in minutes of (time in s, temperature in degC) samples in time order."""
    total = 0.0
    previous: tuple[float, float] | None = None
    for t_s, temp_c in samples:
        if previous is not None:
            dt_s = t_s - previous[0]
            if 0.0 < dt_s <= MAX_INTERVAL_S:
                total += dt_s / 60.0 * rate((temp_c + previous[1]) / 2.0)
        previous = (t_s, temp_c)
    return total
