"""Plant files and fault schedules: accepted when right, refused with the key, value and range when not."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from hipec import REPO_ROOT
from hipec.emulator.faults import FaultFileError, load_faults, make_fault
from hipec.emulator.params import PlantFileError, PlantParams, fmt, load_plant


def write(tmp_path: Path, text: str, name: str = "f.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_plant_file_overrides_defaults(tmp_path: Path) -> None:
    params = load_plant(write(tmp_path, "perfusate_l = 6.0\nline_segments = 10\n"))
    assert params.perfusate_l == 6.0 and params.line_segments == 10
    assert params.room_temp_c == PlantParams().room_temp_c
    assert load_plant(write(tmp_path, "[plant]\nperfusate_l = 4.0\n")).perfusate_l == 4.0


def test_unknown_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(PlantFileError, match="unknown parameter 'perfusate_litres'"):
        load_plant(write(tmp_path, "perfusate_litres = 5.0\n"))


def test_value_outside_its_range_is_refused_with_the_range(tmp_path: Path) -> None:
    with pytest.raises(PlantFileError, match=re.escape("perfusate_l = 12.0 is outside the range 3.0..8.0 L")):
        load_plant(write(tmp_path, "perfusate_l = 12.0\n"))
    with pytest.raises(PlantFileError, match="line_segments = 7.5 must be an integer"):
        load_plant(write(tmp_path, "line_segments = 7.5\n"))
    with pytest.raises(PlantFileError, match="must be a number"):
        load_plant(write(tmp_path, 'room_temp_c = "warm"\n'))


def test_every_parameter_is_documented_with_its_unit_and_range() -> None:
    doc = (REPO_ROOT / "docs" / "plant-model.md").read_text()
    for f in PlantParams.spec():
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{f.name}` |")), None)
        assert row is not None, f"{f.name} missing from docs/plant-model.md"
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == f.metadata["unit"] and cells[2] == fmt(f.default), f.name
        assert cells[3] == f"{fmt(f.metadata['min'])}..{fmt(f.metadata['max'])}", f.name


def test_fault_schedule_is_sorted_and_checked(tmp_path: Path) -> None:
    faults = load_faults(write(tmp_path, """
[[fault]]
at_s = 120
kind = "probe_drift"
probe = "inflow"
rate_c_per_min = 0.5
duration_s = 30

[[fault]]
at_s = 60
kind = "drug_added"
volume_l = 0.25
temp_c = 22.0
"""))
    assert [f.kind for f in faults] == ["drug_added", "probe_drift"]
    assert faults[1].values["rate_c_per_min"] == 0.5 and faults[1].duration_s == 30.0


@pytest.mark.parametrize("entry, message", [
    ({"kind": "meteor"}, "kind = 'meteor' is not one of"),
    ({"kind": "probe_open"}, "probe = None must be one of"),
    ({"kind": "probe_open", "probe": "rectal"}, "probe = 'rectal' must be one of"),
    ({"kind": "heater_dead", "probe": "inflow"}, "heater_dead takes no probe"),
    ({"kind": "drug_added", "volume_l": 5.0}, "volume_l = 5.0 is outside 0.01..2.0 L"),
    ({"kind": "power_loss", "duration_s": 3}, "happens once and takes no duration_s"),
    ({"kind": "pump_stall", "at_s": -1}, "at_s = -1 must be"),
    ({"kind": "pump_stall", "speed": 2}, "pump_stall has no parameter 'speed'"),
])
def test_bad_fault_entries_are_refused_by_name(entry: dict[str, object], message: str) -> None:
    with pytest.raises(FaultFileError, match=re.escape(message)):
        make_fault(entry)


@pytest.mark.parametrize("text, expected", [
    ("[[fault]]\nkind = \"heater_dead\"\nat_s = nan\n", "fault 1: at_s = nan must be a number of seconds in 0..604800"),
    ("[[fault]]\nkind = \"heater_dead\"\nat_s = inf\n", "fault 1: at_s = inf must be a number of seconds in 0..604800"),
    ("[[fault]]\nkind = \"heater_dead\"\nat_s = 1e308\n", "fault 1: at_s = 1e+308 must be a number of seconds"),
    ("[[fault]]\nkind = \"heater_dead\"\nat_s = 5\nduration_s = nan\n", "fault 1: duration_s = nan must be"),
    ("[fault]\nkind = \"heater_dead\"\nat_s = 5\n", "fault must be a list of tables, one [[fault]] each (found dict)"),
    ("fault = [1, 2]\n", "fault 1 = 1 must be a table"),
])
def test_a_fault_file_typo_is_one_line_naming_the_entry_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "faults.toml"
    path.write_text(text)
    with pytest.raises(FaultFileError) as refused:
        load_faults(path)
    assert expected in str(refused.value) and "\n" not in str(refused.value)


def test_a_fault_file_that_is_not_text_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "faults.toml"
    path.write_bytes(b"[[fault]]\nkind = \"\xff\xfe\"\n")
    with pytest.raises(FaultFileError) as refused:
        load_faults(path)
    assert "cannot be read (not UTF-8 text)" in str(refused.value)
