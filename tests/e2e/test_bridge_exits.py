"""The bridge's own outcomes: a second bridge on a board's port is refused naming the holder; a link
that never comes back ends the session as DISCONNECTED with exit status 4, as the README says; a
plan file that cannot be read is a usage error (2), not a link error; a treatment the operator stopped
early is not reported as completed; a run refused before it starts makes no record file."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from hipec.bridge import BoardLink, PortBusy
from hipec.cli import EXIT_LINK, EXIT_SESSION_NOT_COMPLETE, EXIT_USAGE, main, session_exit
from hipec.emulator.mcu import EmulatedMCU
from hipec.runner import STOPPED, Plan, Progress, SessionRunner
from hipec.store import DISCONNECTED, Store


def own_command() -> str:
    with open(f"/proc/{os.getpid()}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode(errors="replace").strip()


def test_a_second_bridge_on_the_port_is_refused_naming_the_holder(
        mcu: EmulatedMCU, capsys: pytest.CaptureFixture[str]) -> None:
    with BoardLink(mcu.device) as first:
        with pytest.raises(PortBusy) as refused:
            BoardLink(mcu.device)
        assert str(refused.value) == (f"{mcu.device} is in use by pid {os.getpid()} ({own_command()}); one bridge "
                                      f"per board: leave that bridge (`q` on its dashboard) or end it (`kill "
                                      f"{os.getpid()}`), then try again")
        # from the command line: one line, a usage error (the operator acts, then tries again)
        assert main(["status", "--port", mcu.device]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert err.startswith(f"hipec status: ") and f"is in use by pid {os.getpid()}" in err and err.count("\n") == 1
        assert first.request("hello")["board"] == "emulated"  # the first bridge is not disturbed
    with BoardLink(mcu.device) as again:  # once it is closed, the port is free
        assert again.request("hello")["board"] == "emulated"


def test_a_run_refused_for_a_busy_port_makes_no_record_file(
        mcu: EmulatedMCU, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A `run` refused because another bridge holds the port made an empty --db file, which the next
    `history` or `report` then showed as a record with no sessions. An existing record is left as it was."""
    new = tmp_path / "new.sqlite"
    existing = tmp_path / "existing.sqlite"
    Store(existing).close()
    before = existing.read_bytes()
    with BoardLink(mcu.device):
        assert main(["run", "--port", mcu.device, "--db", str(new), "--headless"]) == EXIT_USAGE
        assert main(["run", "--port", mcu.device, "--db", str(existing), "--headless"]) == EXIT_USAGE
    assert capsys.readouterr().err.count("is in use by pid") == 2
    assert not new.exists()
    assert existing.read_bytes() == before
    with BoardLink(mcu.device) as again:
        assert again.request("hello")["board"] == "emulated"


def test_a_link_that_never_comes_back_ends_disconnected_with_status_4(tmp_path: Path) -> None:
    mcu = EmulatedMCU(speed=None, host_sync=True, port_link=tmp_path / "board")
    mcu.schedule(60_000, "link_unplug")  # and never plugged in again
    store = Store(tmp_path / "record.sqlite")
    mcu.start()
    try:
        with BoardLink(mcu.device) as link:
            runner = SessionRunner(link, store, Plan(duration_min=10.0), reconnect=lambda: BoardLink(mcu.device),
                                   reconnect_s=2.0)
            outcome = runner.run()
    finally:
        mcu.stop()
    assert outcome.phase == DISCONNECTED and store.session(outcome.session_id).outcome == DISCONNECTED
    assert session_exit(outcome.phase) == EXIT_LINK == 4
    assert session_exit("ABORTED") == 3 and session_exit("COMPLETE") == 0


