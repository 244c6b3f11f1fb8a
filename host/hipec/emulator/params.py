"""Parameters of the perfusion-circuit plant model: units, defaults, plausible ranges, TOML overrides.

Every parameter is declared once, here; docs/plant-model.md is checked against this table by a test.
"""
from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class PlantFileError(ValueError):
    """A plant file that names an unknown parameter or gives a value outside its range."""


def _p(default: float, unit: str, low: float, high: float, doc: str) -> Any:
    return field(default=default, metadata={"unit": unit, "min": low, "max": high, "doc": doc})


# Parameters of equipment a site may fit, not of the circuit: the random plant generators (the scenario
# campaign, the plant campaign) leave them at their defaults, so that their draws stay what they were.
EQUIPMENT = ("flow_sensor", "flow_sensor_full_scale_ml_min", "flow_sensor_noise_ml_min", "heater_supply_v",
             "heater_current_sensor", "heater_current_full_scale_a", "heater_current_noise_a")


@dataclass(frozen=True)
class PlantParams:
    # Room and perfusate
    room_temp_c: float = _p(22.0, "degC", 15.0, 35.0, "operating-room air temperature")
    perfusate_l: float = _p(5.0, "L", 3.0, 8.0, "perfusate loaded into the circuit (reservoir, heater, lines)")
    perfusate_start_c: float = _p(22.0, "degC", 15.0, 42.0, "perfusate temperature when loaded")
    # Heater and heat exchanger
    heater_max_w: float = _p(1500.0, "W", 300.0, 3000.0, "heater power at 100 % duty")
    heater_tau_s: float = _p(8.0, "s", 0.5, 60.0, "heater element lag (first order) from duty to heat into fluid")
    heater_volume_l: float = _p(0.25, "L", 0.05, 1.0, "fluid volume of the heat exchanger")
    heater_loss_w_per_c: float = _p(1.0, "W/degC", 0.0, 10.0, "heat exchanger loss to the room")
    # Lines
    line_in_volume_l: float = _p(0.15, "L", 0.02, 0.6, "inflow line volume, heater to catheter (sets the delay)")
    line_out_volume_l: float = _p(0.15, "L", 0.02, 0.6, "outflow line volume, catheter to reservoir")
    line_loss_w_per_c: float = _p(0.5, "W/degC", 0.0, 5.0, "loss to the room of each line")
    line_segments: int = _p(20, "-", 5, 100, "well-mixed segments per line (plug-flow approximation)")
    # Reservoir
    reservoir_loss_w_per_c: float = _p(3.0, "W/degC", 0.0, 20.0, "reservoir loss to the room")
    reservoir_low_l: float = _p(0.3, "L", 0.05, 1.0, "reservoir volume below which the level switch reads low")
    # Abdomen and patient
    abdomen_capacity_l: float = _p(3.5, "L", 2.0, 6.0, "abdominal volume at which outflow starts (filled)")
    abdomen_room_loss_w_per_c: float = _p(3.0, "W/degC", 0.0, 30.0, "cavity loss to the room (closed ~3, open ~15)")
    patient_uptake_w_per_c: float = _p(30.0, "W/degC", 10.0, 100.0, "heat from cavity fluid into the patient per degC above core")
    core_start_c: float = _p(36.8, "degC", 34.0, 38.5, "patient core temperature at the start")
    core_basal_c: float = _p(37.0, "degC", 36.0, 37.5, "core temperature the body regulates toward")
    core_capacity_kj_per_c: float = _p(245.0, "kJ/degC", 120.0, 400.0, "patient heat capacity (about 3.5 kJ/kg/degC x mass)")
    core_regulation_w_per_c: float = _p(150.0, "W/degC", 50.0, 400.0, "body heat shed per degC of core above basal")
    drain_ml_min: float = _p(700.0, "mL/min", 100.0, 2000.0, "abdominal drain rate when the bypass is open")
    # Pump and line pressure
    pump_ml_per_rev: float = _p(10.0, "mL/rev", 2.0, 30.0, "true tubing displacement (the board has its own calibration)")
    pump_steps_per_rev: int = _p(3200, "steps/rev", 200, 25600, "motor steps per revolution, microstepping included")
    line_base_mmhg: float = _p(10.0, "mmHg", 0.0, 50.0, "line pressure with no flow")
    line_resistance_mmhg_per_ml_min: float = _p(0.2, "mmHg/(mL/min)", 0.05, 1.0, "catheter and filter resistance")
    occlusion_rise_mmhg_s: float = _p(40.0, "mmHg/s", 5.0, 200.0, "pressure rise while the line is occluded")
    # Probes and converter
    probe_tau_s: float = _p(2.0, "s", 0.1, 10.0, "probe thermal lag (first order)")
    probe_noise_c: float = _p(0.01, "degC", 0.0, 0.2, "probe and converter noise, one standard deviation")
    probe_r0_ohm: float = _p(100.0, "ohm", 100.0, 1000.0, "RTD resistance at 0 degC (PT100 or PT1000)")
    rtd_ref_ohm: float = _p(430.0, "ohm", 300.0, 4500.0, "converter reference resistor")
    abdominal_2_offset_c: float = _p(-0.15, "degC", -1.0, 1.0, "second cavity probe sits in a cooler region by this much")
    abdominal_3_offset_c: float = _p(-0.05, "degC", -1.0, 1.0, "third cavity probe (when fitted): offset from the mixed cavity")
    abdominal_4_offset_c: float = _p(0.05, "degC", -1.0, 1.0, "fourth cavity probe (when fitted): offset from the mixed cavity")
    inflow_2_offset_c: float = _p(0.0, "degC", -0.3, 0.3, "redundant inflow probe: where it sits in the line against the inflow probe")
    seed: int = _p(1, "-", 0, 2**31 - 1, "seed of the probe noise")
    # Equipment a site may fit (EQUIPMENT)
    flow_sensor: int = _p(0, "-", 0, 1, "an inline flow sensor (clamp-on ultrasonic, 4-20 mA) on the inflow line")
    flow_sensor_full_scale_ml_min: float = _p(1000.0, "mL/min", 100.0, 5000.0, "the flow sensor's 20 mA flow")
    flow_sensor_noise_ml_min: float = _p(2.0, "mL/min", 0.0, 20.0, "the flow sensor's noise, one standard deviation")
    heater_supply_v: float = _p(230.0, "V", 12.0, 250.0, "the heater's supply (mains, or a PWM heater's DC supply)")
    heater_current_sensor: int = _p(0, "-", 0, 1, "a current transducer (4-20 mA, averaging) on the heater's supply")
    heater_current_full_scale_a: float = _p(10.0, "A", 1.0, 100.0, "the current transducer's 20 mA current")
    heater_current_noise_a: float = _p(0.02, "A", 0.0, 1.0, "the current transducer's noise, one standard deviation")

    @staticmethod
    def spec() -> list[dataclasses.Field[Any]]:
        return list(dataclasses.fields(PlantParams))


