"""A treatment a board reset interrupted is continued as the same session: `hipec run --resume` finds the
interrupted session, says how much treatment was given and how much remains, and on confirmation pushes
the rest of the plan to the same board and records the new boot under that session; the report's
treatment time counts both boots and reaches the plan's."""
from __future__ import annotations

from pathlib import Path

import pytest

from hipec import cli
from hipec.bridge import BoardLink
from hipec.emulator.mcu import EmulatedMCU
from hipec.report import summarize
from hipec.runner import Plan, Progress, SessionRunner
from hipec.store import Store

POWER_LOSS_AT_MS = 700_000  # in TREATMENT on the default plant (about 1.5 min of it given)
PLAN = Plan(duration_min=4.0)


def test_an_interrupted_treatment_is_continued_for_the_time_that_remains(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    port = tmp_path / "board"
    db = tmp_path / "record.sqlite"
    mcu = EmulatedMCU(speed=None, host_sync=True, port_link=port, settings_file=tmp_path / "flash.cbor")
    mcu.schedule(POWER_LOSS_AT_MS, "power_loss", off_s=5.0)
    mcu.start()
    try:
        store = Store(db)
        with BoardLink(str(port)) as link:
            first = SessionRunner(link, store, PLAN).run()
        assert first.phase == "INTERRUPTED"
        given_s = summarize(store, first.session_id).treatment_min * 60.0
        assert 0 < given_s < PLAN.duration_min * 60 - 60
        store.close()
        capsys.readouterr()
        monkeypatch.setattr("builtins.input", lambda _prompt: "no")
        assert cli.main(["run", "--resume", "--port", str(port), "--db", str(db), "--headless"]) == cli.EXIT_USAGE
        said = capsys.readouterr().out
        assert f"interrupted by a board reset after {given_s / 60.0:.1f} of 4 min" in said
        assert "stays ended INTERRUPTED" in said
        monkeypatch.setattr("builtins.input", lambda _prompt: "yes")
        status = cli.main(["run", "--resume", "--port", str(port), "--db", str(db), "--headless"])
        said = capsys.readouterr().out
    finally:
        mcu.stop()
    store = Store(db)
    assert len(store.sessions()) == 1
    session = store.session(first.session_id)
    assert f"session 1 (continued) ended {session.outcome}" in said
    assert status == cli.session_exit(str(session.outcome))
    events = store.events(first.session_id)
    (cont,) = [d for _at, kind, d in events if kind == "continuation"]
    assert cont["boot_id"] == 2 and cont["treatment_given_s"] == int(given_s)
    assert cont["duration_min"] == round(PLAN.duration_min - given_s / 60.0, 1)
    (restart,) = [d for _at, kind, d in events if kind == "operator" and d.get("continuation")]
    assert restart["confirmed"] == "typed yes"  # recorded as every other confirmation is
    from hipec.report import record_sections
    (course,) = [s for s in record_sections(store, first.session_id, None, []) if s.title == "Course of the session"]
    interruptions = dict(course.rows)["interruptions"]
    assert f"after {given_s / 60.0:.1f} min of treatment; continued on boot 2 for the {cont['duration_min']:g} min " \
        "that remained" in interruptions, interruptions
    rows = store.telemetry(first.session_id)
    assert sorted({r["boot"] for r in rows}) == [1, 2]
    for boot in (1, 2):
        seqs = [r["seq"] for r in rows if r["boot"] == boot]
        assert seqs == sorted(set(seqs)), f"boot {boot}: records duplicated or out of order"
    assert [r["phase"] for r in rows if r["boot"] == 2][-1] != 0  # boot 2 ran a session, not only IDLE


def test_the_continued_treatment_completes_its_planned_time(tmp_path: Path) -> None:
    """A warm restart: the element's stored heat goes on warming the fluid standing in the heat exchanger
    after the power loss, past the 45.0 degC cut-off about 20 s later (over_temperature raises at rest).
    However soon the host asks, the board starts only once that fluid has cooled below the highest
    setpoint; the operator acknowledges the alarm whose cause is gone; PRIMING flushes the slug to the
    reservoir and the predictor starts from what the exchanger outlet reads, so priming neither faults
    nor overshoots, and the continued treatment gets its whole remaining time."""
    from hipec import continuation

    mcu = EmulatedMCU(speed=None, host_sync=True, port_link=tmp_path / "board")
    mcu.schedule(POWER_LOSS_AT_MS, "power_loss", off_s=5.0)
    mcu.start()
    offered: list[list[str]] = []
    try:
        store = Store(tmp_path / "record.sqlite")
        with BoardLink(mcu.device) as link:
            first = SessionRunner(link, store, PLAN).run()
            outcome = continuation.continue_session(SessionRunner(link, store, PLAN), first.session_id,
                                                    lambda names: offered.append(names) is None)
    finally:
        mcu.stop()
    assert outcome.phase == "COMPLETE", outcome.fault
    events = store.events(first.session_id)
    waits = [d["message"] for _at, kind, d in events if kind == "start_waits"]
    assert waits and "heat exchanger" in waits[0], waits
    assert offered == [["over_temperature"]]
    (acked,) = [d for _at, k, d in events if k == "operator" and d["action"] == "acknowledge"]
    assert acked["alarms"] == ["over_temperature"] and acked["boot_id"] == 2
    # The continuation's start is placed where the second boot is in the session's time, not at its origin.
    from hipec.bedside import clock
    from hipec.record_data import operator_actions, session_clock
    timeline = session_clock(store.telemetry(first.session_id))
    boot1_s = (timeline.spans[1][1] - timeline.spans[1][0]) / 1000.0
    starts = [a for a in operator_actions(store, first.session_id) if a.action == "start"]
    assert starts[0].at == clock(0.0) and starts[-1].values == "continuing the interrupted treatment"
    minutes, seconds = starts[-1].at.split(":")
    assert int(minutes) * 60 + int(seconds) >= int(boot1_s), (starts[-1].at, boot1_s)
    rows = store.telemetry(first.session_id)
    boot2 = [r for r in rows if r["boot"] == 2 and r["phase"] != 0]
    assert max(r["heater_outlet_mc"] for r in boot2) < 45_000  # the slug cooled standing, not pumped
    # The wait at rest is in the record: the slug's peak after the power loss, and no record of boot 2 missing
    # without a gap recorded.
    at_rest = [r for r in rows if r["boot"] == 2 and r["phase"] == 0]
    assert max(r["heater_outlet_mc"] for r in at_rest) >= 45_000
    seqs = [r["seq"] for r in rows if r["boot"] == 2]
    gaps = [d for _at, k, d in events if k == "gap" and d.get("boot_id") == 2]
    assert seqs == list(range(seqs[0], seqs[-1] + 1)) and (seqs[0] == 1 or gaps), (seqs[:3], gaps)
    total_min = summarize(store, first.session_id).treatment_min
    assert abs(total_min - PLAN.duration_min) <= 0.1 + 1 / 60.0, total_min


def test_a_board_that_reset_while_the_bridge_was_stopped_ends_the_session_interrupted_on_resume(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The bridge dies in TREATMENT, the board loses power before it is started again: --resume finds a
    new boot, records the reset with its cause and what the new boot logged, and ends the session
    INTERRUPTED (exit 3) instead of leaving it open for ever."""
    port = tmp_path / "board"
    db = tmp_path / "record.sqlite"
    mcu = EmulatedMCU(speed=None, host_sync=True, port_link=port)
    mcu.start()

    class Killed(Exception):
        pass

    def die_in_treatment(p: Progress) -> None:
        if p.phase == "TREATMENT":
            raise Killed

    try:
        store = Store(db)
        with BoardLink(str(port)) as link:
            with pytest.raises(Killed):
                SessionRunner(link, store, PLAN, die_in_treatment).run()
        store.close()
        mcu.inject("power_loss", off_s=2.0)
        assert mcu.wait_until(mcu.now_ms + 4000)
        capsys.readouterr()
        status = cli.main(["run", "--resume", "--port", str(port), "--db", str(db), "--headless"])
        said = capsys.readouterr().out
        assert cli.main(["status", "--port", str(port), "--db", str(db)]) == cli.EXIT_OK
        told = capsys.readouterr().out
        assert cli.main(["status", "--port", str(port), "--db", str(tmp_path / "another.sqlite")]) == cli.EXIT_OK
        not_told = capsys.readouterr().out
    finally:
        mcu.stop()
    offer = f"`hipec run --resume --port {port} --db {db}` offers to continue it"
    assert offer in said  # the end line says how the treatment goes on
    assert f"session 1 in {db} was interrupted by a reset of this board: {offer}" in told
    assert "interrupted" not in not_told  # a record without that session says nothing of it
    store = Store(db)
    (session,) = store.sessions()
    assert session.outcome == "INTERRUPTED" and session.ended_at is not None
    assert status == cli.EXIT_SESSION_NOT_COMPLETE and "ended INTERRUPTED" in said
    resets = [d for _at, kind, d in store.events(session.id) if kind == "board_reset"]
    assert resets == [{"boot_id": 2, "previous_boot_id": 1, "reset_cause": "power_on"}]
    assert [r["seq"] for r in store.telemetry(session.id) if r["boot"] == 2][:1] == [1]
