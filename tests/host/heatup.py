"""A session run in-process (bench/inprocess.py) from its start through the first minutes of treatment,
with what the heat-up tests judge: the alarms raised, the hottest fluid that reached the patient, and the
inflow's largest error from first reaching the target (the plant campaign's measure)."""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from hipec import REPO_ROOT
from hipec.tables import protocol

sys.path.insert(0, str(REPO_ROOT / "bench"))
from inprocess import Harness  # noqa: E402

# The standard's tolerance on the inflow.
BAND_C = 0.10
TICK_S = 0.1


@dataclass
class HeatUp:
    raised: set[str] = field(default_factory=set)
    patient_max_c: float = 0.0  # the inflow line's end while the bypass was closed
    error_max_c: float = 0.0  # |inflow - target| from first reaching the target within BAND_C
    treatment_s: float = 0.0


def run_heat_up(h: Harness, after_treatment_s: float, give_up_s: float,
                on_step: Callable[[Harness, float], None] | None = None) -> HeatUp:
    """Start the session and step it until after_treatment_s of treatment, a FAULT or give_up_s;
    on_step(h, t_s) is called after every tick."""
    target_c = h.ctl.plan.target_temp_c
    run = HeatUp()
    reached = False
    t_s = 0.0
    h.send("start")
    while t_s < give_up_s and run.treatment_s < after_treatment_s:
        h.step()
        t_s += TICK_S
        if on_step is not None:
            on_step(h, t_s)
        run.raised.update(h.ctl.alarms.active_names())
        inflow_c = h.plant.line_in[-1]
        if not h.board.bypass:
            run.patient_max_c = max(run.patient_max_c, inflow_c)
        reached = reached or abs(inflow_c - target_c) <= BAND_C
        if reached:
            run.error_max_c = max(run.error_max_c, abs(inflow_c - target_c))
        if h.ctl.session.phase == protocol.TREATMENT:
            run.treatment_s += TICK_S
        elif h.ctl.session.phase == protocol.FAULT:
            break
    return run
