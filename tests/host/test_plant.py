"""The plant model against steady states and delays computed by hand."""
from __future__ import annotations

import pytest

from hipec.emulator.params import PlantParams
from hipec.emulator.plant import CVD_A, CVD_B, RHO_C_J_PER_L_C, Plant

# Pump command (milli-steps/s) for 500 mL/min with the default 10 mL/rev and 3200 steps/rev.
MSPS_500 = int(500 / 60 / 10 * 3200 * 1000)


def run(plant: Plant, seconds: float, heater_pm: int, msps: int, bypass_open: bool) -> None:
    for _ in range(int(seconds * 10)):
        plant.step(0.1, heater_pm, msps, bypass_open)


def test_heater_off_circulating_circuit_settles_at_room_temperature() -> None:
    # Strong losses so the test is short: reservoir tau = 4.5 L * 4180 / ~31 W/degC ~ 10 min.
    p = PlantParams(perfusate_start_c=40.0, reservoir_loss_w_per_c=20.0, heater_loss_w_per_c=10.0,
                    line_loss_w_per_c=5.0, room_temp_c=21.0, line_segments=5)
    plant = Plant(p)
    run(plant, 3 * 3600, 0, MSPS_500, True)
    for name, temp in plant.true_temps().items():
        if name.startswith("abdominal"):
            continue  # the empty cavity reads the patient, not the fluid
        assert temp == pytest.approx(21.0, abs=0.01), name
    assert plant.t_core == pytest.approx(p.core_basal_c, abs=0.01)


def test_heated_loop_equilibrium_balances_power_and_losses() -> None:
    p = PlantParams(reservoir_loss_w_per_c=20.0, heater_loss_w_per_c=5.0, line_loss_w_per_c=2.0,
                    line_segments=5, heater_tau_s=2.0)
    plant = Plant(p)
    run(plant, 3 * 3600, 200, MSPS_500, True)
    power_w = 0.2 * p.heater_max_w
    room = p.room_temp_c
    seg_loss = sum(t - room for t in plant.line_in) * p.line_loss_w_per_c / p.line_segments
    out_loss = sum(t - room for t in plant.line_out) * p.line_loss_w_per_c / p.line_segments
    losses_w = (p.heater_loss_w_per_c * (plant.t_hx - room) + seg_loss + out_loss
                + p.reservoir_loss_w_per_c * (plant.t_reservoir - room))
    assert plant.heater_w == pytest.approx(power_w, rel=1e-4)
    assert losses_w == pytest.approx(power_w, rel=0.01)
    # The heat exchanger lifts the fluid by (P - its loss) / (flow * c_p).
    flow_l_s = 0.5 / 60
    rise = (power_w - p.heater_loss_w_per_c * (plant.t_hx - room)) / (flow_l_s * RHO_C_J_PER_L_C)
    assert plant.t_hx - plant.t_reservoir == pytest.approx(rise, rel=0.02)


def test_filled_abdomen_without_flow_settles_at_the_two_node_equilibrium() -> None:
    p = PlantParams(line_segments=5)
    plant = Plant(p)
    run(plant, 9 * 60, 0, MSPS_500, False)  # 4.5 L pumped: the abdomen fills and overflows
    assert plant.v_abdomen_l == pytest.approx(p.abdomen_capacity_l, abs=0.01)
    run(plant, 5 * 3600, 0, 0, False)
    # Cavity: U_p (Ta - Tc) + U_r (Ta - Troom) = 0;  core: U_p (Ta - Tc) = U_g (Tc - Tb).
    up, ur, ug = p.patient_uptake_w_per_c, p.abdomen_room_loss_w_per_c, p.core_regulation_w_per_c
    troom, tb = p.room_temp_c, p.core_basal_c
    # From the cavity equation Ta = (up Tc + ur Troom) / (up + ur); substitute into the core equation.
    k = up * ur / (up + ur)
    tc = (k * troom + ug * tb) / (k + ug)
    ta = (up * tc + ur * troom) / (up + ur)
    assert plant.t_core == pytest.approx(tc, abs=0.01)
    assert plant.t_abdomen == pytest.approx(ta, abs=0.01)


def test_inflow_line_delays_the_heater_outlet_by_its_volume_over_flow() -> None:
    p = PlantParams(line_loss_w_per_c=0.0, heater_loss_w_per_c=0.0, reservoir_loss_w_per_c=0.0,
                    heater_tau_s=0.5, heater_volume_l=0.05)
    plant = Plant(p)
    run(plant, 60, 0, MSPS_500, True)
    start_hx, start_in = plant.t_hx, plant.line_in[-1]
    crossed: dict[str, float] = {}
    for i in range(1200):
        plant.step(0.1, 300, MSPS_500, True)
        t = (i + 1) * 0.1
        if "hx" not in crossed and plant.t_hx - start_hx > 1.0:
            crossed["hx"] = t
        if "inflow" not in crossed and plant.line_in[-1] - start_in > 1.0:
            crossed["inflow"] = t
    delay_s = crossed["inflow"] - crossed["hx"]
    expected_s = p.line_in_volume_l / (0.5 / 60)  # 18 s at 500 mL/min
    assert delay_s == pytest.approx(expected_s, abs=2.0)


def test_drug_addition_mixes_by_volume() -> None:
    plant = Plant(PlantParams(perfusate_start_c=43.0))
    volume = plant.v_reservoir_l
    plant.add_fluid(0.25, 22.0)
    assert plant.t_reservoir == pytest.approx((43.0 * volume + 22.0 * 0.25) / (volume + 0.25))
    assert plant.v_reservoir_l == pytest.approx(volume + 0.25)


def test_rtd_code_follows_the_sensor_equation_without_noise() -> None:
    plant = Plant(PlantParams(probe_noise_c=0.0, perfusate_start_c=43.0))
    r = 100.0 * (1 + CVD_A * 43.0 + CVD_B * 43.0 ** 2)
    assert plant.rtd_code("reservoir") == round(r / 430.0 * 32768)


def test_probe_faults_produce_converter_fault_codes() -> None:
    plant = Plant(PlantParams())
    plant.faults.probes["inflow"].open = True
    plant.faults.probes["outflow"].short = True
    assert plant.rtd_code("inflow") == 32767
    assert plant.rtd_code("outflow") == 0


def test_pump_stall_stops_flow_and_raises_pressure() -> None:
    plant = Plant(PlantParams())
    run(plant, 5, 0, MSPS_500, True)
    normal = plant.pressure_mmhg
    plant.faults.pump_stall = True
    run(plant, 5, 0, MSPS_500, True)
    assert plant.flow_ml_min == 0.0
    assert plant.pressure_mmhg > normal + 100
