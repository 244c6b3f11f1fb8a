"""The scenario campaign's invariants (bench/scenario_check.py) judge what they are shown: each is given
a made-up run that breaks it and one that keeps it, so that a pass of the campaign means something."""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Sequence

from hipec import REPO_ROOT
from hipec.emulator.world import TruthSample
from hipec.runner import Plan
from hipec.store import Store
from hipec.tables import TELEMETRY_FIELDS

sys.path.insert(0, str(REPO_ROOT / "bench"))
import scenario_check  # noqa: E402
from scenario_gen import Scenario  # noqa: E402
from scenario_run import Done, Observed  # noqa: E402

TEMPS = {"inflow": 43.0, "outflow": 42.0, "abdominal_1": 42.5, "abdominal_2": 42.4, "reservoir": 41.0,
         "abdominal_3": 42.5, "abdominal_4": 42.5}


def sample(t_ms: int, bypass_open: bool = False, **temps: float) -> TruthSample:
    return TruthSample(t_ms, dict(TEMPS, **temps), 37.0, 3.5, 0.0, 500.0, 0.0, 0, True, bypass_open)


def record(seq: int, t_ms: int, alarms: int = 0, treatment_s: int = 0) -> list[int]:
    values = dict.fromkeys(TELEMETRY_FIELDS, 0)
    values.update(seq=seq, t_ms=t_ms, alarms=alarms, treatment_s=treatment_s)
    return [values[name] for name in TELEMETRY_FIELDS]


def run(tmp_path: Path, *, truth: list[TruthSample] | None = None, outputs: list[tuple[int, int, bool, int, bool]] | None = None,
        records: list[list[int]] | None = None, events: Sequence[tuple[str, dict[str, Any]]] = (),
        outcome: str = "ABORTED", exit_status: int = 3, done: list[Done] | None = None,
        resets: list[tuple[int, str]] | None = None, exit_error: str = "") -> scenario_check.Facts:
    tmp_path.mkdir(parents=True, exist_ok=True)
    db = tmp_path / "record.sqlite"
    store = Store(db)
    sid = store.new_session("emulated", "0", {}, {"board_id": "b1"})
    store.add_telemetry(sid, records or [record(1, 1000), record(2, 2000)], boot=1)
    for kind, detail in events:
        store.add_event(sid, kind, detail, detail.get("boot"), detail.get("seq"))
    store.end_session(sid, outcome)
    store.close()
    mcu = SimpleNamespace(truth=truth or [sample(1000)], output_log=outputs or [(0, 0, False, 0, True)],
                          resets=resets or [(0, "power_on")], failed=None)
    seen = Observed(t0_ms=0, session_id=sid, exit_status=exit_status, exit_error=exit_error, board_id="b1",
                    done=done or [Done(0, "start")], final_status={"phase": outcome})
    scenario = Scenario(1, {}, {}, Plan(duration_min=1.0), ())
    return scenario_check.Facts(scenario, mcu, seen, db)  # type: ignore[arg-type]


def test_fluid_reaching_the_patient_at_the_limit_is_a_violation(tmp_path: Path) -> None:
    assert scenario_check.patient_fluid(run(tmp_path, truth=[sample(1000, abdominal_1=45.0)]))
    # the inflow while the bypass returns it to the reservoir does not reach the patient
    assert not scenario_check.patient_fluid(run(tmp_path / "b", truth=[sample(1000, bypass_open=True, inflow=47.0)]))


def test_heating_after_a_heater_off_alarm_without_a_resume_is_a_violation(tmp_path: Path) -> None:
    alarm = ("alarm", {"alarm": "temp_high", "state": "raised", "priority": "high", "t_ms": 1000, "seq": 1, "boot": 1})
    heating_later = [(0, 500, True, 0, False), (1000, 0, False, 0, True), (5000, 400, True, 0, False)]
    assert scenario_check.heater_holds(run(tmp_path, outputs=heating_later, events=[alarm]))
    resumed = [Done(0, "start"), Done(3000, "resume")]
    assert not scenario_check.heater_holds(run(tmp_path / "b", outputs=heating_later, events=[alarm], done=resumed))
    still_on = [(0, 500, True, 0, False), (1300, 0, False, 0, True)]  # off 3 ticks after the alarm
    assert scenario_check.heater_holds(run(tmp_path / "c", outputs=still_on, events=[alarm]))


