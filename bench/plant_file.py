"""A bench plant file: the plant (docs/plant-model.md), the plan the board runs on it, and the settings the
site stores on the board.

    # top-level `name = value` lines and/or a [plant] table: plant parameters
    [plan]      target_temp_c, duration_min, volume_l, flow_ml_min, controlled_point (defaults: the
                standard session)
    [config]    board settings sent with set_config before the session (the board checks them)

Every problem is one PlantFileError line naming the file, the key, the value and what is allowed.
settings_record() turns a [config] into the record the board keeps in its flash.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import sys
from pathlib import Path
from typing import Any

from hipec import REPO_ROOT
from hipec.emulator.params import PlantFileError, PlantParams, params_from_dict, read_toml, split_plant_file
from hipec.plan_rules import CONTROLLED_POINTS
from hipec.runner import Plan

sys.path.insert(0, str(REPO_ROOT / "firmware"))
from controller import config as fw_config  # noqa: E402
from controller import settings as fw_settings  # noqa: E402
from controller import wire as fw_wire  # noqa: E402

PLAN_KEYS = tuple(f.name for f in dataclasses.fields(Plan))


def load_all(path: Path | None) -> tuple[PlantParams, Plan, dict[str, Any]]:
    """The plant's parameters, the plan and the board's settings of a plant file (None: the defaults)."""
    if path is None:
        return PlantParams(), Plan(), {}
    plant, tables = split_plant_file(read_toml(path), str(path), ("plan", "config"))
    return (params_from_dict(plant, str(path)), plan_from_dict(tables.get("plan", {}), str(path)),
            dict(tables.get("config", {})))


def load(path: Path | None) -> tuple[PlantParams, Plan]:
    params, plan, _config = load_all(path)
    return params, plan


def plan_from_dict(data: dict[str, Any], source: str) -> Plan:
    """A [plan] table, each key known and of its kind (the board checks the ranges when it is sent)."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in PLAN_KEYS:
            near = difflib.get_close_matches(key, PLAN_KEYS, n=1)
            hint = f"did you mean {near[0]}? " if near else ""
            raise PlantFileError(f"{source}: [plan] has no key '{key}'; {hint}its keys: {', '.join(PLAN_KEYS)}")
        if key == "controlled_point":
            if value not in CONTROLLED_POINTS:
                raise PlantFileError(f"{source}: [plan] controlled_point = {value!r} must be one of: "
                                     f"{', '.join(CONTROLLED_POINTS)}")
            values[key] = value
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise PlantFileError(f"{source}: [plan] {key} = {value!r} must be a finite number")
        else:
            values[key] = float(value)
    return Plan(**values)


class _Flash:
    """What the firmware's settings code writes to: the bytes of one record."""
    record = b""

    def settings_write(self, data: Any) -> None:
        self.record = bytes(data)


def settings_record(config: dict[str, Any]) -> bytes:
    """The board's stored settings with these changes applied, encoded as the firmware stores them (its
    own config and settings code, under CPython); a setting it refuses raises its CommandError. A board
    that boots with it has its converters, calibrations and cut-out set before its first reading."""
    cfg = fw_config.Config()
    cfg.apply(dict(config))
    flash = _Flash()
    fw_settings.save(flash, cfg, fw_wire.PayloadBuffer())
    return flash.record
