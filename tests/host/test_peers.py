"""The peer comparison runs whole sessions of three controllers on the same plant, and tells them apart."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from hipec import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
import peers  # noqa: E402


def test_three_controllers_same_plant_one_plot(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    plot = tmp_path / "peers.png"
    assert peers.main(["--json", "--plot", str(plot)]) == 0
    out = json.loads(capsys.readouterr().out)
    ours, pid, onoff = (out["controllers"][name] for name in ("firmware", "simple-pid", "on/off"))
    assert ours["outcome"] == "COMPLETE" and ours["max_abs_error_c"] <= 0.10
    # simple-pid ran with the gains the same relay experiment proposed
    assert out["pid_gains"]["kp_w_per_c"] > 0 and pid["treatment_s"] > 0
    assert onoff["time_in_band_pct"] is None or onoff["time_in_band_pct"] < 50.0
    assert plot.stat().st_size > 10_000
