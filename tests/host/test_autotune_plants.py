"""The autotune on plant variants (in-process firmware, bench/inprocess.py): it finds the longer line of
the long-line circuit, and the settings it stores hold the requirement."""
from __future__ import annotations

import sys

from hipec import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
import autotune  # noqa: E402

PLANTS = REPO_ROOT / "bench" / "plants"


def test_autotune_identifies_each_circuit_and_its_settings_hold_the_band() -> None:
    default = autotune.evaluate(PLANTS / "default.toml")
    long_lines = autotune.evaluate(PLANTS / "long-lines.toml")
    for row in (default, long_lines):
        for name in ("heater_volume_ml", "inflow_line_ml"):
            identified, true = row[name]["identified"], row[name]["true"]
            assert abs(identified - true) < 0.3 * true, (row["plant"], name, identified, true)
        assert row["outcome"] == "COMPLETE" and row["alarms_raised"] == []
        assert row["max_abs_error_c"] <= 0.10
    # Twice the line volume: a longer dead time, a longer identified line, a gentler gain.
    assert long_lines["dead_time_s"] > 1.5 * default["dead_time_s"]
    assert long_lines["kp_w_per_c"] < default["kp_w_per_c"]
