"""`hipec tune` against the emulated circuit: the relay experiment identifies the heat exchanger and the
line, stores the settings on the board, and they survive a power loss."""
from __future__ import annotations

import time

import pytest

from hipec.bridge import BoardError, BoardLink
from hipec.emulator.mcu import EmulatedMCU
from hipec.emulator.params import PlantParams
from hipec.runner import Plan
from hipec.tune import run_tune


def test_tune_identifies_the_circuit_and_its_settings_survive_a_power_loss(synced_mcu: EmulatedMCU) -> None:
    mcu = synced_mcu
    truth = PlantParams()
    with BoardLink(mcu.device) as link:
        tune = run_tune(link, Plan(), poll_s=0.02)
        result = tune["result"]
        proposed = result["proposed"]
        # The heat exchanger's mixing volume, and the line's transport volume, from one relay experiment
        # (the effective model also carries the element, probe and dispersion lags: within 30 %).
        assert abs(proposed["heater_volume_ml"] - truth.heater_volume_l * 1000) < 0.3 * truth.heater_volume_l * 1000
        assert abs(proposed["inflow_line_ml"] - truth.line_in_volume_l * 1000) < 0.3 * truth.line_in_volume_l * 1000
        status = link.request("status")
        assert status["phase"] == "ABORTED" and status["settings"] == "saved"
        mcu.inject("power_loss", off_s=2.0)
        deadline = time.monotonic() + 30
        while len(mcu.resets) < 2:
            assert time.monotonic() < deadline
            link.keepalive(0.05)
            time.sleep(0.01)
        assert link.request("status")["settings"] == "loaded"
        config = link.request("get_config")
    for name, value in proposed.items():
        assert abs(config[name] - value) < 1e-3 * abs(value), name


def test_an_argument_out_of_range_is_refused_before_the_circuit_is_primed(synced_mcu: EmulatedMCU) -> None:
    """`hipec tune --cycles 20` once primed and heated the circuit for minutes before the board refused
    the experiment's arguments; the board's verdict on them now comes first, and the board stays at rest."""
    with BoardLink(synced_mcu.device) as link:
        for amplitude_w, cycles, field in ((10.0, 20, "cycles"), (999.0, 4, "amplitude_w")):
            with pytest.raises(BoardError) as refused:
                run_tune(link, Plan(), amplitude_w=amplitude_w, cycles=cycles, poll_s=0.02)
            assert refused.value.field == field and "outside" in refused.value.message, refused.value
            assert link.request("status")["phase"] == "IDLE"
