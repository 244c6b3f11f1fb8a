"""Operator commands against the emulated board: configuration, calibration, acknowledgement, session
actions, each answering in one line, refusals naming the field and what is allowed."""
from __future__ import annotations

import re
import time

import pytest

from hipec.bridge import BoardLink
from hipec.cli import main
from hipec.emulator.mcu import EmulatedMCU


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_config_set_get_and_refusal(mcu: EmulatedMCU, capsys: pytest.CaptureFixture[str]) -> None:
    port = mcu.device
    assert run(capsys, "config", "set", "kp_w_per_c=12.5", "--port", port) == (
        0, "kp_w_per_c = 12.5 (stored on the board)\n", "")
    assert run(capsys, "config", "get", "kp_w_per_c", "--port", port)[1] == "kp_w_per_c = 12.5\n"
    code, _out, err = run(capsys, "config", "set", "kp_w_per_c=900", "--port", port)
    assert code == 2 and "kp_w_per_c" in err and "0..500" in err
    code, _out, err = run(capsys, "config", "get", "kp", "--port", port)
    assert code == 2 and "unknown setting(s) kp" in err


def test_probe_and_pump_calibration(mcu: EmulatedMCU, capsys: pytest.CaptureFixture[str]) -> None:
    port = mcu.device
    code, out, err = run(capsys, "calibrate", "probe", "--probe", "reservoir", "--reference", "22.3", "--port", port)
    found = re.search(r"reservoir read ([0-9.]+) °C, reference 22.300 °C: offset ([-+0-9.]+) °C stored", out)
    assert code == 0 and found, out + err
    read_c, offset_c = float(found.group(1)), float(found.group(2))
    assert abs(read_c - 22.0) < 0.05 and offset_c == pytest.approx(22.3 - read_c, abs=2e-3)
    with BoardLink(port) as link:
        assert link.request("get_config")["probe_offset_c"][4] == pytest.approx(offset_c, abs=1e-4)
    code, _out, err = run(capsys, "calibrate", "probe", "--probe", "reservoir", "--reference", "30", "--port", port)
    assert code == 2 and "outside -2..2 °C" in err
    code, out, _err = run(capsys, "calibrate", "pump", "--revolutions", "5", "--measured-ml", "52.5", "--port", port)
    match = re.search(r"([0-9.]+) revolutions delivered 52.5 mL: ([0-9.]+) mL/rev stored on the board", out)
    assert code == 0 and match, out
    revolutions, ml_per_rev = float(match.group(1)), float(match.group(2))
    assert 5.0 <= revolutions < 5.1 and ml_per_rev == pytest.approx(52.5 / revolutions, abs=1e-3)


def test_session_actions_and_acknowledgement(mcu: EmulatedMCU, capsys: pytest.CaptureFixture[str]) -> None:
    port = mcu.device
    code, _out, err = run(capsys, "stop", "--port", port)
    assert code == 2 and "stop is not allowed in IDLE" in err
    with BoardLink(port) as link:
        link.request("start")
    # Each action's line, then where it was recorded (no record here: it says so).
    assert run(capsys, "pause", "--port", port)[:2] == (0, "pause: phase now PAUSED\nnot recorded: no record at "
                                                           "hipec-record.sqlite (give the session's record with --db)\n")
    assert run(capsys, "resume", "--port", port)[1].startswith("resume: phase now PRIMING\n")
    code, out, err = run(capsys, "abort", "--port", port)  # not confirmed: nothing done
    assert code == 2 and "abort asks for `abort` typed at a terminal (Abort the session" in err
    assert "give --yes to abort without asking" in err
    assert run(capsys, "abort", "--port", port, "--yes")[1].startswith("abort: phase now ABORTED\n")
    assert run(capsys, "reset", "--port", port)[1].startswith("reset: phase now IDLE\n")
    mcu.inject("air_in_line", duration_s=1.0)
    with BoardLink(port) as link:
        deadline = time.monotonic() + 20
        seen = False
        while time.monotonic() < deadline:
            alarms = {a[0]: a for a in link.request("get_alarms")["alarms"]}
            seen = seen or "air_in_line" in alarms
            if seen and "air_in_line" in alarms and not alarms["air_in_line"][2]:
                break  # raised, latched, its condition gone
            time.sleep(0.05)
    code, out, _err = run(capsys, "ack", "air_in_line", "--port", port)
    assert code == 0 and out.startswith("acknowledged air_in_line; active now:") and "air_in_line" not in out[30:]
