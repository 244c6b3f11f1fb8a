"""A whole 60-minute session while the cable is pulled at 20 random moments and the bridge process is
stopped (SIGTERM), then killed (SIGKILL), and started again each time: the record ends with every
telemetry record exactly once, in order."""
from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

from hipec.bridge import BoardLink
from hipec.emulator.mcu import EmulatedMCU
from hipec.store import Store

DROPS = 20
KILLS_AT_S = (900, 2400)  # board time of the two bridge kills


def wait_for_board_time(mcu: EmulatedMCU, at_s: float, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while mcu.now_ms < at_s * 1000:
        assert time.monotonic() < deadline and not mcu.failed, "board time did not advance"
        time.sleep(0.02)


def test_no_record_lost_or_duplicated_through_link_drops_and_bridge_kills(tmp_path: Path) -> None:
    port = tmp_path / "board"
    mcu = EmulatedMCU(speed=None, host_sync=True, port_link=port)
    rng = random.Random(20261126)
    drops = sorted(rng.uniform(60.0, 4300.0) for _ in range(DROPS))
    for at_s in drops:
        mcu.schedule(int(at_s * 1000), "link_unplug")
        mcu.schedule(int((at_s + rng.uniform(0.3, 1.5)) * 1000), "link_replug")
    db = tmp_path / "record.sqlite"
    command = [sys.executable, "-m", "hipec", "run", "--port", str(port), "--db", str(db), "--headless", "--yes"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    mcu.start()
    try:
        bridge = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for n, kill_at_s in enumerate(KILLS_AT_S):
            wait_for_board_time(mcu, kill_at_s)
            if n == 0:  # stopped as a service manager stops it: it says how to carry on
                bridge.terminate()
                said, _ = bridge.communicate(timeout=60)
                assert bridge.returncode == 130, said
                assert said.endswith("hipec run: the bridge was stopped; the board carries on with session 1 and "
                                     "pauses with the heater off once no bridge has spoken for its grace period; "
                                     f"`hipec run --resume --port {port} --db {db}` carries on following it\n"), said
            else:  # killed outright: nothing said, nothing lost
                bridge.kill()
                bridge.wait()
            bridge = subprocess.Popen(command + ["--resume"], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
        output, _ = bridge.communicate(timeout=300)
        assert bridge.returncode == 0, output
        with BoardLink(str(port)) as link:
            status = link.request("status")
            phases = link.request("describe")["phases"]
    finally:
        mcu.stop()
    assert status["phase"] == "COMPLETE"
    store = Store(db)
    assert [s.id for s in store.sessions()] == [1] and store.session(1).outcome == "COMPLETE"
    rows = store.telemetry(1)
    seqs = [r["seq"] for r in rows]
    assert {r["boot"] for r in rows} == {1}
    assert seqs == list(range(seqs[0], seqs[-1] + 1))  # every record, once, in order
    # The last bridge stored only the end of the session; what it says is the record's count, and its own part.
    said = re.search(rf"session 1 ended COMPLETE \(fault: none\); (\d+) records stored in {re.escape(str(db))} "
                     rf"\((\d+) by this bridge\)", output)
    assert said and int(said.group(1)) == len(rows) and 0 < int(said.group(2)) < len(rows), output
    assert rows[-1]["phase"] == phases.index("COMPLETE")  # followed to the session's end
    assert seqs[-1] < status["telemetry_next"]
    kinds = [kind for _at, kind, _d in store.events(1)]
    assert kinds.count("bridge_resumed") == 2
    assert kinds.count("link_lost") >= 5 and "gap" not in kinds
    states = [d["phase"] for _at, kind, d in store.events(1) if kind == "state"]
    assert states == ["PRIMING", "HEATING", "TREATMENT", "COOLDOWN", "DRAIN", "COMPLETE"]
