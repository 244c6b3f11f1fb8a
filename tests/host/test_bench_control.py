"""The control benchmark's own parts: its plant files load, and the physical heat-up minimum is sane."""
from __future__ import annotations

import sys

import pytest

from hipec import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
import control  # noqa: E402

PLANTS = sorted((REPO_ROOT / "bench" / "plants").glob("*.toml"))


@pytest.mark.parametrize("path", PLANTS, ids=[p.stem for p in PLANTS])
def test_every_benchmark_plant_loads(path) -> None:  # type: ignore[no-untyped-def]
    params, plan = control.load(path)
    assert 4.0 <= plan.volume_l <= 6.0 and 400 <= plan.flow_ml_min <= 600
    assert params.perfusate_l == pytest.approx(plan.volume_l)  # the plan fills what the plant holds


def test_heatup_minimum_is_bounded_by_the_outlet_limit() -> None:
    params, plan = control.load(None)
    minimum_s = control.heatup_minimum_s(params, plan)
    # At 500 mL/min the outlet limit (44 degC) lets the inflow reach 42.9 degC within a few line delays.
    assert 30.0 < minimum_s < 600.0
    weaker = control.heatup_minimum_s(params.__class__(heater_max_w=500.0), plan)
    assert weaker > minimum_s


def test_the_emulated_board_runs_the_interpreter_hipec_micropython_names(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """How the control benchmark runs with the chips' single-precision floats (docs/silicon.md)."""
    from hipec.emulator.process import micropython_binary
    default = micropython_binary()
    chosen = tmp_path / "micropython"
    chosen.write_bytes(b"")
    monkeypatch.setenv("HIPEC_MICROPYTHON", str(chosen))
    assert micropython_binary() == str(chosen)
    monkeypatch.setenv("HIPEC_MICROPYTHON", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match="HIPEC_MICROPYTHON=.*absent: no such interpreter"):
        micropython_binary()
    monkeypatch.delenv("HIPEC_MICROPYTHON")
    assert micropython_binary() == default