def test_a_later_boots_times_are_its_own_uptime_on_the_emulators_clock(tmp_path: Path) -> None:
    # An alarm 1.5 s into the second boot, which began 30 s into the run: heating at 2-5 s, in the first
    # boot, was before it; heating at 31.7 s, after it without a resume, is not allowed.
    alarm = ("alarm", {"alarm": "heater_runaway", "state": "raised", "priority": "high", "t_ms": 1500, "seq": 1,
                       "boot": 2})
    resets = [(0, "power_on"), (30000, "power_on")]
    before = [(0, 0, False, 0, True), (2000, 400, True, 0, False), (5000, 0, False, 0, True)]
    assert not scenario_check.heater_holds(run(tmp_path, outputs=before, events=[alarm], resets=resets))
    after = before + [(31700, 400, True, 0, False)]
    assert scenario_check.heater_holds(run(tmp_path / "b", outputs=after, events=[alarm], resets=resets))


def test_a_record_missing_without_a_recorded_gap_is_a_violation(tmp_path: Path) -> None:
    holes = [record(1, 1000), record(2, 2000), record(4, 4000)]
    assert scenario_check.record_integrity(run(tmp_path, records=holes))
    gap = ("gap", {"boot_id": 1, "from": 3, "to": 3})
    assert not scenario_check.record_integrity(run(tmp_path / "b", records=holes, events=[gap]))


def test_an_exit_status_that_does_not_match_the_outcome_is_a_violation(tmp_path: Path) -> None:
    done = [record(1, 1000, treatment_s=60), record(2, 2000, treatment_s=60)]
    assert scenario_check.exit_status(run(tmp_path, records=done, outcome="COMPLETE", exit_status=3))
    assert not scenario_check.exit_status(run(tmp_path / "b", records=done, outcome="COMPLETE", exit_status=0))
    assert scenario_check.exit_status(run(tmp_path / "c", outcome="COMPLETE", exit_status=0))  # 0 of 60 s given


def test_a_session_the_board_refused_to_start_is_a_usage_error_said_in_a_line(tmp_path: Path) -> None:
    said = "the board did not start the session: start is not allowed while these alarms are active"
    assert not scenario_check.exit_status(run(tmp_path, outcome="NOT_STARTED", exit_status=2, exit_error=said))
    assert scenario_check.exit_status(run(tmp_path / "b", outcome="NOT_STARTED", exit_status=3, exit_error=said))
    assert scenario_check.exit_status(run(tmp_path / "c", outcome="NOT_STARTED", exit_status=2))  # nothing said


def test_an_alarm_in_the_record_needs_its_raised_event_on_its_boot_since_the_record_before(tmp_path: Path) -> None:
    # records 3..10 were lost by the ring (a gap): link_lost rose somewhere in it, at 5.5 s
    link_lost = 1 << scenario_check.protocol.ALARM_NAMES.index("link_lost")
    rows = [record(1, 1000), record(2, 2000), record(11, 11000, alarms=link_lost)]
    gap = ("gap", {"boot_id": 1, "from": 3, "to": 10})
    raised = ("alarm", {"alarm": "link_lost", "state": "raised", "priority": "low", "t_ms": 5500, "seq": 1, "boot": 1})
    assert not scenario_check.record_integrity(run(tmp_path, records=rows, events=[gap, raised]))
    assert scenario_check.record_integrity(run(tmp_path / "b", records=rows, events=[gap]))
    on_another_boot = ("alarm", dict(raised[1], boot=2))
    assert scenario_check.record_integrity(run(tmp_path / "c", records=rows, events=[gap, on_another_boot]))
    long_before = ("alarm", dict(raised[1], t_ms=0))  # raised and cleared before the record at 2 s
    assert scenario_check.record_integrity(run(tmp_path / "d", records=rows, events=[gap, long_before]))
