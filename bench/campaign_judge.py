"""One campaign session judged on the plant's truth (bench/campaign.py): its figures and its verdict.

A session is judged from a second-by-second series of the true inflow and the board's phase, the way it
ended and the alarms it raised, beside what the plant's own physics allows (bench/physics.py):

  max_abs_error_c        largest |true inflow - target| from the moment it first comes within 0.1 degC of
                         the target to the end of treatment (priming, heating and treatment after that)
  max_abs_error_treatment_c   the same over TREATMENT alone (what `hipec bench control` reports)
  time_in_band_pct       share of that window within +-0.1 degC
  overshoot_c            highest true inflow above the target while heating up and treating
  outlet_max_c           highest true heat-exchanger outlet then (the absolute limit is 44.0 degC: a
                         controller above it can heat up faster than the minimum)
  heatup_s, heatup_ratio board time to first come within 0.1 degC, and that over the plant's minimum
  flow_error_pct         volume the plant received against what the board commanded (the tubing's error)

Verdict: a session whose target is reachable passes when it completed its treatment with max |error|
<= 0.10 degC and raised no alarm (the circuit had no fault, so none was deserved); one whose target is
not reachable must end with an alarm, never run on silently until it is given up.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from physics import BAND_C, Reach

# The requirement on a reachable plant, and the campaign's targets.
REQUIRED_MAX_ERROR_C = 0.10
TARGET_P95_ERROR_C = 0.05
TARGET_HEATUP_RATIO = 1.10
# Phases in which the inflow heats up toward or holds the target.
HEATING_UP = ("PRIMING", "HEATING", "TREATMENT")


@dataclass
class Session:
    """What a controller did with one plant, second by second, and how it ended."""
    t_s: list[int]
    phase: list[str]
    true_inflow_c: list[float]
    true_outlet_c: list[float]  # the heat exchanger's outlet, beside the inflow
    outcome: str  # the phase it ended in (or was in when given up)
    given_up: bool  # still running when the campaign stopped waiting
    alarms: list[str] = field(default_factory=list)  # raised, in order, each once
    delivered_ml: float | None = None  # what the plant received, and what the board commanded
    commanded_ml: float | None = None
    line_learnt_ml: float | None = None  # the inflow line the board found at the end (0: none found)


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def figures(session: Session, target_c: float, heatup_min_s: float) -> dict[str, Any]:
    """The session's control figures on the true inflow."""
    samples = list(zip(session.t_s, session.phase, session.true_inflow_c))
    reached = next((t for t, _phase, temp in samples if abs(temp - target_c) <= BAND_C), None)
    window = [abs(temp - target_c) for t, phase, temp in samples
              if reached is not None and t >= reached and phase in HEATING_UP]
    treatment = [abs(temp - target_c) for _t, phase, temp in samples if phase == "TREATMENT"]
    heated = [temp for _t, phase, temp in samples if phase in HEATING_UP]
    outlet = [temp for phase, temp in zip(session.phase, session.true_outlet_c) if phase in HEATING_UP]
    flow_error = None
    if session.commanded_ml and session.delivered_ml is not None:
        flow_error = 100.0 * (session.delivered_ml - session.commanded_ml) / session.commanded_ml
    ratio = reached / heatup_min_s if reached is not None and 0 < heatup_min_s < float("inf") else None
    return {
        "outcome": session.outcome,
        "completed": session.outcome == "COMPLETE" and bool(treatment),
        "given_up": session.given_up,
        "alarms": session.alarms,
        "max_abs_error_c": _round(max(window)) if window else None,
        "max_abs_error_treatment_c": _round(max(treatment)) if treatment else None,
        "time_in_band_pct": _round(100.0 * sum(e <= BAND_C for e in window) / len(window), 2) if window else None,
        "overshoot_c": _round(max(0.0, max(heated) - target_c)) if heated else None,
        "outlet_max_c": _round(max(outlet), 3) if outlet else None,
        "heatup_s": reached,
        "heatup_min_s": heatup_min_s if heatup_min_s < float("inf") else None,
        "heatup_ratio": _round(ratio, 3),
        "flow_error_pct": _round(flow_error, 3),
        "treatment_s": len(treatment),
    }


def verdict(result: dict[str, Any], reach: Reach) -> list[str]:
    """What is wrong with the session (empty: it did what the requirement asks), each as its class,
    then after ": " the figure behind it where there is one."""
    ended = (f"still in {result['outcome']} at the give-up" if result["given_up"]
             else f"ended in {result['outcome']}")
    alarms = result["alarms"]
    raised = f" with {', '.join(alarms)}" if alarms else ", no alarm"
    if not reach.reachable:
        if result["completed"]:
            return ["unreachable by the heat balance, yet completed"]
        if alarms and not result["given_up"]:
            return []
        return [f"unreachable, {'silent stall: ' if not alarms else ''}{ended}{raised}"]
    problems = []
    if not result["completed"]:
        problems.append(f"did not complete, {ended}{raised}")
    error = result["max_abs_error_c"]
    if error is None:
        problems.append("never within 0.1 degC of the target")
    elif error > REQUIRED_MAX_ERROR_C:
        problems.append(f"max |error| > {REQUIRED_MAX_ERROR_C:.2f} degC: {error:.3f}")
    if alarms and result["completed"]:
        problems.append(f"undeserved alarm(s) {', '.join(alarms)}")
    return problems


def problem_class(problem: str) -> str:
    """The class a problem is counted under: its words before the figure."""
    return problem.split(": ")[0] if problem.startswith("max |error|") else problem
