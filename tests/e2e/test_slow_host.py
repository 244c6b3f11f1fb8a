"""A host that is merely slow is not a lost link: at 90x (the demo's speed) a bridge that pauses 0.2 s of
wall time between requests (18 s of board time at that speed, a loaded machine's hiccup) sees no
`link_lost`, because the paced board falls back to real time once the host has been silent for 2.5 s
of its time; a host that goes silent for good is still found, at real time."""
from __future__ import annotations

import time

from hipec.bridge import BoardLink
from hipec.emulator.mcu import EmulatedMCU
from hipec.emulator.pacing import HOST_SYNC_MS

DEMO_SPEED = 90.0
HOST_PAUSE_S = 0.2  # 18 s of board time at 90x: several link timeouts (5 s) if the board ran on


def test_a_slow_host_at_demo_speed_raises_no_link_lost() -> None:
    mcu = EmulatedMCU(speed=DEMO_SPEED, host_sync=True)
    mcu.start()
    try:
        with BoardLink(mcu.device) as link:
            link.request("start")
            for _ in range(15):
                time.sleep(HOST_PAUSE_S)
                status = link.request("status")
                assert "link_lost" not in status["alarms"], status["uptime_ms"]
            assert link.request("diagnostics")["link_losses"] == 0
            events = link.request("events_pull", {"since": 0})["events"]
            assert not [e for e in events if e.get("alarm") == "link_lost"]
    finally:
        mcu.stop()


def test_a_host_gone_silent_is_still_found_at_real_time() -> None:
    mcu = EmulatedMCU(speed=DEMO_SPEED, host_sync=True)
    mcu.start()
    try:
        with BoardLink(mcu.device) as link:
            link.request("start")
            silent_from_ms = link.request("status")["uptime_ms"]
            deadline = time.monotonic() + 20.0
            while time.monotonic() < deadline and mcu.now_ms < silent_from_ms + 6000:
                time.sleep(0.1)
            status = link.request("diagnostics")
            assert status["link_losses"] == 1
            # Past the fast 2.5 s, board time went no faster than real time while the host was silent.
            assert status["uptime_ms"] - silent_from_ms >= HOST_SYNC_MS
    finally:
        mcu.stop()
