"""The plant's side of the Pico's pins, in the plant's terms: what each converter, the ADC and the two
switch inputs see, and the plant's outputs (heater duty, relay, pump rate, valve) from what the harness
read back on the pins over one slice of chip time.

The 4-20 mA loops (flow sensor, heater current transducer) read across the board's shunts. The
pressure transducer and its divider are the board's (Pins: 0.5 V at 0 mmHg to 4.5 V at full scale,
divided into the 3.3 V ADC); the ADC is the RP2040's 12-bit converter against 3.3 V. The reservoir's
float switch and the air detector pull their inputs low when they trip (the board enables pull-ups).
"""
from __future__ import annotations

from array import array
from collections import deque
from typing import Any

from hipec.emulator.plant import PROBES, RTD_OPEN_CODE, RTD_SHORT_CODE, Plant
from hipec.emulator.world import ch
from hipec.silicon.pins import PinValue, pin

# The RP2040's ADC: 12 bits against its 3.3 V reference.
ADC_FULL_CODE = 4095
ADC_REF_MV = 3300.0
# The MAX31865's element states in the harness (tools/rp2040/max31865.js Element).
ELEMENT_OK, ELEMENT_OPEN, ELEMENT_SHORT = 0, 1, 2


def pressure_code(pins: dict[str, PinValue], pressure_mmhg: float) -> int:
    """The ADC code for a line pressure, through the board's transducer and divider."""
    at_0 = pin(pins, "PRESSURE_MV_AT_0")
    span = pin(pins, "PRESSURE_MV_AT_FULL") - at_0
    mv = at_0 + pressure_mmhg / pin(pins, "PRESSURE_FULL_MMHG") * span
    return max(0, min(ADC_FULL_CODE, round(mv / ADC_REF_MV * ADC_FULL_CODE)))


def loop_code(pins: dict[str, PinValue], loop_ma: float, shunt: str) -> int:
    """The ADC code for a 4-20 mA loop's current across its shunt (0 where the plant has no transmitter)."""
    mv = max(0.0, loop_ma) * pin(pins, shunt)
    return max(0, min(ADC_FULL_CODE, round(mv / ADC_REF_MV * ADC_FULL_CODE)))


def rtd_input(code: int) -> list[int]:
    """[15-bit ratio, element state] for the plant's converter code (its open and short sentinels)."""
    if code == RTD_OPEN_CODE:
        return [0, ELEMENT_OPEN]
    if code == RTD_SHORT_CODE:
        return [0, ELEMENT_SHORT]
    return [code, ELEMENT_OK]


def plant_inputs(pins: dict[str, PinValue], plant: Plant) -> dict[str, Any]:
    """What the plant puts on the board's pins now (the harness's INPUTS fields)."""
    return {
        "rtd": [rtd_input(plant.rtd_code(name)) for name in PROBES],
        "adc": {str(pin(pins, "PRESSURE_ADC")): pressure_code(pins, plant.pressure_mmhg),
                str(pin(pins, "FLOW_ADC")): loop_code(pins, plant.flow_sensor_ma(), "FLOW_SHUNT_OHM"),
                str(pin(pins, "HEATER_CURRENT_ADC")): loop_code(pins, plant.heater_current_ma(),
                                                                "HEATER_CURRENT_SHUNT_OHM")},
        "levels": {str(pin(pins, "RESERVOIR_LOW")): not plant.reservoir_low(),
                   str(pin(pins, "AIR_DETECTOR")): not plant.air_in_line()},
    }


# The pump's rate is the steps counted over this many of the last slices: a 10 ms slice holds 26 or 27
# steps at 500 mL/min, a 4 % jitter the rotor's inertia does not have (100 ms: 0.4 %).
RATE_SLICES = 10


class StepRate:
    """Steps per second from the STEP pin's edges over the last RATE_SLICES slices."""

    def __init__(self) -> None:
        self._window: deque[tuple[int, float]] = deque(maxlen=RATE_SLICES)

    def add(self, steps: int, slice_ns: float, enabled: bool) -> int:
        """Count one slice's steps; the rate in milli-steps per second."""
        if not enabled:
            self._window.clear()  # the driver is off: no rate carried over
            return 0
        self._window.append((steps, slice_ns))
        total_ns = sum(ns for _steps, ns in self._window)
        return round(sum(n for n, _ns in self._window) * 1e12 / total_ns) if total_ns > 0 else 0


def plant_outputs(exchange: dict[str, Any], slice_ns: float, outputs: array,  # type: ignore[type-arg]
                  step_rate: StepRate) -> None:
    """The slice's outputs into the world's output record (boards/emulated/channel.py layout): the
    heater's duty is the share of the slice its switch was on; the pump's rate the steps counted on
    its STEP pin (a disabled driver ignores them)."""
    outputs[ch.OUT_HEATER_PM] = round(exchange["heaterHighNs"] / slice_ns * 1000) if slice_ns > 0 else 0
    outputs[ch.OUT_HEATER_RELAY] = int(exchange["relay"])
    outputs[ch.OUT_BYPASS] = int(exchange["bypass"])
    enabled = bool(exchange["pumpEnabled"])
    outputs[ch.OUT_PUMP_MSPS] = step_rate.add(exchange["steps"], slice_ns, enabled) if slice_ns > 0 else 0
