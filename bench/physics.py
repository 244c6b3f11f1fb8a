"""What a plant allows under the firmware's own limits, from the plant model's physics: the fastest heat-up
any controller could make on it, and whether the target can be held at all.

Both take the heater's limit from the firmware itself (controller/heater.py's cap_w, run here under
CPython with the board's settings applied): the power that lifts fluid entering at the measured inlet
to the 44.0 degC absolute setpoint limit at the flow the board believes it pumps, plus the losses it is
told about, and never more than the heater's rating. The board commands its pump through its own
tubing calibration, so the plant receives what that calibration makes of the planned flow.
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
from controller import heater as fw_heater  # noqa: E402

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


def cap_duty_pm(cfg: Any, inlet_c: float, flow_ml_min: float) -> int:
    """The heater duty (per mille of the rated power) at the firmware's cap."""
    cap_w = fw_heater.HeaterController(cfg).cap_w(inlet_c, flow_ml_min)
    return max(0, min(1000, int(1000 * cap_w / cfg.heater_rated_w)))


def controlled_truth(temps_c: dict[str, float], plan: Plan, cavity_probes: int = 2) -> float:
    """The true temperature at the plan's controlled point: the inflow, or the cavity where its fitted
    probes sit (their mean, as the firmware takes it)."""
    if plan.controlled_point == "abdominal":
        return sum(temps_c[name] for name in CAVITY_PROBES[:cavity_probes]) / cavity_probes
    return temps_c["inflow"]


def heatup_minimum_s(params: PlantParams, plan: Plan, config: dict[str, Any] | None = None,
                     cavity_probes: int = 2) -> float:
    """Heater at the firmware's cap throughout (the board's settings applied), from an element with the
    model's shortest lag: a lower bound no controller can beat. Bypass open until the inflow reaches
    the target; for the cascade, then perfusing until the cavity does. inf: not within 3 h."""
    cfg = board_config(config)
    plant = Plant(dataclasses.replace(params, heater_tau_s=FASTEST_ELEMENT_S))
    msps = pump_msps(plan, cfg)
    reached_c = plan.target_temp_c - BAND_C
    bypass = True
    filled_l = params.abdomen_capacity_l * FILLED_SHARE
    for tick in range(int(MINIMUM_GIVE_UP_S / STEP_S)):
        plant.step(STEP_S, cap_duty_pm(cfg, plant.t_reservoir, plan.flow_ml_min), msps, bypass)
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
    available_w: float  # what the firmware's cap and the heater allow then
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
    the inflow line turns into the target. Reachable when the firmware's cap at that inlet and the
    heater allow that power, and the perfusate fills the abdomen with the reservoir above its switch."""
    p = params
    cfg = board_config(config)
    flow = true_flow_ml_min(p, plan, cfg)
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
    duty_pm = cap_duty_pm(cfg, reservoir, plan.flow_ml_min)
    available = duty_pm / 1000.0 * p.heater_max_w
    circuit_l = p.heater_volume_l + p.line_in_volume_l + p.line_out_volume_l
    cause = ""
    if p.perfusate_l - circuit_l - p.abdomen_capacity_l <= p.reservoir_low_l:
        cause = (f"perfusate: {p.perfusate_l:.2f} L does not fill a {p.abdomen_capacity_l:.2f} L abdomen and "
                 f"{circuit_l:.2f} L of circuit with the reservoir above its {p.reservoir_low_l:.2f} L switch")
    elif required > available:
        limit = "heater power" if duty_pm >= 1000 else "the 44.0 degC outlet cap"
        cause = (f"{limit}: the treatment needs {required:.0f} W (exchanger outlet {outlet:.2f} degC, inlet "
                 f"{reservoir:.2f} degC, cavity {cavity:.2f} degC), the firmware allows {available:.0f} W")
    return Reach(reachable=not cause, cause=cause, required_w=round(required, 1), available_w=round(available, 1),
                 exchanger_outlet_c=round(outlet, 3), cavity_c=round(cavity, 3))
