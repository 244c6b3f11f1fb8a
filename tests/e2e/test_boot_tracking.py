"""Resets the USB link survives: the board reboots (a power loss of the controller side alone, or its
watchdog) while the cable and the bridge stay connected. The bridge must see the new boot at once,
record the reset with its cause, and store the new boot's records and events under that boot: none
dropped as a "duplicate" of the old boot's, none stored under the old boot, the watchdog_reset alarm
in the record."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from hipec.bridge import BoardLink
from hipec.emulator.mcu import EmulatedMCU
from hipec.report import summarize
from hipec.runner import NOT_STARTED, Plan, SessionError, SessionRunner
from hipec.store import Store
from hipec.tables import protocol

FAULT_AT_MS = 700_000  # in TREATMENT on the default plant (primed and the abdomen filled after about 9 min)


@pytest.mark.parametrize("fault, cause", [("power_loss", "power_on"), ("loop_hang", "watchdog")])
def test_a_reset_the_link_survives_is_recorded_under_the_new_boot(tmp_path: Path, fault: str, cause: str) -> None:
    mcu = EmulatedMCU(speed=None, host_sync=True, port_link=tmp_path / "board")
    mcu.schedule(FAULT_AT_MS, fault)
    store = Store(tmp_path / "record.sqlite")
    mcu.start()
    try:
        with BoardLink(mcu.device) as link:
            runner = SessionRunner(link, store, Plan(duration_min=10.0))
            give_up = threading.Timer(90.0, runner.stop)  # a bridge that never sees the reset waits for ever
            give_up.start()
            try:
                outcome = runner.run()
            finally:
                give_up.cancel()
            assert not runner.stop_requested, "the bridge never followed the board's new boot"
            after = link.request("status")
    finally:
        mcu.stop()
    assert [c for _t, c in mcu.resets] == ["power_on", cause]
    rows = store.telemetry(outcome.session_id)
    boots = sorted({r["boot"] for r in rows})
    assert boots == [1, 2], boots
    for boot in boots:
        # Boot 1 is recorded from the start (the records a slow host let the board make before it are
        # not the session's); the new boot from its first record.
        seqs = [r["seq"] for r in rows if r["boot"] == boot]
        first = seqs[0] if boot == 1 else 1
        assert seqs == list(range(first, seqs[-1] + 1)), f"boot {boot}: records missing or out of order"
    # The second boot's records are there from its first (the board goes on recording in IDLE after the
    # bridge has ended the session), and none went under boot 1.
    assert 1 <= max(r["seq"] for r in rows if r["boot"] == 2) < after["telemetry_next"]
    assert all(r["t_ms"] < FAULT_AT_MS + 1000 for r in rows if r["boot"] == 1)
    events = store.events(outcome.session_id)
    resets = [d for _at, kind, d in events if kind == "board_reset"]
    assert resets == [{"boot_id": 2, "previous_boot_id": 1, "reset_cause": cause}]
    alarms = [(d["alarm"], d["state"]) for _at, kind, d in events if kind == "alarm"]
    if cause == "watchdog":
        assert ("watchdog_reset", "raised") in alarms
    # The board came back in IDLE and does not resume a session by itself: the record says the session
    # was interrupted, and its figures count the first boot's treatment and volume.
    assert rows[-1]["phase"] == protocol.IDLE and after["phase"] == "IDLE"
    assert outcome.phase == "INTERRUPTED" and store.session(outcome.session_id).outcome == "INTERRUPTED"
    summary = summarize(store, outcome.session_id)
    first_boot = [r for r in rows if r["boot"] == 1]
    # minutes carried as seconds / 60: 125 s comes back as 125.00000000000001
    treated_s = max(r["treatment_s"] for r in first_boot)
    assert treated_s > 0 and abs(summary.treatment_min * 60 - treated_s) < 1e-9, (summary.treatment_min, treated_s)
    delivered_ml = max(r["volume_ml"] for r in first_boot) + max(r["volume_ml"] for r in rows if r["boot"] == 2)
    assert abs(summary.delivered_l * 1000 - delivered_ml) < 1e-6, (summary.delivered_l, delivered_ml)


def test_an_alarm_raised_before_start_is_in_the_record(tmp_path: Path) -> None:
    """The inflow probe is open from boot: the board raises control_probe_failed before any bridge
    connects and refuses to start a session it would hold at once. The record holds the alarm as it
    stood when the bridge connected, and the refusal: a session that never started, no phase change."""
    mcu = EmulatedMCU(speed=None, host_sync=True, port_link=tmp_path / "board")
    mcu.inject("probe_open", probe="inflow")
    store = Store(tmp_path / "record.sqlite")
    mcu.start()
    try:
        assert mcu.wait_until(3000)
        with BoardLink(mcu.device) as link:
            with pytest.raises(SessionError, match="control_probe_failed"):
                SessionRunner(link, store, Plan(duration_min=10.0)).run()
            assert link.request("status")["phase"] == "IDLE"
    finally:
        mcu.stop()
    (session,) = store.sessions()
    assert session.outcome == NOT_STARTED
    events = store.events(session.id)
    at_connect = [d["alarms"] for _at, kind, d in events if kind == "alarms_active_at_connect"]
    assert at_connect and "control_probe_failed" in [a[0] for a in at_connect[0]]
    (refused,) = [d["message"] for _at, kind, d in events if kind == "start_refused"]
    assert "control_probe_failed" in refused
    assert [d for _at, kind, d in events if kind == "state"] == []
