"""The campaign's plants: one whole Latin hypercube in seeds 1-200, each plant inside the documented ranges
and set up as a site would, one seed one plant; and the heat balance that says which can reach the
target, against the plant model itself."""
from __future__ import annotations

import sys

import pytest

from hipec import REPO_ROOT
from hipec.emulator.params import PlantParams, params_from_dict
from hipec.emulator.plant import Plant
from hipec.runner import Plan

sys.path.insert(0, str(REPO_ROOT / "bench"))
import campaign_plants  # noqa: E402
import physics  # noqa: E402
from plant_file import settings_record  # noqa: E402

N = campaign_plants.HYPERCUBE_PLANTS


def test_seeds_1_to_200_are_one_latin_hypercube_and_fewer_are_part_of_one() -> None:
    points = [campaign_plants.unit_point(seed) for seed in range(1, N + 1)]
    for name in campaign_plants.DIMENSIONS:
        strata = sorted(int(point[name] * N) for point in points)
        assert strata == list(range(N)), name  # every stratum of every dimension exactly once
    first = [campaign_plants.unit_point(seed) for seed in range(1, 21)]
    for name in campaign_plants.DIMENSIONS:
        assert len({int(point[name] * N) for point in first}) == 20, name
    # The next hypercube takes the strata in another order.
    assert campaign_plants.unit_point(N + 1) != campaign_plants.unit_point(1)


def test_every_plant_is_inside_the_documented_ranges_and_set_up_as_a_site_would() -> None:
    plants = [campaign_plants.draw(seed) for seed in range(1, N + 1)]
    for plant in plants:
        drawn = {f.name: getattr(plant.params, f.name) for f in PlantParams.spec()}
        assert params_from_dict(drawn) == plant.params  # every value within its documented range
        assert settings_record(plant.config)  # the firmware takes every setting
        assert plant.plan.volume_l == plant.params.perfusate_l and 400 <= plant.plan.flow_ml_min <= 600
        true_flow = plant.plan.flow_ml_min * (1 + plant.tubing_error)
        assert plant.config["pump_ml_per_rev"] * (1 + plant.tubing_error) == pytest.approx(plant.params.pump_ml_per_rev, rel=1e-4)
        assert plant.params.line_base_mmhg + plant.params.line_resistance_mmhg_per_ml_min * true_flow <= 250.0 + 1e-6
        # What the board is not told stays at its defaults.
        assert not {"room_temp_c", "circuit_loss_w_per_c", "inflow_line_ml", "heater_volume_ml", "heater_tau_s",
                    "probe_tau_s"} & set(plant.config)
    assert {p.params.probe_r0_ohm for p in plants} == {100.0, 1000.0}
    assert {p.config["heater_output"] for p in plants} == {0, 1}
    errors = [p.tubing_error for p in plants]
    assert min(errors) < -0.045 and max(errors) > 0.045
    assert campaign_plants.draw(57) == campaign_plants.draw(57)  # a plant is its seed's alone


def hold(params: PlantParams, plan: Plan, power_w: float, minutes: float = 90.0) -> Plant:
    """The plant perfusing at the plan's flow with the heater held at power_w, until it settles."""
    plant = Plant(params)
    msps = physics.pump_msps(plan, physics.board_config(None))
    for _ in range(int(minutes * 600)):
        plant.step(0.1, int(round(1000 * power_w / params.heater_max_w)), msps, False)
    return plant


# Starting warm, with a body that sheds heat fast, the plant settles within the simulated time.
SETTLED = dict(perfusate_start_c=43.0, core_start_c=38.5, core_regulation_w_per_c=400.0, patient_uptake_w_per_c=60.0)


@pytest.mark.parametrize("circuit", [{}, {"line_loss_w_per_c": 1.3, "room_temp_c": 16.0, "reservoir_loss_w_per_c": 12.0,
                                          "heater_loss_w_per_c": 5.0}])
def test_the_heat_balance_is_the_plant_models_steady_state(circuit: dict[str, float]) -> None:
    params = PlantParams(**SETTLED, **circuit)
    reach = physics.reachability(params, Plan())
    plant = hold(params, Plan(), reach.required_w)
    # The power it says the treatment needs holds the inflow at the target (a duty is whole per mille:
    # 1.5 W), with the exchanger where it says.
    assert plant.true_temps()["inflow"] == pytest.approx(43.0, abs=0.04)
    assert plant.t_hx == pytest.approx(reach.exchanger_outlet_c, abs=0.04)
    assert plant.t_abdomen == pytest.approx(reach.cavity_c, abs=0.05)


def test_reachable_is_what_the_outlet_limit_and_the_heater_allow() -> None:
    lossy = physics.reachability(PlantParams(**SETTLED, line_loss_w_per_c=2.1), Plan())
    assert not lossy.reachable and lossy.cause.startswith("outlet limit") and lossy.exchanger_outlet_c > 44.0
    assert physics.reachability(PlantParams(**SETTLED, line_loss_w_per_c=1.3), Plan()).reachable
    needed = physics.reachability(PlantParams(**SETTLED), Plan()).required_w
    weak = physics.reachability(PlantParams(**SETTLED, heater_max_w=0.92 * needed), Plan())
    assert not weak.reachable and weak.cause.startswith("heater power")
    assert physics.reachability(PlantParams(**SETTLED, heater_max_w=1.08 * needed), Plan()).reachable
    # At full power the weak heater leaves the inflow short of the target, the other one does not.
    assert hold(PlantParams(**SETTLED, heater_max_w=0.92 * needed), Plan(), 0.92 * needed).true_temps()["inflow"] < 42.9
    short = physics.reachability(PlantParams(perfusate_l=4.0, abdomen_capacity_l=3.5), Plan(volume_l=4.0))
    assert not short.reachable and short.cause.startswith("perfusate")
