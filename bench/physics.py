"""What a plant allows under the firmware's absolute limits, from the plant model's physics: the fastest
heat-up any controller could make on it, and whether the target can be held at all.

The limits are physical ones: the heat exchanger's outlet never above the 44.0 degC absolute setpoint
limit (firmware/controller/safety.py), the heater never above its power. The board commands its pump
through its own tubing calibration (the [config] it is given), so the plant carries what that
calibration makes of the planned flow; everything else is the plant's truth, whatever the board was
told about it.
"""
from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass
from typing import Any

from hipec import REPO_ROOT
from hipec.emulator.params import PlantParams
from hipec.emulator.plant import RHO_C_J_PER_L_C, Plant
from hipec.runner import Plan
from hipec.tables import PROBE_NAMES, protocol

sys.path.insert(0, str(REPO_ROOT / "firmware"))
from controller import config as fw_config  # noqa: E402
from controller.safety import ABS_MAX_SETPOINT_C as OUTLET_LIMIT_C  # noqa: E402

# Reached: the true controlled value within this of the target (the treatment band).
BAND_C = 0.1
# A cascade has heated up once the cavity is at the target with the abdomen this full (before that its
# probes read the first fluid to reach them, not the cavity).
FILLED_SHARE = 0.99
# The fastest element the plant model allows: the heat-up minimum's element lag.
FASTEST_ELEMENT_S = 0.5
# The heat-up minimum gives up after this much board time (the target is then out of reach).
MINIMUM_GIVE_UP_S = 3 * 3600
STEP_S = 0.1  # the firmware's control tick
CAVITY_PROBES = tuple(PROBE_NAMES[i] for i in protocol.ABDOMINAL)


def board_config(config: dict[str, Any] | None) -> Any:
    """The firmware's configuration with these settings applied, as set_config would apply them."""
    cfg = fw_config.Config()
    if config:
        cfg.apply(dict(config))
    return cfg


def pump_msps(plan: Plan, cfg: Any) -> int:
    """The step rate the board commands for the planned flow, through its own tubing calibration."""
    return int(plan.flow_ml_min / 60.0 / cfg.pump_ml_per_rev * cfg.pump_steps_per_rev * 1000)


def true_flow_ml_min(params: PlantParams, plan: Plan, cfg: Any) -> float:
    """What the plant receives when the board commands the planned flow."""
    return pump_msps(plan, cfg) / 1000.0 / params.pump_steps_per_rev * params.pump_ml_per_rev * 60.0


def outlet_cap_w(params: PlantParams, inlet_c: float, flow_ml_min: float) -> float:
    """The power that holds the exchanger's outlet at the limit in steady flow (the lift of fluid
    entering at inlet_c at this flow, and the exchanger's own loss to the room at the limit), no more
    than the heater's power: what the firmware's cap aims at, with the plant's true flow and loss."""
    carried_w_per_c = flow_ml_min / 60000.0 * RHO_C_J_PER_L_C
    cap_w = carried_w_per_c * (OUTLET_LIMIT_C - inlet_c) + params.heater_loss_w_per_c * (OUTLET_LIMIT_C - params.room_temp_c)
    return max(0.0, min(params.heater_max_w, cap_w))


def controlled_truth(temps_c: dict[str, float], plan: Plan, cavity_probes: int = 2) -> float:
    """The true temperature at the plan's controlled point: the inflow, or the cavity where its fitted
    probes sit (their mean, as the firmware takes it)."""
    if plan.controlled_point == "abdominal":
        return sum(temps_c[name] for name in CAVITY_PROBES[:cavity_probes]) / cavity_probes
    return temps_c["inflow"]


def heatup_minimum_s(params: PlantParams, plan: Plan, config: dict[str, Any] | None = None,
                     cavity_probes: int = 2) -> float:
    """The heater at the outlet cap from the start (outlet_cap_w at the reservoir's temperature), from an
    element with the model's shortest lag: no controller whose power stays under the same cap heats up
    faster (one that lets the outlet run above the limit can). Bypass open until the inflow reaches the
    target; for the cascade, then perfusing until the cavity does. inf: not within 3 h."""
    cfg = board_config(config)
    plant = Plant(dataclasses.replace(params, heater_tau_s=FASTEST_ELEMENT_S))
    msps = pump_msps(plan, cfg)
    flow = true_flow_ml_min(params, plan, cfg)
    reached_c = plan.target_temp_c - BAND_C
    bypass = True
    filled_l = params.abdomen_capacity_l * FILLED_SHARE
    for tick in range(int(MINIMUM_GIVE_UP_S / STEP_S)):
        duty_pm = int(1000 * outlet_cap_w(params, plant.t_reservoir, flow) / params.heater_max_w)
        plant.step(STEP_S, duty_pm, msps, bypass)
        temps = plant.true_temps()
        if bypass and temps["inflow"] >= reached_c:
            if plan.controlled_point == "inflow":
                return round((tick + 1) * STEP_S, 1)
            bypass = False
        elif not bypass and plant.v_abdomen_l >= filled_l and \
                controlled_truth(temps, plan, cavity_probes) >= reached_c:
            return round((tick + 1) * STEP_S, 1)
    return math.inf


