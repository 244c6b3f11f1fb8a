"""The benchmarks' inputs and the figures they derive from them: plant files as docs/plant-model.md
describes them (top-level lines or a [plant] table, a [plan], a [config]), one line for each mistake, the
heat-up minimum under the settings the board is given, and a failed autotune told in one line."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from hipec import REPO_ROOT
from hipec.cli import main as hipec
from hipec.emulator.params import PlantFileError, PlantParams, load_plant
from hipec.runner import Plan

sys.path.insert(0, str(REPO_ROOT / "bench"))
import physics  # noqa: E402
from plant_file import load_all  # noqa: E402


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plant.toml"
    path.write_text(text)
    return path


def test_top_level_lines_are_plant_parameters_beside_plan_and_config(tmp_path: Path) -> None:
    path = write(tmp_path, "room_temp_c = 17.0\nprobe_tau_s = 10.0\n[plan]\nflow_ml_min = 400\n"
                           "[config]\nroom_temp_c = 17.0\n")
    params, plan, config = load_all(path)
    assert (params.room_temp_c, params.probe_tau_s) == (17.0, 10.0)
    assert plan == Plan(flow_ml_min=400.0)
    assert config == {"room_temp_c": 17.0}
    # The emulator reads the same lines, with or without a [plant] table beside them.
    both = write(tmp_path, "room_temp_c = 17.0\n[plant]\nprobe_tau_s = 10.0\n")
    assert load_plant(both) == PlantParams(room_temp_c=17.0, probe_tau_s=10.0)


@pytest.mark.parametrize("text, words", [
    ("room_temp_c = 17.0\n[plant]\nroom_temp_c = 18.0\n", "room_temp_c is given both as a top-level line and under [plant]"),
    ("[plants]\nroom_temp_c = 17.0\n", "unknown table(s) [plants]; a plant file here takes `name = value` lines and the "
                                       "tables [plant], [plan], [config]"),
    ("[plan]\nflow = 400\n", "[plan] has no key 'flow'; its keys: target_temp_c, duration_min, volume_l, flow_ml_min, "
                             "controlled_point"),
    ("[plan]\nflow_ml_mn = 400\n", "[plan] has no key 'flow_ml_mn'; did you mean flow_ml_min?"),
    ("[plan]\nflow_ml_min = \"fast\"\n", "[plan] flow_ml_min = 'fast' must be a finite number"),
    ("[plan]\ncontrolled_point = \"cavity\"\n", "[plan] controlled_point = 'cavity' must be one of: inflow, abdominal"),
    ("room_temp_c = 50.0\n", "room_temp_c = 50.0 is outside the range 15.0..35.0 degC"),
    ("[plan\n", "not valid TOML"),
])
def test_each_mistake_in_a_plant_file_is_one_line_naming_it(tmp_path: Path, text: str, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PlantFileError) as caught:
        load_all(path)
    message = str(caught.value)
    assert words in message and message.startswith(str(path)) and "\n" not in message


def test_the_bench_command_says_a_plant_file_mistake_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "[plan]\nflow = 400\n")
    assert hipec(["bench", "control", "--plant", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "[plan] has no key 'flow'" in err and "Traceback" not in err


def test_heatup_minimum_is_the_plants_own_under_the_outlet_limit_and_the_boards_tubing_calibration() -> None:
    # A lossy exchanger in a cold room: the minimum took a fixed 33 W for every circuit's losses
    # whatever its [config] and read inf for it; the firmware, told the room and the losses, heated
    # it up in 97 s. The minimum now holds the exchanger at the limit with its own loss.
    lossy = physics.heatup_minimum_s(PlantParams(heater_loss_w_per_c=8.0, room_temp_c=17.0), Plan(),
                                     {"room_temp_c": 17.0, "circuit_loss_w_per_c": 9.0})
    assert 30.0 < lossy < 300.0
    # The tubing calibration the board is given sets the flow it really pumps (believing 11 mL/rev of
    # a 10 mL/rev tube, 9 % less), and the minimum heats that flow.
    assert physics.true_flow_ml_min(PlantParams(), Plan(), physics.board_config({"pump_ml_per_rev": 11.0})) == \
        pytest.approx(500.0 / 1.1, abs=0.01)
    assert physics.heatup_minimum_s(PlantParams(), Plan(), {"pump_ml_per_rev": 11.0}) != \
        physics.heatup_minimum_s(PlantParams(), Plan())
    # A circuit that cannot reach the target under the limit has no minimum: long lossy lines at
    # 400 mL/min would need the exchanger at 46.4 degC.
    assert physics.heatup_minimum_s(PlantParams(line_loss_w_per_c=5.0), Plan(flow_ml_min=400.0)) == math.inf


def test_a_failed_autotune_ends_bench_peers_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The slowest element and probes the plant model documents, its longest inflow line and smallest
    # exchanger, at the lowest flow: the relay's swing leaves the setpoint by more than 0.45 degC. (With the
    # exchanger and line as configured the swing stays within it at 400 mL/min once the approach to the
    # band is quick enough: the relay's start is where the approach leaves the inflow.)
    path = write(tmp_path, "heater_tau_s = 60.0\nprobe_tau_s = 10.0\nline_in_volume_l = 0.6\nheater_volume_l = 0.05\n"
                           "[plan]\nflow_ml_min = 400\n")
    assert hipec(["bench", "peers", "--plant", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("hipec bench peers: error: ") and "the autotune failed: inflow left the setpoint" in err
