"""The randomized plant campaign's plants (bench/campaign.py): a Latin hypercube over every parameter of
docs/plant-model.md and over what a site sets up around the circuit, one plant per seed.

Plant seed s is point (s - 1) mod HYPERCUBE_PLANTS of the hypercube numbered (s - 1) // HYPERCUBE_PLANTS:
each dimension's range is cut into HYPERCUBE_PLANTS equal strata, the hypercube's plants take them in a
shuffled order (one shuffle per dimension, from the hypercube's number) and the plant's own seed places
it within its stratum. So seeds 1-200 are one whole Latin hypercube (every stratum of every dimension
taken exactly once), any fewer consecutive seeds are part of one (no two in a stratum), and a plant
depends on its seed alone: `--plants 1 --seed s` draws plant s of any campaign again.

What the board is told, as a site would configure it: its probes and converter, the heater's rating,
the pump's steps per revolution, its output stage (DC heater on PWM, or a mains heater on an SSR and
that SSR's period), and a tubing calibration off by the drawn error. What it is not told: the room,
every loss, the line and exchanger volumes, the element's lag, the probes' lag and noise, the patient.
"""
from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any

from hipec.emulator.params import EQUIPMENT, PlantParams
from hipec.runner import Plan

# Plants per Latin hypercube: a campaign of 200 from seed 1 is one whole hypercube.
HYPERCUBE_PLANTS = 200
# Every plant parameter is a dimension (the noise's seed is the plant's own seed); these four are drawn
# by a rule of their own below, the rest uniformly over their range.
PLANT_DIMENSIONS = tuple(f.name for f in PlantParams.spec() if f.name != "seed" and f.name not in EQUIPMENT)
COUPLED = ("perfusate_l", "line_resistance_mmhg_per_ml_min", "probe_r0_ohm", "rtd_ref_ohm")
# Around the circuit: the plan's flow (the standard's 400-600 mL/min), the tubing calibration's error
# (the pump delivers this share more than the board believes), and the heater's output stage.
FLOW_ML_MIN = (400.0, 600.0)
TUBING_ERROR = (-0.05, 0.05)
SSR_PERIOD_MS = (500, 5000)
SITE_DIMENSIONS = ("flow_ml_min", "tubing_error", "heater_output", "ssr_period_ms")
DIMENSIONS = PLANT_DIMENSIONS + SITE_DIMENSIONS
# The perfusate a team loads fills the abdomen and the circuit and leaves the reservoir this far above
# its low-level switch ("enough to fill the abdomen and circulate freely", the C-HIPEC standard).
FLUID_SPARE_L = 0.2
# A working line stays below this at the flow it really carries (the pressure alarm is at 300 mmHg).
WORKING_PRESSURE_MMHG = 250.0
# Converter reference over probe resistance: the board refuses a pair outside 1.35..6.3.
REF_RATIO = (1.4, 6.2)
# The board's settings that shorten what follows the treatment: the figures end with it.
AFTER_TREATMENT = {"cooldown_max_s": 60, "drain_s": 30}
# The standard session's target and length.
TARGET_C = 43.0
DURATION_MIN = 60.0


@dataclass(frozen=True)
class CampaignPlant:
    seed: int
    params: PlantParams
    plan: Plan
    config: dict[str, Any]  # set_config before the session: what the board is told
    tubing_error: float  # the pump delivers this share more than the board's calibration says

    def told(self, settings: dict[str, Any] | None) -> CampaignPlant:
        """The same plant, its board given these settings over the ones it draws."""
        return dataclasses.replace(self, config={**self.config, **settings}) if settings else self

    def plant_file(self) -> str:
        """The plant as a bench plant file, for `hipec bench control --plant FILE`."""
        default = PlantParams()
        lines = [f"# campaign plant, seed {self.seed}: tubing calibration error {100 * self.tubing_error:+.2f} %", "[plant]"]
        lines += [f"{f.name} = {_toml(getattr(self.params, f.name))}" for f in PlantParams.spec()
                  if getattr(self.params, f.name) != getattr(default, f.name)]
        lines += ["[plan]"] + [f"{key} = {_toml(value)}" for key, value in self.plan.fields().items()]
        lines += ["[config]"] + [f"{key} = {_toml(value)}" for key, value in self.config.items()]
        return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def unit_point(seed: int) -> dict[str, float]:
    """The plant's place in its hypercube: a number in [0, 1) per dimension."""
    if seed < 1:
        raise ValueError(f"plant seed {seed}: seeds start at 1")
    cube, position = divmod(seed - 1, HYPERCUBE_PLANTS)
    point = {}
    for name in DIMENSIONS:
        strata = list(range(HYPERCUBE_PLANTS))
        random.Random(f"hypercube {cube} {name}").shuffle(strata)
        within = random.Random(f"plant {seed} {name}").random()
        point[name] = (strata[position] + within) / HYPERCUBE_PLANTS
    return point


