"""The flow loop on the plant (in-process firmware, bench/inprocess.py): a tube delivering 4 % more than
its calibration, with and without an inline flow sensor the board is told of. Open loop the flow is off
by the tube's wear and the inflow by 0.15 degC in treatment (a gain error the integrator carries); with the
sensor the pump learns the tube and both come right."""
from __future__ import annotations

import sys
from dataclasses import replace

from hipec import REPO_ROOT
from hipec.emulator.params import PlantParams
from hipec.runner import Plan
from hipec.tables import protocol

sys.path.insert(0, str(REPO_ROOT / "bench"))
from inprocess import Harness  # noqa: E402

WORN = replace(PlantParams(), pump_ml_per_rev=10.4)  # the board's calibration says 10.0
TREATMENT_S = 600.0
GIVE_UP_S = 2400.0


def _session(sensor: bool) -> tuple[float, float, float]:
    """Mean true flow over the last five minutes of treatment (mL/min), the largest error of the true
    inflow in treatment (degC), and the volume the board counted over what the tube really moved."""
    params = replace(WORN, flow_sensor=1) if sensor else WORN
    h = Harness(params, Plan(duration_min=TREATMENT_S / 60.0), {"flow_sensor_fitted": 1} if sensor else {})
    h.send("start")
    flows: list[float] = []
    error_c = 0.0
    treatment_s = t_s = 0.0
    while t_s < GIVE_UP_S and treatment_s < TREATMENT_S:
        h.step()
        t_s += 0.1
        if h.ctl.session.phase == protocol.TREATMENT:
            treatment_s += 0.1
            error_c = max(error_c, abs(h.plant.true_temps()["inflow"] - 43.0))
            if treatment_s > TREATMENT_S - 300.0:
                flows.append(h.plant.flow_ml_min)
    assert treatment_s >= TREATMENT_S, h.ctl.session.phase
    return sum(flows) / len(flows), error_c, h.ctl.pump.delivered_ml() / h.plant.delivered_ml


def test_a_worn_tube_is_off_by_its_wear_open_loop_and_right_with_a_flow_sensor() -> None:
    open_flow, open_error_c, open_volume = _session(sensor=False)
    assert abs(open_flow - 520.0) < 2.0 and open_error_c > 0.10 and open_volume < 0.97
    flow, error_c, volume = _session(sensor=True)
    assert abs(flow - 500.0) < 2.5, flow
    assert error_c <= 0.05, error_c
    assert abs(volume - 1.0) < 0.01, volume
