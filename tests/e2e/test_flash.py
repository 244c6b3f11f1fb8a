"""Deployment end to end without hardware: `hipec flash` drives the real mpremote against an emulated
board at its REPL (raw REPL, raw paste, soft and hard reset, a folder as its filesystem); the emulated
MCU then boots from that folder and the bridge talks to it."""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from hipec.bridge import BoardLink
from hipec.cli import main
from hipec.emulator.mcu import EmulatedMCU
from hipec.emulator.repl_device import ReplDevice
from hipec.flash import files_for


def test_flash_check_and_boot_from_the_flashed_filesystem(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    fs = tmp_path / "board-fs"
    port = tmp_path / "port"
    config = tmp_path / "site.toml"
    config.write_text("[config]\nkp_w_per_c = 12.5\nabdominal_probes = 3\n")
    device = ReplDevice(fs, port_link=port)
    device.start()
    try:
        assert main(["flash", "--board", "emulated", "--port", str(port), "--config", str(config)]) == 0
        out = capsys.readouterr().out
        expected = files_for("emulated")
        assert f"wrote {len(expected) + 1} of {len(expected) + 1} files" in out and "verified by SHA-256" in out
        for f in expected:
            assert hashlib.sha256((fs / f.remote).read_bytes()).hexdigest() == f.sha256, f.remote
        deadline = time.monotonic() + 10
        while device.hard_resets < 1:  # `mpremote reset`: machine.reset() ended the interpreter
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert main(["flash", "--board", "emulated", "--port", str(port), "--check"]) == 0
        assert "match the emulated build" in capsys.readouterr().out
        (fs / "controller" / "heater.mpy").write_bytes(b"not bytecode")
        assert main(["flash", "--board", "emulated", "--port", str(port), "--check"]) == 3
        assert "differs: controller/heater.mpy" in capsys.readouterr().out
        assert main(["flash", "--board", "emulated", "--port", str(port)]) == 0
        assert "wrote 1 of" in capsys.readouterr().out
    finally:
        device.stop()
    board = EmulatedMCU(speed=None, device_dir=fs)
    board.start()
    try:
        with BoardLink(board.device) as link:
            assert link.request("hello")["board"] == "emulated"
            status = link.request("status")
            assert status["phase"] == "IDLE" and status["settings"] == "loaded"
            config_now = link.request("get_config")
            assert config_now["kp_w_per_c"] == 12.5 and config_now["abdominal_probes"] == 3
    finally:
        board.stop()


def test_flash_first_asks_a_running_firmware_for_its_repl(mcu: EmulatedMCU) -> None:
    from hipec.flash import release_repl

    assert release_repl(mcu.device) is True  # the firmware answered: enter_repl, outputs off
    deadline = time.monotonic() + 10
    while not mcu.in_repl:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    _at, heater_pm, heater_relay, pump_msps, bypass_open = mcu.output_log[-1]
    assert (heater_pm, heater_relay, pump_msps, bypass_open) == (0, False, 0, True)
