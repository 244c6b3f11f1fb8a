"""What makes a run repeatable, part by part: the plant's noise depends on its seed and plant time only,
and in lockstep the board's clock goes exactly as far as the host lets it, whatever the host's speed."""
from __future__ import annotations

import threading
import time

from hipec.emulator.pacing import Pacer
from hipec.emulator.params import PlantParams
from hipec.emulator.plant import PROBES, Plant

MSPS_500 = int(500 / 60 / 10 * 3200 * 1000)


def codes_per_tick(reads_per_tick: int, seed: int = 7, ticks: int = 50) -> list[list[int]]:
    plant = Plant(PlantParams(seed=seed, probe_noise_c=0.1))
    plant.faults.probes["outflow"].extra_noise_c = 0.2  # interference draws too
    out = []
    for _ in range(ticks):
        plant.step(0.1, 300, MSPS_500, True)
        for _ in range(reads_per_tick):
            codes = [plant.rtd_code(name) for name in PROBES]
        out.append(codes)
    return out


def test_noise_does_not_depend_on_how_often_the_board_reads() -> None:
    once = codes_per_tick(1)
    assert codes_per_tick(4) == once  # a board that asks again between ticks (host requests) sees the same
    assert codes_per_tick(1, seed=8) != once
    assert len({tuple(c) for c in once}) > 40  # and it is noise: it changes from tick to tick


def test_noise_within_a_tick_is_one_draw_and_the_next_tick_another() -> None:
    plant = Plant(PlantParams(probe_noise_c=0.2))
    plant.step(0.04, 0, 0, True)
    first = plant.rtd_code("inflow")
    plant.step(0.05, 0, 0, True)  # still the same 100 ms tick of plant time
    assert plant.rtd_code("inflow") == first
    later = []
    for _ in range(20):
        plant.step(0.1, 0, 0, True)
        later.append(plant.rtd_code("inflow"))
    assert len(set(later)) > 5


def test_lockstep_runs_to_the_gate_parks_there_and_serves_the_host_at_that_instant() -> None:
    pacer = Pacer(None, host_sync=False, host_plugged=lambda: True, lockstep=True)
    reached: list[int] = []
    stop = threading.Event()

    def board() -> None:  # a board ticking every 100 ms of virtual time, as the firmware idles
        now = 0
        while not stop.is_set():
            now = pacer.pace(now, now + 100 - now % 100)
            reached.append(now)

    thread = threading.Thread(target=board, daemon=True)
    thread.start()
    assert pacer.run_until(1000, 10.0, lambda: True)
    time.sleep(0.2)  # however long the host takes, the board waits at the gate
    assert reached[-1] == 1000 and max(reached) == 1000
    served = len(reached)
    pacer.host_spoke(1000)  # a request: served at 1000 ms, the clock does not move
    deadline = time.monotonic() + 5.0
    while len(reached) == served and time.monotonic() < deadline:
        time.sleep(0.01)
    assert reached[served] == 1000 and max(reached) == 1000
    assert pacer.run_until(1250, 10.0, lambda: True)
    assert max(reached) == 1250
    assert [t for t in reached if t > 1000] == [1100, 1200, 1250]
    stop.set()
    pacer.wake()
    thread.join(2.0)


def test_run_until_gives_up_on_a_board_that_is_not_alive() -> None:
    pacer = Pacer(None, host_sync=False, host_plugged=lambda: True, lockstep=True)
    assert not pacer.run_until(1000, 5.0, lambda: False)
