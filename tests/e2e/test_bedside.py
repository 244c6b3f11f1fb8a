"""The bedside against the emulated board: a mistyped core temperature faults the session and is
corrected, acknowledged and resumed without a power cycle, from the dashboard and from the command
line; entries expire; a FAULTed board is not started; and every action is in the record."""
from __future__ import annotations

import queue
import time
from pathlib import Path
import pytest

from hipec.bridge import BoardLink
from hipec.cli import main
from hipec.dashboard import Action, Dashboard
from hipec.emulator.mcu import EmulatedMCU
from hipec.live import attach
from hipec.runner import Plan, Progress, SessionRunner
from hipec.store import Store
from hipec.record_data import vitals_trend
from hipec.vitals import BY_COMMAND, VITALS_EXPIRED, parse_value


def test_a_slip_in_a_vital_sign_is_corrected_on_the_dashboard_without_a_power_cycle(
        synced_mcu: EmulatedMCU, tmp_path: Path) -> None:
    plan = Plan(duration_min=1.0)
    store = Store(tmp_path / "record.sqlite")
    seen: list[tuple[str, str]] = []
    with BoardLink(synced_mcu.device) as link:
        runner = SessionRunner(link, store, plan)
        dashboard = Dashboard(plan, patient="P-7")
        dashboard.state.vitals.max_age_s = 20.0  # board seconds, for the test: the bedside keeps 15 min
        actions: queue.Queue[Action] = queue.Queue()
        follow = attach(runner, dashboard, actions)
        runner.final_phases = ("COMPLETE", "ABORTED")  # as on the dashboard: a FAULT can be resumed
        stage = [0]

        def on_progress(p: Progress) -> None:
            follow(p)  # carries out what was queued at the previous record
            state = dashboard.state
            if stage[0] == 0 and p.phase == "PRIMING":
                # as typed (`:hr 95`): the board takes the heart rate the bedside parsed
                actions.put(Action("vitals", {"heart_rate_bpm": parse_value(BY_COMMAND["hr"], "95")}))
                actions.put(Action("vitals", {"core_temp_c": 39.8, "confirmed": "typed yes"}))  # meant 37.8
            elif stage[0] == 1 and p.phase == "FAULT":
                seen.append((p.phase, state.reason()))
                critical = [(row.reading, row.limit) for row in state.alarm_rows() if row.name == "core_temp_critical"]
                seen.append(("alarm", str(critical)))
                actions.put(Action("vitals", {"core_temp_c": 37.8}))
                actions.put(Action("ack"))  # the board clears the alarm at its next tick: the cause is gone
            elif stage[0] == 2 and not any(a[0] == "core_temp_critical" for a in state.alarms):
                actions.put(Action("resume", {"confirmed": "typed resume"}))
            elif stage[0] == 3 and p.phase == "PRIMING":
                seen.append((p.phase, state.reason()))
            elif stage[0] == 4 and state.vitals.board.get("heart_rate_bpm") is None:
                seen.append(("expired", ""))  # the heart rate entered at the start, 20 board seconds on
                actions.put(Action("abort", {"confirmed": "typed abort"}))
            else:
                return
            stage[0] += 1

        runner.on_progress = on_progress
        deadline = time.monotonic() + 120

        def stop_if_stuck(p: Progress) -> None:
            on_progress(p)
            if time.monotonic() > deadline:
                runner.stop()  # the assertions below say where it stuck

        runner.on_progress = stop_if_stuck
        outcome = runner.run()
        status = link.request("status")
    assert [phase for phase, _why in seen] == ["FAULT", "alarm", "PRIMING", "expired"]
    assert seen[0][1] == "FAULT: patient core temperature critical: heater off (core_temp_critical)"
    assert seen[1][1] == str([("39.8 °C", "≥ 39.5 °C")])  # the reading and the board's limit, on the dashboard
    assert outcome.phase == "ABORTED" and outcome.phases_seen[:3] == ["PRIMING", "FAULT", "PRIMING"]
    assert status["heart_rate_bpm"] is None and "core_temp_critical" not in status["alarms"]
    operator = [d for _at, kind, d in store.events(outcome.session_id) if kind == "operator"]
    # The heart rate's expiry was the bridge's doing, not an action of the operator's: not in the audit log.
    assert [d["action"] for d in operator][:7] == ["start", "vitals", "vitals", "vitals", "ack", "resume", "abort"]
    expired = [d for _at, kind, d in store.events(outcome.session_id) if kind == VITALS_EXPIRED]
    assert expired[0] == {**expired[0], "heart_rate_bpm": None, "expired": True}  # 20 board seconds after its entry
    assert all(d.get("action") != "vitals" or not d.get("expired") for _at, _kind, d in store.audit(outcome.session_id))
    assert ("-", "expired") in [entry[1:] for entry in vitals_trend(store, outcome.session_id)]
    assert operator[1]["heart_rate_bpm"] == 95 and "refused" not in operator[1]
    assert operator[2]["core_temp_c"] == 39.8 and operator[2]["confirmed"] == "typed yes"
    assert operator[3]["core_temp_c"] == 37.8 and "refused" not in operator[3]
    assert all("session_s" in d for d in operator[1:] + expired)
    alarms = [(d["alarm"], d["state"]) for _at, kind, d in store.events(outcome.session_id) if kind == "alarm"]
    assert ("core_temp_critical", "raised") in alarms and ("core_temp_critical", "cleared") in alarms


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_faulted_board_is_not_started_and_is_put_right_from_the_command_line(
        mcu: EmulatedMCU, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port, db = mcu.device, tmp_path / "record.sqlite"
    with BoardLink(port) as link:
        link.request("start")
        link.request("set_vitals", {"core_temp_c": 39.8})
        deadline = time.monotonic() + 10
        while link.request("status")["phase"] != "FAULT" and time.monotonic() < deadline:
            time.sleep(0.02)
    code, out, err = run(capsys, "run", "--port", port, "--db", str(db), "--yes", "--headless")
    assert code == 2 and out.startswith("no plan file: the standard bench session (43 °C at the inflow, 60 min")
    assert err == (f"hipec run: not started: the board on {port} is in FAULT (core_temp_critical: patient core "
                   f"temperature critical: heater off); remove the cause, then `hipec ack --port {port}` acknowledges "
                   f"its alarms and `hipec reset --port {port}` returns it to IDLE; or `hipec run --resume --port "
                   f"{port} --db RECORD` (RECORD: the record the session was started with; {db} holds no open "
                   f"session of this board) to carry on that session\n")
    code, out, _err = run(capsys, "status", "--port", port)
    lines = out.splitlines()
    assert code == 0 and all(len(line) < 80 for line in lines)
    assert lines[0].startswith("phase FAULT; treatment 0.0 of 60 min")
    assert lines[1] == "fault: patient core temperature critical: heater off (core_temp_critical)"
    assert lines[2].startswith("probes: inflow ") and "abdominal 3 no reading" in out
    at = lines.index("alarms: patient core temperature critical: heater off (core_temp_critical)")  # high first
    assert lines[at + 1] == "        patient core temperature high (core_temp_high)"
    assert lines[-1] == "patient values held: core 39.8 °C, heart rate none"
    code, out, err = run(capsys, "resume", "--port", port, "--yes")
    assert code == 2 and err == ("hipec resume: error: the board refused: resume is not allowed while these alarms are "
                                 "active: core_temp_critical (acknowledge each once its cause is gone)\n")
    code, out, _err = run(capsys, "vitals", "--port", port, "--core", "37.8")
    assert code == 0 and out.startswith("the board now holds: patient core 37.8 °C, heart rate none\n")
    code, out, err = run(capsys, "vitals", "--port", port, "--core", "38.6")  # a jump from what the board holds
    assert code == 2 and "patient core 38.6 °C is 0.8 °C from the last plausible entry 37.8 °C" in err, err
    assert "give --yes to vitals without asking" in err
    code, out, err = run(capsys, "vitals", "--port", port, "--core", "nan")
    assert code == 2 and err == "hipec vitals: error: core nan: not a number; allowed 30..45 °C, or `core clear`\n"
    assert run(capsys, "ack", "--port", port)[1].startswith("acknowledged all; active now: none\n")
    assert run(capsys, "resume", "--port", port, "--yes")[1].startswith("resume: phase now PRIMING\n")
    assert run(capsys, "abort", "--port", port, "--yes")[1].startswith("abort: phase now ABORTED\n")
    assert run(capsys, "reset", "--port", port)[1].startswith("reset: phase now IDLE\n")
    with BoardLink(port) as link:
        assert link.request("status")["core_temp_c"] is None  # the next session starts with none held
        link.request("start")
        # The board runs at full speed: judge the new session over its own clock while the host keeps talking
        # (a wall-clock pause could outlast the link grace in virtual time and pause it, rightly, as host_absent).
        began_ms = link.request("status")["uptime_ms"]
        phases = set()
        while True:
            status = link.request("status")
            phases.add(status["phase"])
            if status["uptime_ms"] - began_ms >= 2000:
                break
        assert phases == {"PRIMING"}
        link.request("abort")


def test_errors_a_user_meets_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, "status", "--port", "/dev/ttyACM9")
    assert code == 2 and err == "hipec status: error: no serial port /dev/ttyACM9; `hipec ports` lists the boards\n"
    code, _out, err = run(capsys, "status", "--port", "/dev/null")
    assert code == 2 and err == ("hipec status: error: /dev/null is not a serial port (a character device that is not "
                                 "a terminal); `hipec ports` lists the boards\n")
    code, _out, err = run(capsys, "status", "--port", str(tmp_path))
    assert code == 2 and err == f"hipec status: error: {tmp_path} is not a serial port (a folder); `hipec ports` lists the boards\n"
    # The record is checked before the board is asked anything: an acknowledgement is never done unrecorded.
    code, _out, err = run(capsys, "ack", "--port", "/dev/ttyACM9", "--db", str(tmp_path))
    assert code == 2 and err == f"hipec ack: error: {tmp_path} is a folder, not a record file; give the record file with --db\n"
    nowhere = tmp_path / "missing" / "record.sqlite"
    code, _out, err = run(capsys, "run", "--port", "/dev/ttyACM9", "--db", str(nowhere), "--yes")
    assert code == 2 and err.endswith(f"hipec run: error: {nowhere}: the folder {nowhere.parent} does not exist; "
                                      f"create it, or give another record file with --db\n"), err
    not_a_record = tmp_path / "plan.toml"
    not_a_record.write_text("[patient]\n")
    code, _out, err = run(capsys, "run", "--port", "/dev/ttyACM9", "--db", str(not_a_record), "--yes")
    assert code == 2 and err == (f"hipec run: error: {not_a_record} is not a hipec record (file is not a database); "
                                 "give the record file with --db\n")


