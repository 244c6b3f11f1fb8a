"""The emulated board's hardware: watchdog, power, cable, faults, plant files and the heap cap."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hipec import REPO_ROOT
from hipec.bridge import BoardLink, LinkTimeout
from hipec.emulator.faults import load_faults
from hipec.emulator.mcu import DEFAULT_HEAP_KIB, EmulatedMCU
from hipec.emulator.params import load_plant
from hipec.flash import settings_record
from hipec.tables import protocol


def wait_for(predicate, timeout_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_hung_loop_is_reset_by_the_watchdog_into_a_safe_idle_board(mcu: EmulatedMCU, link: BoardLink) -> None:
    link.request("start")
    wait_for(lambda: any(s.heater_pm > 0 for s in mcu.truth))
    mcu.inject("loop_hang")
    wait_for(lambda: len(mcu.resets) == 2)
    at_ms, cause = mcu.resets[1]
    assert cause == "watchdog"
    hello = link.request("hello")
    assert hello["reset_cause"] == "watchdog"
    assert link.request("status")["phase"] == "IDLE"
    reset_at = mcu.now_ms
    wait_for(lambda: mcu.now_ms > reset_at + 5000)
    after = [s for s in mcu.truth if s.t_ms > reset_at]
    assert after and all(s.heater_pm == 0 for s in after)


def test_power_loss_reboots_with_ram_lost_and_heater_off(mcu: EmulatedMCU, link: BoardLink) -> None:
    link.request("start")
    wait_for(lambda: any(s.heater_pm > 0 for s in mcu.truth))
    mcu.inject("power_loss", off_s=10.0)
    wait_for(lambda: len(mcu.resets) == 2)
    assert mcu.resets[1][1] == "power_on"
    status = link.request("status")
    assert status["phase"] == "IDLE" and status["uptime_ms"] < 60000
    off = [s for s in mcu.truth if mcu.resets[1][0] - 10000 < s.t_ms <= mcu.resets[1][0]]
    assert off and all(s.heater_pm == 0 and s.flow_ml_min == 0 for s in off)


def test_unplugged_cable_times_out_and_replug_recovers_the_missed_records(
        mcu: EmulatedMCU, tmp_path: Path) -> None:
    port = str(tmp_path / "board")
    with BoardLink(port, reply_timeout_s=0.3, retries=1) as link:
        link.request("start")
        before = link.request("status")["telemetry_next"]
        mcu.inject("link_unplug")
        with pytest.raises((LinkTimeout, OSError)):
            link.request("status")
    unplugged_at = mcu.now_ms
    wait_for(lambda: mcu.now_ms > unplugged_at + 30000)
    mcu.inject("link_replug")
    with BoardLink(port) as link:
        reply = link.request("telemetry_pull", {"since": before, "max": protocol.PULL_MAX_RECORDS})
        assert reply["records"][0][0] == before
        assert link.request("status")["telemetry_next"] > before + 25


def test_probe_open_circuit_stops_heating(mcu: EmulatedMCU, link: BoardLink) -> None:
    link.request("start")
    wait_for(lambda: any(s.heater_pm > 0 for s in mcu.truth))
    mcu.inject("probe_open", probe="inflow")
    wait_for(lambda: link.request("status")["phase"] == "FAULT")
    status = link.request("status")
    assert status["fault"] == "control_probe_failed" and status["heater_w"] == 0.0
    assert status["temps_c"]["inflow"] is None
    events = [m for m in link.events if m.type == "state"]
    assert events[-1].fields["phase"] == "FAULT" and events[-1].fields["fault"] == "control_probe_failed"


def test_plant_file_changes_the_emulated_patient_without_code(tmp_path: Path) -> None:
    plant_file = tmp_path / "warm.toml"
    plant_file.write_text("perfusate_start_c = 37.0\ncore_start_c = 38.0\nprobe_noise_c = 0.0\n")
    board = EmulatedMCU(params=load_plant(plant_file), speed=None)
    board.start()
    try:
        with BoardLink(board.device) as link:
            wait_for(lambda: board.now_ms > 5000)
            temps = link.request("status")["temps_c"]
        assert temps["reservoir"] == pytest.approx(37.0, abs=0.05)
        assert temps["abdominal_1"] == pytest.approx(38.0, abs=0.05)  # the empty cavity reads the patient
    finally:
        board.stop()


def test_scheduled_drug_addition_cools_the_reservoir(tmp_path: Path) -> None:
    faults_file = tmp_path / "faults.toml"
    faults_file.write_text('[[fault]]\nat_s = 20\nkind = "drug_added"\nvolume_l = 1.0\ntemp_c = 5.0\n')
    board = EmulatedMCU(speed=None, faults=load_faults(faults_file))
    board.start()
    try:
        assert board.wait_until(25000)
        by_second = {s.t_ms // 1000: s.temps_c["reservoir"] for s in board.truth}
        assert by_second[19] == pytest.approx(22.0, abs=0.01)
        assert by_second[21] < 19.0  # (4.55 L at 22 + 1 L at 5) / 5.55 L = 18.9 degC
    finally:
        board.stop()


def test_heap_cap_is_real_firmware_does_not_fit_in_64_kib() -> None:
    board = EmulatedMCU(speed=None, heap_kib=64)
    board.start()
    try:
        wait_for(lambda: board.halted or len(board.resets) > 1, timeout_s=30)
        assert "MemoryError" in board.stderr_tail()
    finally:
        board.stop()


def test_hipec_emulate_prints_the_device_first_and_serves_it(tmp_path: Path) -> None:
    link_path = tmp_path / "port"
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path))  # its own list of running emulators

    def ports() -> str:
        listed = subprocess.run([sys.executable, "-m", "hipec", "ports"], capture_output=True, text=True, timeout=60,
                                env=env)
        assert listed.returncode == 0, listed.stderr
        return listed.stdout

    proc = subprocess.Popen([sys.executable, "-m", "hipec", "emulate", "--speed", "max",
                             "--port-link", str(link_path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        device = proc.stdout.readline().strip()
        assert device.startswith("/dev/pts/")
        assert link_path.resolve() == Path(device).resolve()
        status = subprocess.run([sys.executable, "-m", "hipec", "status", "--port", str(link_path)],
                                capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stderr
        assert status.stdout.startswith("phase IDLE")
        listed = ports()
        assert f"{device} " in listed and "emulated board" in listed and f"pid {proc.pid}" in listed, listed
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0
    assert device not in ports()  # a stopped emulator is no board


def test_bad_plant_file_is_refused_in_one_line(tmp_path: Path) -> None:
    plant_file = tmp_path / "bad.toml"
    plant_file.write_text("perfusate_l = 20\n")
    result = subprocess.run([sys.executable, "-m", "hipec", "emulate", "--plant", str(plant_file)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"hipec emulate: error: {plant_file}: perfusate_l = 20 is outside "
                                     "the range 3.0..8.0 L")


def test_the_board_boots_with_heap_to_spare_and_its_whole_stored_configuration(tmp_path: Path) -> None:
    """The firmware's import breaks the heap up: the board must boot with a margin below its heap, not
    only just at it, and load a stored record of every setting (a board that fails to boot is no board)."""
    sys.path.insert(0, str(REPO_ROOT / "firmware"))
    from controller.config import Config  # the firmware's own table, every setting at its default
    record = tmp_path / "settings.cbor"
    settings = Config().as_dict()
    settings["kp_w_per_c"] = 12.5
    record.write_bytes(settings_record(settings))
    mcu = EmulatedMCU(heap_kib=DEFAULT_HEAP_KIB - 2, settings_file=record)
    mcu.start()
    try:
        with BoardLink(mcu.device) as link:
            try:
                status = link.request("status")
            except LinkTimeout:
                raise AssertionError(mcu.stderr_tail()) from None
            assert status["phase"] == "IDLE" and status["settings"] == "loaded"
            assert link.request("get_config")["kp_w_per_c"] == 12.5
    finally:
        mcu.stop()
