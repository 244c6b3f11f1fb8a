"""Random scenarios for the campaign (bench/scenarios.py): one seed gives one scenario, always the same.

A scenario is a plant drawn inside docs/plant-model.md's ranges (the table in emulator/params.py),
the board settings a site with that circuit would store, a plan inside the board's limits, and a
schedule of steps in board time after the bridge connects: 0-3 faults of any injectable kind, and
0-3 things people do (the operator's actions, the bridge killed and restarted, a second bridge
started on the same port).
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

from hipec.emulator.faults import KINDS, ONE_SHOT, PROBE_KINDS
from hipec.emulator.params import EQUIPMENT, PlantParams
from hipec.emulator.plant import PROBES
from hipec.runner import Plan

# Steps that are not faults of the board or the plant: what the people around it do.
OPERATOR_ACTIONS = ("pause", "resume", "stop", "abort", "ack", "vitals")
BRIDGE_ACTIONS = ("bridge_kill", "second_bridge")
# Faults drawn on their own; link_replug only follows an unplug, and the two power losses
# ("power_loss" alone, "power_loss_usb" with the cable's power gone too) are drawn apart.
FAULT_KINDS = tuple(k for k in KINDS if k != "link_replug") + ("power_loss_usb",)
# Steps fall in the first SCHEDULE_S of board time: priming, heating and the treatment's start.
SCHEDULE_S = 900.0
# Board time after which the operator aborts a session still running, so every scenario ends.
HORIZON_S = 1500.0
# The share of scenarios on the reference circuit (the plant model's defaults).
REFERENCE_SHARE = 1.0 / 3.0
# Plants with the heat-up of a real circuit make long scenarios; most start from warmed perfusate.
WARM_START_C = (36.0, 42.0)


@dataclass(frozen=True)
class Step:
    at_s: float  # board seconds after the bridge connected
    what: str  # a fault kind, an operator action or a bridge action
    probe: str | None = None
    duration_s: float | None = None  # a lasting fault clears itself after this; None: it stays
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    seed: int
    plant: dict[str, Any]  # PlantParams overrides
    config: dict[str, Any]  # set_config before the session, as the site's technician stored it
    plan: Plan
    steps: tuple[Step, ...]

    def describe(self) -> dict[str, Any]:
        return {"seed": self.seed, "plant": self.plant, "config": self.config, "plan": asdict(self.plan),
                "steps": [asdict(s) for s in self.steps]}


def _plant(rng: random.Random) -> dict[str, Any]:
    """Every parameter drawn over its documented range (about one in two left at its default); one
    scenario in three keeps the reference circuit, which the control is tuned on, so whole treatments
    meet the faults too."""
    plant: dict[str, Any] = {}
    reference = rng.random() < REFERENCE_SHARE
    for f in PlantParams.spec():
        if f.name == "seed":
            plant["seed"] = rng.randrange(1, 2**31 - 1)
            continue
        if f.name in EQUIPMENT:
            continue
        if reference or rng.random() < 0.5:
            continue
        low, high = f.metadata["min"], f.metadata["max"]
        plant[f.name] = rng.randint(int(low), int(high)) if f.type in ("int", int) else round(rng.uniform(low, high), 3)
    if rng.random() < 0.9:
        # A converter reference resistor that suits the probe, as a built circuit has: the board
        # refuses a pair that cannot convert (rtd_ref / rtd_r0 outside 1.35..6.3); one in ten is not.
        r0 = plant.get("probe_r0_ohm", 100.0)
        plant["rtd_ref_ohm"] = round(rng.uniform(max(300.0, 1.4 * r0), min(4500.0, 6.2 * r0)), 1)
    if rng.random() < 0.7:
        plant["perfusate_start_c"] = round(rng.uniform(*WARM_START_C), 2)
    return plant


def _working_line(rng: random.Random, plant: dict[str, Any], flow_ml_min: float) -> None:
    """Most circuits pump at the planned flow below the pressure alarm (300 mmHg); some do not."""
    if rng.random() < 0.85:
        base = plant.get("line_base_mmhg", PlantParams.line_base_mmhg)
        ceiling = max(0.05, (220.0 - base) / flow_ml_min)
        resistance = plant.get("line_resistance_mmhg_per_ml_min", PlantParams.line_resistance_mmhg_per_ml_min)
        plant["line_resistance_mmhg_per_ml_min"] = round(min(resistance, ceiling), 4)


def _config(rng: random.Random, plant: PlantParams) -> dict[str, Any]:
    """What a site stores for its circuit; sometimes the tubing is left uncalibrated."""
    config: dict[str, Any] = {
        "rtd_r0_ohm": plant.probe_r0_ohm, "rtd_ref_ohm": plant.rtd_ref_ohm,
        "heater_rated_w": plant.heater_max_w, "pump_steps_per_rev": plant.pump_steps_per_rev,
        "room_temp_c": max(10.0, plant.room_temp_c),
        # A short cooldown and drain keep scenarios short; the link grace sometimes at its minimum so
        # a killed bridge can outlast it.
        "cooldown_max_s": rng.choice((60, 120, 300)), "drain_s": rng.choice((30, 60, 120)),
    }
    if rng.random() < 0.8:
        config["pump_ml_per_rev"] = max(1.0, plant.pump_ml_per_rev)
    if rng.random() < 0.2:
        config["link_grace_s"] = 10
    return config


def _plan(rng: random.Random, plant: PlantParams) -> Plan:
    volume_l = round(rng.uniform(max(1.0, plant.perfusate_l - 2.0), plant.perfusate_l), 2)
    if rng.random() < 0.1:  # a plan asking for more than the circuit holds
        volume_l = round(min(10.0, plant.perfusate_l + rng.uniform(0.5, 2.0)), 2)
    return Plan(target_temp_c=round(rng.uniform(41.0, 44.0), 2), duration_min=rng.choice((1.0, 2.0, 3.0, 5.0)),
                volume_l=volume_l, flow_ml_min=float(rng.randrange(300, 801, 50)),
                controlled_point=rng.choice(("inflow", "inflow", "abdominal")))


def _fault(rng: random.Random, at_s: float) -> list[Step]:
    kind = rng.choice(FAULT_KINDS)
    if kind == "link_unplug":
        steps = [Step(at_s, kind)]
        if rng.random() < 0.85:  # long and short pulls; now and then one that is never plugged back
            steps.append(Step(at_s + rng.choice((rng.uniform(0.5, 10.0), rng.uniform(10.0, 120.0))), "link_replug"))
        return steps
    if kind in ("power_loss", "power_loss_usb"):
        off_s = round(rng.choice((0.0, rng.uniform(0.1, 5.0), rng.uniform(5.0, 60.0))), 2)
        if kind == "power_loss":
            return [Step(at_s, kind, values={"off_s": off_s})]
        return [Step(at_s, "link_unplug"), Step(at_s, "power_loss", values={"off_s": off_s}),
                Step(at_s + off_s + rng.uniform(0.0, 5.0), "link_replug")]
    values: dict[str, float] = {}
    for name, (_type, low, high, _unit) in KINDS[kind].items():
        values[name] = round(rng.uniform(low, high), 3)
    if kind == "probe_drift" and rng.random() < 0.5:  # a step or a ramp, of either sign
        values[rng.choice(("offset_c", "rate_c_per_min"))] = 0.0
    probe = rng.choice(PROBES) if kind in PROBE_KINDS else None
    duration_s = None
    if kind not in ONE_SHOT and rng.random() < 0.5:
        duration_s = round(rng.uniform(1.0, 300.0), 1)
    return [Step(at_s, kind, probe, duration_s, values)]


def _action(rng: random.Random, at_s: float) -> Step:
    what = rng.choice(OPERATOR_ACTIONS + BRIDGE_ACTIONS)
    values: dict[str, float] = {}
    if what == "vitals":
        values = {"core_temp_c": round(rng.uniform(35.0, 40.5), 1), "heart_rate_bpm": float(rng.randint(40, 190))}
    elif what == "bridge_kill":
        # Wall seconds before it is started again (the board runs in real time while nobody talks).
        values = {"restart_after_s": round(rng.choice((rng.uniform(0.1, 2.0), rng.uniform(2.0, 13.0))), 2)}
    return Step(at_s, what, values=values)


def generate(seed: int) -> Scenario:
    rng = random.Random(seed)
    plant_overrides = _plant(rng)
    plan = _plan(rng, PlantParams(**plant_overrides))
    _working_line(rng, plant_overrides, plan.flow_ml_min)
    plant = PlantParams(**plant_overrides)
    steps: list[Step] = []
    for _ in range(rng.randint(0, 3)):
        steps += _fault(rng, round(rng.uniform(0.0, SCHEDULE_S), 1))
    for _ in range(rng.randint(0, 3)):
        steps.append(_action(rng, round(rng.uniform(0.0, SCHEDULE_S), 1)))
    steps.sort(key=lambda s: s.at_s)
    return Scenario(seed, plant_overrides, _config(rng, plant), plan, tuple(steps))