def load_plant(path: Path | None) -> PlantParams:
    """Defaults overridden by a TOML file of `name = value` lines, a [plant] table, or both."""
    if path is None:
        return PlantParams()
    plant, _tables = split_plant_file(read_toml(path), str(path))
    return params_from_dict(plant, source=str(path))


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's tables, or one line naming the file and what is wrong with it."""
    try:
        return tomllib.loads(Path(path).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise PlantFileError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise PlantFileError(f"{path}: cannot be read ({reason})") from None


def split_plant_file(data: dict[str, Any], source: str,
                     tables: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A plant file's parts: its plant parameters (top-level `name = value` lines and a [plant] table,
    which may not both give one) and the other tables this use of the file allows (tables)."""
    plant = {key: value for key, value in data.items() if not isinstance(value, dict)}
    found = {key: value for key, value in data.items() if isinstance(value, dict)}
    allowed = ("plant",) + tables
    unknown = sorted(set(found) - set(allowed))
    if unknown:
        names = ", ".join(f"[{name}]" for name in unknown)
        raise PlantFileError(f"{source}: unknown table(s) {names}; a plant file here takes `name = value` "
                             f"lines and the tables {', '.join(f'[{name}]' for name in allowed)}")
    table = found.pop("plant", {})
    twice = sorted(set(plant) & set(table))
    if twice:
        raise PlantFileError(f"{source}: {twice[0]} is given both as a top-level line and under [plant]; "
                             f"give it once")
    plant.update(table)
    return plant, found


def params_from_dict(data: dict[str, Any], source: str = "plant") -> PlantParams:
    known = {f.name: f for f in PlantParams.spec()}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise PlantFileError(f"{source}: unknown parameter '{key}'; known: {', '.join(sorted(known))}")
        f = known[key]
        meta = f.metadata
        is_int = f.type in ("int", int)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (is_int and not isinstance(value, int)):
            kind = "an integer" if is_int else "a number"
            raise PlantFileError(f"{source}: {key} = {value!r} must be {kind} in {meta['unit']}")
        if not meta["min"] <= value <= meta["max"]:
            raise PlantFileError(
                f"{source}: {key} = {value} is outside the range {meta['min']}..{meta['max']} {meta['unit']}")
        values[key] = value if is_int else float(value)
    return PlantParams(**values)


def fmt(value: Any) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def markdown_table() -> str:
    """The parameter table of docs/plant-model.md, generated from the declarations above."""
    lines = ["| parameter | unit | default | range | meaning |", "|---|---|---|---|---|"]
    for f in PlantParams.spec():
        m = f.metadata
        lines.append(f"| `{f.name}` | {m['unit']} | {fmt(f.default)} | {fmt(m['min'])}..{fmt(m['max'])} | {m['doc']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
