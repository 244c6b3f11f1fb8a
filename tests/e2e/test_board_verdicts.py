"""The record shows the board's verdicts: on a cascade plan (the cavity held through the inflow
setpoint) the report's time in band is the board's own treatment timer, its in-band share counts the
records the board flagged, and its deviation is the cavity's, not the inflow's."""
from __future__ import annotations

from pathlib import Path

from hipec.bridge import BoardLink
from hipec.emulator.mcu import EmulatedMCU
from hipec.report import summarize
from hipec.runner import Plan, SessionRunner
from hipec.store import Store
from hipec.tables import protocol


def test_a_cascade_sessions_report_equals_the_boards_timer(synced_mcu: EmulatedMCU, tmp_path: Path) -> None:
    plan = Plan(target_temp_c=40.0, duration_min=3.0, flow_ml_min=600.0, controlled_point="abdominal")
    store = Store(tmp_path / "record.sqlite")
    with BoardLink(synced_mcu.device) as link:
        outcome = SessionRunner(link, store, plan).run()
        final = link.request("status")
    assert outcome.phase == "COMPLETE" and final["treatment_s"] == 180
    summary = summarize(store, outcome.session_id)
    assert summary.treatment_min * 60.0 == final["treatment_s"]

    rows = store.telemetry(outcome.session_id)
    treatment = [r for r in rows if r["phase"] == protocol.TREATMENT]
    flagged = [r for r in treatment if r["flags"] & protocol.FLAG_IN_BAND]
    assert summary.time_in_band_pct == 100.0 * len(flagged) / len(treatment)
    # The timer runs exactly while the board's verdict is "in band": one record a second.
    assert abs(len(flagged) - final["treatment_s"]) <= 2
    # What the board controlled was the cavity (mean of the two fitted probes), the inflow ran hotter.
    for r in flagged:
        cavity_mc = (r["abdominal_1_mc"] + r["abdominal_2_mc"]) / 2
        assert abs(r["controlled_mc"] - cavity_mc) <= 1
    assert max(r["inflow_mc"] for r in treatment) > 40500
    assert summary.max_deviation_c <= 0.5
