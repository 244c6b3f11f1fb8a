"""A whole default treatment through pyserial, the pseudo-terminal and the firmware under MicroPython."""
from __future__ import annotations

from pathlib import Path

from hipec.bridge import BoardLink
from hipec.emulator.mcu import EmulatedMCU
from hipec.report import summarize
from hipec.runner import Plan, SessionRunner
from hipec.store import Store


def test_default_session_runs_to_complete_and_every_record_is_stored(
        synced_mcu: EmulatedMCU, tmp_path: Path) -> None:
    mcu = synced_mcu
    link = BoardLink(mcu.device)
    hello = link.request("hello")
    assert hello["board"] == "emulated" and hello["reset_cause"] == "power_on"
    store = Store(tmp_path / "record.sqlite")
    outcome = SessionRunner(link, store, Plan()).run()

    assert outcome.phase == "COMPLETE" and outcome.fault == "none"
    assert outcome.phases_seen == ["PRIMING", "HEATING", "TREATMENT", "COOLDOWN", "DRAIN", "COMPLETE"]
    assert outcome.treatment_s == 3600
    rows = store.telemetry(outcome.session_id)
    seqs = [r["seq"] for r in rows]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gap, no duplicate
    assert len(rows) == outcome.records
    phases = link.request("describe")["phases"]
    assert rows[-1]["phase"] == phases.index("COMPLETE")  # followed to the very end
    assert not [e for e in store.events(outcome.session_id) if e[1] == "gap"]
    states = [d["phase"] for _at, kind, d in store.events(outcome.session_id) if kind == "state"]
    assert states == ["PRIMING", "HEATING", "TREATMENT", "COOLDOWN", "DRAIN", "COMPLETE"]

    # The firmware only saw noisy probes; the plant knows what the fluid really did.
    treatment = [s for s in mcu.truth if s.bypass_open is False and s.heater_pm > 0]
    assert treatment
    assert max(s.temps_c["inflow"] for s in mcu.truth) < 44.0
    summary = summarize(store, outcome.session_id)
    assert summary.treatment_min == 60.0
    assert summary.time_in_band_pct > 80.0
    assert mcu.resets == [(0, "power_on")]
    alarms = [e for e in store.events(outcome.session_id) if e[1] == "alarm"]
    assert alarms == []  # a normal session raises no alarm at all
    link.close()


def test_plan_outside_the_absolute_limits_is_refused_and_nothing_changes(link: BoardLink) -> None:
    from hipec.bridge import BoardError
    before = link.request("get_plan")
    try:
        link.request("set_plan", {"target_temp_c": 46.0, "flow_ml_min": 400})
    except BoardError as exc:
        assert exc.code == "bad_field" and exc.field == "target_temp_c"
        assert "37.0..44.0 degC" in exc.message
    else:
        raise AssertionError("a 46 degC plan was accepted")
    assert link.request("get_plan") == before


def test_hipec_run_checks_a_plan_file_records_it_with_its_override_and_runs_it(
        synced_mcu: EmulatedMCU, tmp_path: Path) -> None:
    from hipec import plans
    ask = f'"{plans.UNANSWERED}"'  # filled in as tests/host/plan_files.py does
    filled = (plans.TEMPLATE.replace(f"id = {ask}", 'id = "P-0001"', 1).replace(f"name = {ask}", 'name = "cisplatin"', 1)
              .replace(f"dose_mg = {ask}", "dose_mg = 80.0", 1).replace(f"= {ask}", "= false"))
    from hipec.cli import main

    plan_path = tmp_path / "plan.toml"
    plan_path.write_text(filled.replace("duration_min = 60 ", "duration_min = 2 ").replace(
        "# [[override]]\n", '[[override]]\nfield = "perfusion.duration_min"\n'
                            'reason = "bench demonstration of the whole sequence, no patient"\n'))
    db = tmp_path / "record.sqlite"
    assert main(["run", str(plan_path), "--port", synced_mcu.device, "--db", str(db), "--headless"]) == 0
    store = Store(db)
    events = store.events(1)
    recorded = [d for _at, kind, d in events if kind == "session_plan"]
    assert recorded and recorded[0]["patient_id"] == "P-0001" and recorded[0]["perfusion"]["duration_min"] == 2
    assert [d for _at, kind, d in events if kind == "override"] == [
        {"field": "perfusion.duration_min", "reason": "bench demonstration of the whole sequence, no patient"}]
    assert store.session(1).outcome == "COMPLETE"
    bad = tmp_path / "bad.toml"
    bad.write_text(filled.replace("volume_l = 5.0", "volume_l = 8.0"))
    assert main(["run", str(bad), "--port", synced_mcu.device, "--db", str(db), "--headless"]) == 2


def test_live_dashboard_follows_a_session_to_the_end(synced_mcu: EmulatedMCU, tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from hipec.dashboard import Dashboard, run_live

    plan = Plan(duration_min=1.0)
    screen = io.StringIO()
    with BoardLink(synced_mcu.device) as link:
        runner = SessionRunner(link, Store(tmp_path / "r.sqlite"), plan)
        dashboard = Dashboard(plan, patient="P-7")
        outcome = run_live(runner, dashboard, Console(file=screen, width=120, color_system=None))
    assert outcome.phase == "COMPLETE"
    assert dashboard.phase == "COMPLETE" and dashboard.record is not None
    shown = screen.getvalue()
    assert "patient P-7" in shown and "COMPLETE" in shown and "no active alarm" in shown