def _within(u: float, low: float, high: float) -> float:
    return round(low + u * (high - low), 4)


def draw(seed: int, duration_min: float = DURATION_MIN) -> CampaignPlant:
    """Plant seed's circuit, plan and board settings (duration_min: the plan's treatment time)."""
    u = unit_point(seed)
    spec = {f.name: f for f in PlantParams.spec()}
    values: dict[str, Any] = {"seed": seed}
    for name in PLANT_DIMENSIONS:
        low, high = spec[name].metadata["min"], spec[name].metadata["max"]
        if spec[name].type in ("int", int):
            values[name] = int(round(low + u[name] * (high - low)))
        elif name not in COUPLED:
            values[name] = _within(u[name], low, high)
    # A team loads enough perfusate for this abdomen and circuit (the hypercube's share of what is left
    # of the range above that); a circuit no range can fill keeps the most (reachability says so).
    circuit_l = values["heater_volume_l"] + values["line_in_volume_l"] + values["line_out_volume_l"]
    needed_l = values["abdomen_capacity_l"] + circuit_l + values["reservoir_low_l"] + FLUID_SPARE_L
    low_l, high_l = spec["perfusate_l"].metadata["min"], spec["perfusate_l"].metadata["max"]
    values["perfusate_l"] = _within(u["perfusate_l"], max(low_l, needed_l), high_l) if needed_l < high_l else high_l
    # PT100 or PT1000, on a reference resistor that suits it.
    r0 = 100.0 if u["probe_r0_ohm"] < 0.5 else 1000.0
    values["probe_r0_ohm"] = r0
    values["rtd_ref_ohm"] = round(r0 * _within(u["rtd_ref_ohm"], max(REF_RATIO[0], 300.0 / r0),
                                               min(REF_RATIO[1], 4500.0 / r0)), 1)
    flow = round(_within(u["flow_ml_min"], *FLOW_ML_MIN))
    error = _within(u["tubing_error"], *TUBING_ERROR)
    true_flow = flow * (1.0 + error)
    spec_r = spec["line_resistance_mmhg_per_ml_min"].metadata
    working = min(spec_r["max"], (WORKING_PRESSURE_MMHG - values["line_base_mmhg"]) / true_flow)
    values["line_resistance_mmhg_per_ml_min"] = _within(u["line_resistance_mmhg_per_ml_min"], spec_r["min"],
                                                        max(spec_r["min"], working))
    params = PlantParams(**values)
    config: dict[str, Any] = {
        "rtd_r0_ohm": params.probe_r0_ohm, "rtd_ref_ohm": params.rtd_ref_ohm,
        "heater_rated_w": params.heater_max_w, "pump_steps_per_rev": params.pump_steps_per_rev,
        "pump_ml_per_rev": round(params.pump_ml_per_rev / (1.0 + error), 4),
        "heater_output": 0 if u["heater_output"] < 0.5 else 1,
    }
    if config["heater_output"]:
        config["ssr_period_ms"] = int(round(_within(u["ssr_period_ms"], *SSR_PERIOD_MS) / 100.0)) * 100
    config.update(AFTER_TREATMENT)
    plan = Plan(target_temp_c=TARGET_C, duration_min=duration_min, volume_l=params.perfusate_l,
                flow_ml_min=float(flow))
    return CampaignPlant(seed, params, plan, config, error)


def reference(duration_min: float = DURATION_MIN) -> CampaignPlant:
    """The reference circuit (the plant model's defaults, the standard session) in the campaign's terms."""
    plan = Plan(target_temp_c=TARGET_C, duration_min=duration_min)
    return CampaignPlant(0, PlantParams(), plan, dict(AFTER_TREATMENT), 0.0)