@dataclass(frozen=True)
class Reach:
    """Whether the plant can hold the inflow at the target in treatment, and by how much."""
    reachable: bool
    cause: str  # "" when reachable; else what stands in the way
    required_w: float  # heater power the steady treatment needs
    available_w: float  # the heater's power
    exchanger_outlet_c: float  # where the exchanger must be for the inflow to reach the target
    cavity_c: float  # the steady cavity, with the patient's core at its coldest


def line_transmission(loss_w_per_c: float, segments: int, carried_w_per_c: float) -> float:
    """What share of a temperature above the room a line of mixed segments keeps end to end, in steady
    flow (each segment: carried x (T_in - T) = loss/segments x (T - room))."""
    return float((1.0 + loss_w_per_c / segments / carried_w_per_c) ** -segments)


def reachability(params: PlantParams, plan: Plan, config: dict[str, Any] | None = None) -> Reach:
    """The inflow held at the target with the abdomen filled, in steady state of the plant model's heat
    balance: the cavity takes the inflow's heat and gives it to the patient (whose core is at its
    coldest of the session: its start, or where the body holds it) and the room; the outflow line,
    the reservoir and the exchanger lose theirs; the exchanger must lift the reservoir's fluid to what
    the inflow line turns into the target. Reachable when that outlet is within the limit, the heater
    has that power, and the perfusate fills the abdomen with the reservoir above its switch."""
    p = params
    flow = true_flow_ml_min(p, plan, board_config(config))
    carried = flow / 60000.0 * RHO_C_J_PER_L_C
    room = p.room_temp_c
    target = plan.target_temp_c
    outlet = room + (target - room) / line_transmission(p.line_loss_w_per_c, p.line_segments, carried)
    uptake, regulation, to_room = p.patient_uptake_w_per_c, p.core_regulation_w_per_c, p.abdomen_room_loss_w_per_c
    # The core where the body holds it (reachability.py), or at its start if colder.
    patient = uptake * regulation / (uptake + regulation)
    cavity = (carried * target + patient * p.core_basal_c + to_room * room) / (carried + patient + to_room)
    core = (regulation * p.core_basal_c + uptake * cavity) / (regulation + uptake)
    if p.core_start_c < core:
        core = p.core_start_c
        cavity = (carried * target + uptake * core + to_room * room) / (carried + uptake + to_room)
    returned = room + (cavity - room) * line_transmission(p.line_loss_w_per_c, p.line_segments, carried)
    reservoir = (carried * returned + p.reservoir_loss_w_per_c * room) / (carried + p.reservoir_loss_w_per_c)
    required = carried * (outlet - reservoir) + p.heater_loss_w_per_c * (outlet - room)
    circuit_l = p.heater_volume_l + p.line_in_volume_l + p.line_out_volume_l
    cause = ""
    if p.perfusate_l - circuit_l - p.abdomen_capacity_l <= p.reservoir_low_l:
        cause = (f"perfusate: {p.perfusate_l:.2f} L does not fill a {p.abdomen_capacity_l:.2f} L abdomen and "
                 f"{circuit_l:.2f} L of circuit with the reservoir above its {p.reservoir_low_l:.2f} L switch")
    elif outlet > OUTLET_LIMIT_C:
        cause = (f"outlet limit: the inflow line loses {outlet - target:.2f} degC at {flow:.0f} mL/min, so the "
                 f"exchanger would have to reach {outlet:.2f} degC, above the {OUTLET_LIMIT_C} degC limit")
    elif required > p.heater_max_w:
        cause = (f"heater power: the treatment needs {required:.0f} W (inlet {reservoir:.2f} degC, cavity "
                 f"{cavity:.2f} degC), the heater gives {p.heater_max_w:.0f} W")
    return Reach(reachable=not cause, cause=cause, required_w=round(required, 1), available_w=p.heater_max_w,
                 exchanger_outlet_c=round(outlet, 3), cavity_c=round(cavity, 3))