def test_a_missing_plan_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-plan.toml"
    assert main(["run", str(missing), "--port", str(tmp_path / "no-board"), "--yes"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{missing}: cannot be read (No such file or directory)" in err and err.count("\n") == 1


def test_a_treatment_stopped_early_ends_stopped_with_status_3(tmp_path: Path) -> None:
    """The operator's stop takes the board through COOLDOWN and DRAIN to COMPLETE, but the treatment
    was not given in full: the record says STOPPED and the exit status is not the one of success."""
    mcu = EmulatedMCU(speed=None, host_sync=True, port_link=tmp_path / "board")
    store = Store(tmp_path / "record.sqlite")
    mcu.start()
    try:
        with BoardLink(mcu.device) as link:
            link.request("set_config", {"cooldown_max_s": 30, "drain_s": 10})
            runner = SessionRunner(link, store, Plan(duration_min=10.0))
            stopped = []

            def stop_once_primed(p: Progress) -> None:
                if not stopped and p.phase == "HEATING":
                    stopped.append(link.request("stop")["phase"])

            runner.on_progress = stop_once_primed
            outcome = runner.run()
            board = link.request("status")
    finally:
        mcu.stop()
    assert stopped == ["COOLDOWN"] and board["phase"] == "COMPLETE" and board["treatment_s"] < board["duration_s"]
    assert outcome.phase == STOPPED == store.session(outcome.session_id).outcome
    assert session_exit(outcome.phase) == EXIT_SESSION_NOT_COMPLETE == 3


def test_leaving_the_bridge_while_the_board_carries_on_exits_5_and_says_how_to_come_back(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`q` on the dashboard: the session stays open in the record and the exit status is neither a usage
    error nor a failed session."""
    import argparse

    from hipec.cli import EXIT_LEFT_RUNNING
    from hipec.cli.run import _ended

    port = tmp_path / "board"
    db = tmp_path / "record.sqlite"
    mcu = EmulatedMCU(speed=None, host_sync=True, port_link=port)
    store = Store(db)
    mcu.start()
    try:
        with BoardLink(str(port)) as link:
            runner = SessionRunner(link, store, Plan(duration_min=10.0))

            def leave_in_heating(p: Progress) -> None:
                if p.phase == "HEATING":
                    runner.leave_running = True
                    runner.stop()

            runner.on_progress = leave_in_heating
            outcome = runner.run()
    finally:
        mcu.stop()
    assert not outcome.ended and store.session(outcome.session_id).ended_at is None
    status = _ended(outcome, argparse.Namespace(port=str(port), db=db), store)
    said = capsys.readouterr().out
    assert status == EXIT_LEFT_RUNNING == 5
    assert "left running on the board (HEATING)" in said and f"hipec run --resume --port {port}" in said


def test_a_port_where_no_board_ever_answers_is_a_usage_error_not_a_lost_link(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A serial port with nothing of ours behind it (here a terminal nobody reads) is the wrong port: exit 2,
    as the README says, not 4, which means a link that was there and was lost."""
    controller, terminal = os.openpty()
    try:
        port = os.ttyname(terminal)
        assert main(["run", "--port", port, "--db", str(tmp_path / "record.sqlite"), "--headless"]) == EXIT_USAGE
        assert f"no reply to hello from {port} after 4 tries: is a board running this firmware connected there?" \
            in capsys.readouterr().err
        assert not (tmp_path / "record.sqlite").exists()  # nothing started: no record file made
    finally:
        os.close(controller)
        os.close(terminal)


def test_a_bridge_stopped_at_its_question_says_nothing_started(synced_mcu: EmulatedMCU, tmp_path: Path) -> None:
    """SIGTERM while `hipec run` asks before starting: exit 130 and a line saying nothing started, as for a
    stop later on (the README's 130), not a silent death by the signal."""
    import signal
    import subprocess
    import sys

    bridge = subprocess.Popen([sys.executable, "-m", "hipec", "run", "--port", synced_mcu.device, "--db",
                               str(tmp_path / "record.sqlite")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert bridge.stdout is not None and bridge.stdout.readline().startswith("no plan file")
    bridge.send_signal(signal.SIGTERM)
    _out, err = bridge.communicate(timeout=60)
    assert bridge.returncode == 130, err
    assert "the bridge was stopped before the board was asked to start; nothing started" in err
    with BoardLink(synced_mcu.device) as link:
        assert link.request("status")["phase"] == "IDLE"


def test_run_with_no_terminal_to_ask_at_is_refused_in_one_line(mcu: EmulatedMCU, tmp_path: Path) -> None:
    """`hipec run` asks for yes before it starts a session; from a pipe or a script there is no one to
    type it, and the question ended in an EOFError traceback."""
    import subprocess
    import sys

    db = tmp_path / "record.sqlite"
    done = subprocess.run([sys.executable, "-m", "hipec", "run", "--port", mcu.device, "--db", str(db)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_USAGE, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "typed at a terminal" in lines[0] and "--yes to start" in lines[0], lines[0]
    assert not db.exists()  # nothing was started: no record file made
    with BoardLink(mcu.device) as link:
        assert link.request("status")["phase"] == "IDLE"  # nothing was started
