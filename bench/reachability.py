"""Where a cavity target is reachable at all: the steady cavity temperature with the inflow held at the
absolute setpoint limit (44.0 degC), from the plant model's physics, by flow and patient heat uptake.

Usage: python bench/reachability.py [--json]

Steady state of the filled abdomen (docs/plant-model.md): the inflow brings F*c*(T_in - T_cav), the
patient takes U*(T_cav - T_core), the room L*(T_cav - T_room); the body sheds R*(T_core - T_basal).
Solving the two balances together gives the hottest cavity a 44.0 degC inflow can hold. A target above
it is not reachable by any controller under the limit; the cascade then holds the inflow at 44.0 degC.
"""
from __future__ import annotations

import argparse
import json
import sys

from hipec.emulator.params import PlantParams
from hipec.emulator.plant import RHO_C_J_PER_L_C

INFLOW_LIMIT_C = 44.0
FLOWS_ML_MIN = (400.0, 500.0, 600.0)
UPTAKES_W_PER_C = (15.0, 30.0, 60.0)


def max_cavity_c(flow_ml_min: float, uptake_w_per_c: float, p: PlantParams) -> tuple[float, float]:
    """(cavity, core) in steady state with the inflow at the limit."""
    fc = flow_ml_min / 60000.0 * RHO_C_J_PER_L_C
    loss = p.abdomen_room_loss_w_per_c
    r = p.core_regulation_w_per_c
    # core = (R*basal + U*cav) / (R + U); substitute into the cavity balance and solve for cav.
    k = uptake_w_per_c * r / (r + uptake_w_per_c)  # patient path, per degC of cavity above basal
    cavity = (fc * INFLOW_LIMIT_C + k * p.core_basal_c + loss * p.room_temp_c) / (fc + k + loss)
    core = (r * p.core_basal_c + uptake_w_per_c * cavity) / (r + uptake_w_per_c)
    return cavity, core


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/reachability.py", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    p = PlantParams()
    rows = [{"flow_ml_min": f, "uptake_w_per_c": u,
             "max_cavity_c": round(max_cavity_c(f, u, p)[0], 2), "core_c": round(max_cavity_c(f, u, p)[1], 2)}
            for f in FLOWS_ML_MIN for u in UPTAKES_W_PER_C]
    if args.json:
        print(json.dumps(rows))
        return 0
    print("| flow (mL/min) | " + " | ".join(f"uptake {u:g} W/°C" for u in UPTAKES_W_PER_C) + " |")
    print("|---|" + "---|" * len(UPTAKES_W_PER_C))
    for f in FLOWS_ML_MIN:
        cells = [f"{r['max_cavity_c']:.2f} °C" for r in rows if r["flow_ml_min"] == f]
        print(f"| {f:g} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
