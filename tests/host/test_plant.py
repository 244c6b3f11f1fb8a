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


def pulse_through_line(segments: int, step_s: float, flow_ml_min: float, volume_l: float = 0.15) -> tuple[float, float]:
    """A pulse of heat pushed through a lossless line of mixed segments: the mean and the standard
    deviation of the time it takes to come out (first and second moments of the outflow)."""
    plant = Plant(PlantParams(line_loss_w_per_c=0.0, line_segments=segments, line_in_volume_l=volume_l))
    line = [0.0] * segments
    q_l = flow_ml_min / 60000.0 * step_s
    out = [plant._advect(line, volume_l, 1.0 if i == 0 else 0.0, q_l, step_s) for i in range(int(200 / step_s))]
    total = sum(out)
    mean_s = sum(i * step_s * v for i, v in enumerate(out)) / total
    spread_s = (sum((i * step_s - mean_s) ** 2 * v for i, v in enumerate(out)) / total) ** 0.5
    return mean_s, spread_s


@pytest.mark.parametrize("segments", [5, 20, 100])
@pytest.mark.parametrize("step_s", [0.1, 0.025])
def test_line_delay_is_its_volume_over_flow_whatever_the_segments_and_step(segments: int, step_s: float) -> None:
    # 0.15 L at 500 mL/min: 18 s (it was 18 s + one step per segment: 20 s with 20 segments, 28 s with 100).
    for flow_ml_min in (400.0, 500.0, 600.0):
        mean_s, spread_s = pulse_through_line(segments, step_s, flow_ml_min)
        delay_s = 0.15 / (flow_ml_min / 60000.0)
        assert mean_s == pytest.approx(delay_s, abs=0.01)
        # Plug flow blurred as by `segments` mixed volumes in series, plus what the step adds.
        assert spread_s == pytest.approx((delay_s ** 2 / segments + delay_s * step_s) ** 0.5, rel=0.02)


def test_inflow_probe_sees_the_heater_outlet_one_line_delay_later() -> None:
    """Through the whole plant: the inflow follows the heat exchanger's outlet by V/F on average."""
    p = PlantParams(line_loss_w_per_c=0.0, heater_loss_w_per_c=0.0, reservoir_loss_w_per_c=0.0,
                    heater_tau_s=0.5, heater_volume_l=0.05, line_segments=100)
    plant = Plant(p)
    run(plant, 60, 0, MSPS_500, True)
    hx, inflow = [plant.t_hx], [plant.line_in[-1]]
    for i in range(600):  # into the abdomen: nothing heated comes back to the reservoir in this minute
        plant.step(0.1, 300 if i < 50 else 0, MSPS_500, False)
        hx.append(plant.t_hx)
        inflow.append(plant.line_in[-1])
    # The pulse's centroid, against the temperature each trace had before it.
    def centroid(trace: list[float]) -> float:
        rise = [t - trace[0] for t in trace]
        return sum(i * 0.1 * r for i, r in enumerate(rise)) / sum(rise)
    assert centroid(inflow) - centroid(hx) == pytest.approx(p.line_in_volume_l / (0.5 / 60), abs=0.3)


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
