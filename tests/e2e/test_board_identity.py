"""Board identity: every board names itself in hello (an emulated board keeps its id beside its flash),
a bridge that reconnects to a port now answered by another board refuses to merge it (an alarm in the
record, nothing of that board stored), and a second emulator cannot take over a port link another holds."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from hipec.bridge import BoardLink
from hipec.emulator.cable import PortLinkBusy
from hipec.emulator.mcu import EmulatedMCU
from hipec.runner import Plan, SessionRunner
from hipec.store import DISCONNECTED, Store


def test_an_emulated_board_keeps_its_identity_across_runs(tmp_path: Path) -> None:
    flash = tmp_path / "flash.cbor"
    ids = []
    boots = []
    for _run in range(2):
        mcu = EmulatedMCU(speed=None, settings_file=flash)
        mcu.start()
        try:
            with BoardLink(mcu.device) as link:
                hello = link.request("hello")
                ids.append(hello["board_id"])
                boots.append(hello["boot_id"])
        finally:
            mcu.stop()
    assert boots == [1, 2]  # a boot of the same board on the next run is a new boot, not boot 1 again
    other = EmulatedMCU(speed=None)
    other.start()
    try:
        with BoardLink(other.device) as link:
            ids.append(link.request("hello")["board_id"])
    finally:
        other.stop()
    assert ids[0] == ids[1] and ids[0].startswith("emulated-") and ids[2] != ids[0]


def test_a_reconnect_to_another_board_merges_nothing(tmp_path: Path) -> None:
    """Board A's cable is pulled and the port the bridge reconnects through now leads to board B (a
    pseudo-terminal number reused): the bridge records the mismatch and no record or event of B."""
    port = tmp_path / "board"
    a = EmulatedMCU(speed=None, host_sync=True, port_link=port)
    b = EmulatedMCU(speed=None, host_sync=True, port_link=tmp_path / "other")
    a.schedule(60_000, "link_unplug")  # never plugged in again
    store = Store(tmp_path / "record.sqlite")
    a.start()
    b.start()
    try:
        b.inject("air_in_line")  # B raises an alarm: it must not reach A's record
        with BoardLink(str(port)) as link:
            runner = SessionRunner(link, store, Plan(duration_min=10.0), reconnect=lambda: BoardLink(b.device),
                                   reconnect_s=2.0)
            outcome = runner.run()
    finally:
        a.stop()
        b.stop()
    assert outcome.phase == DISCONNECTED
    events = store.events(outcome.session_id)
    mismatches = [d for _at, kind, d in events if kind == "board_mismatch"]
    assert len(mismatches) == 1 and mismatches[0]["found"] != mismatches[0]["expected"]
    assert not [d for _at, kind, d in events if kind == "alarm" and d["alarm"] == "air_in_line"]
    assert {r["boot"] for r in store.telemetry(outcome.session_id)} == {1}
    assert all(r["t_ms"] <= 61_000 for r in store.telemetry(outcome.session_id))


def test_a_second_emulator_cannot_take_a_port_link_another_holds(tmp_path: Path) -> None:
    port = tmp_path / "board"
    first = EmulatedMCU(speed=None, port_link=port)
    first.start()
    try:
        second = EmulatedMCU(speed=None, port_link=port)
        with pytest.raises(PortLinkBusy) as refused:
            second.start()
        assert f"held by another emulator (pid {os.getpid()})" in str(refused.value)
        assert os.path.realpath(port) == first.device  # still the first one's board
        second.stop()
    finally:
        first.stop()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # a stopped emulator leaves no link, no lock file
    again = EmulatedMCU(speed=None, port_link=port)  # free once the first has stopped
    again.start()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board", "board.lock"]
    again.stop()
    assert not port.exists() and not port.is_symlink()