def test_an_action_after_the_session_ended_is_recorded_as_after_its_end(
        mcu: EmulatedMCU, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hipec.runner import Plan, Progress, SessionRunner
    from hipec.store import Store

    port, db = mcu.device, tmp_path / "record.sqlite"
    store = Store(db)
    with BoardLink(port) as link:
        aborted: list[str] = []

        def abort_in_priming(p: Progress) -> None:
            # Once: a report already on its way when the abort lands still says PRIMING.
            if p.phase == "PRIMING" and not aborted:
                aborted.append(p.phase)
                link.request("abort")

        outcome = SessionRunner(link, store, Plan(duration_min=10.0), abort_in_priming).run()
    assert outcome.phase == "ABORTED" and store.session(outcome.session_id).ended_at is not None
    code, out, _err = run(capsys, "reset", "--port", port, "--db", str(db))
    assert code == 0 and out == (f"reset: phase now IDLE\nrecorded in session {outcome.session_id} of {db}, after its "
                                 f"end (ABORTED)\n"), out
    (after,) = [d for _at, kind, d in Store(db).events(outcome.session_id)
                if kind == "operator" and d["action"] == "reset"]
    assert after["after_end"] is True and after["source"] == "command line"
    from hipec.record_data import operator_actions

    (entry,) = [a for a in operator_actions(Store(db), outcome.session_id) if a.action == "reset"]
    assert entry.values == "after the session had ended; from the command line", entry
