"""The heat balance on a lossy circuit the board was told about (in-process firmware, bench/inprocess.py):
a cold room and an exchanger and lines that lose four times the default. The check evaluates the
circuit's loss at the heated fluid's temperature; at the reservoir's it predicted the inflow 2.5 degC
too hot once the cold return reached the reservoir in HEATING, and faulted a sound circuit."""
from __future__ import annotations

import sys
from dataclasses import replace

from hipec import REPO_ROOT
from hipec.emulator.params import PlantParams
from hipec.runner import Plan
from hipec.tables import protocol

sys.path.insert(0, str(REPO_ROOT / "bench"))
from inprocess import Harness  # noqa: E402

GIVE_UP_S = 1800.0


def test_a_told_lossy_circuit_in_a_cold_room_completes_without_a_heat_balance_alarm() -> None:
    plant = replace(PlantParams(), room_temp_c=17.0, heater_loss_w_per_c=3.0, line_loss_w_per_c=1.0)
    h = Harness(plant, Plan(duration_min=5.0), {"room_temp_c": 17.0, "circuit_loss_w_per_c": 4.0})
    h.send("start")
    raised: set[str] = set()
    phases: set[str] = set()
    t_s = 0.0
    while t_s < GIVE_UP_S:
        h.step()
        t_s += 0.1
        raised.update(h.ctl.alarms.active_names())
        phase = h.ctl.session.phase
        phases.add(phase)
        if phase in (protocol.COOLDOWN, protocol.FAULT):  # the treatment is over, or held
            break
    assert protocol.TREATMENT in phases and h.ctl.session.phase == protocol.COOLDOWN, (h.ctl.session.phase, raised)
    assert "heat_balance" not in raised, raised
    # The prediction stayed well inside the tolerance the whole time the balance was judged.
    assert h.ctl.supervisor.balance.used_max < 0.5, h.ctl.supervisor.balance.used_max
