"""Safe mode on the emulated board: watchdog resets in a row boot it with its stored settings left aside
and every output off; `hipec run` refuses to start on it with one line, `hipec status` says so, and
`hipec leave-safe-mode` ends it, the stored settings loaded again."""
from __future__ import annotations

from pathlib import Path

import pytest

from hipec import cli
from hipec.bridge import BoardLink
from hipec.emulator.mcu import EmulatedMCU

from tests.e2e.test_emulator import wait_for

RESETS_TO_SAFE_MODE = 3  # controller/bootguard.py SAFE_MODE_AFTER_RESETS, as docs/protocol.md states it


def test_a_board_hung_three_times_in_a_row_boots_into_safe_mode(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    port = tmp_path / "board"
    mcu = EmulatedMCU(speed=None, host_sync=True, port_link=port, settings_file=tmp_path / "flash.cbor")
    mcu.start()
    try:
        with BoardLink(str(port)) as link:
            link.request("set_config", {"kp_w_per_c": 31.0})
            # Three hangs 10 s of board time apart: each boot is well inside the 60 s that would restart
            # the count (virtual time, so however loaded the machine).
            first_ms = mcu.now_ms + 3000
            for n in range(RESETS_TO_SAFE_MODE):
                mcu.schedule(first_ms + 10_000 * n, "loop_hang")
            wait_for(lambda: len(mcu.resets) == RESETS_TO_SAFE_MODE + 1, timeout_s=60.0)
            assert [c for _t, c in mcu.resets] == ["power_on"] + ["watchdog"] * RESETS_TO_SAFE_MODE
            hello = link.request("hello")
            assert hello["safe_mode"] == {"resets": RESETS_TO_SAFE_MODE, "after": RESETS_TO_SAFE_MODE}
            status = link.request("status")
            assert status["settings"] == "not applied: safe mode"
            assert link.request("get_config")["kp_w_per_c"] != 31.0
        capsys.readouterr()
        assert cli.main(["run", "--port", str(port), "--db", str(tmp_path / "r.sqlite"), "--yes", "--headless"]) \
            == cli.EXIT_USAGE
        refusal = capsys.readouterr().err.strip()
        assert refusal.count("\n") == 0
        assert "safe mode after 3 watchdog resets in a row" in refusal and "hipec leave-safe-mode" in refusal
        assert cli.main(["status", "--port", str(port)]) == cli.EXIT_OK
        assert "safe mode" in capsys.readouterr().out
        since = mcu.now_ms
        wait_for(lambda: mcu.now_ms > since + 3000)
        assert all(s.heater_pm == 0 and s.flow_ml_min == 0 for s in mcu.truth if s.t_ms > since)
        assert cli.main(["leave-safe-mode", "--port", str(port)]) == cli.EXIT_OK
        assert "stored settings: loaded" in capsys.readouterr().out
        with BoardLink(str(port)) as link:
            assert link.request("hello")["safe_mode"] is None
            assert link.request("get_config")["kp_w_per_c"] == 31.0
            assert link.request("start")["phase"] == "PRIMING"
    finally:
        mcu.stop()
