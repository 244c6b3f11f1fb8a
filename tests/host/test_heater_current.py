"""The heater current transducer on the plant (in-process firmware, bench/runaway.py's sessions): a switch
stuck on is caught within a second of conducting against its drive where the probes alone need seconds
or, in priming, the outlet's absolute limit; fault-free circuits with a transducer raise none of its
alarms."""
from __future__ import annotations

import sys

import pytest

from hipec import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
import runaway  # noqa: E402


@pytest.mark.parametrize("phase, after_s, noise_c", [("PRIMING", 30.0, 0.01), ("TREATMENT", 60.0, 0.2)])
def test_a_stuck_switch_is_caught_within_a_second_in_priming_and_on_the_noisiest_converter(
        phase: str, after_s: float, noise_c: float) -> None:
    plant = {"probe_noise_c": noise_c}
    bare = runaway.detection("bare", plant, {}, phase, after_s)
    sensed = runaway.detection("sensed", {**plant, **runaway.SENSED_PLANT}, runaway.SENSED, phase, after_s)
    assert bare["detect_s"] is not None and bare["detect_s"] > 5.0, bare  # the probes alone: over the target
    assert sensed["alarm"] == "heater_switch_failed" and sensed["detect_s"] <= 1.0, sensed
    assert sensed["exchanger_peak_c"] < bare["exchanger_peak_c"] - 1.0, (sensed, bare)


@pytest.mark.parametrize("seed", [143, 7])
def test_fault_free_random_circuits_with_a_transducer_raise_none_of_its_alarms(seed: int) -> None:
    """Seed 143: its exchanger reaches the cut-out's code (its heater held off: over_temperature now says
    so) and, before the loop's zero was read as zero, a transducer's reading just under 4 mA read as a
    broken loop."""
    result = runaway.false_alarms(seed, sensed=True)
    assert result["safety_channel"] == [], result
    assert result["current_closest"] is not None and result["current_closest"] < 0.0, result
