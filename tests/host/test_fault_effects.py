"""Every fault kind has its effect in faults.EFFECTS: it changes the plant or the board when it happens,
and a lasting one leaves them as they were when it clears."""
from __future__ import annotations

import dataclasses

import pytest

from hipec.emulator.faults import EFFECTS, KINDS, ONE_SHOT, PROBE_KINDS, apply_fault, make_fault
from hipec.emulator.params import PlantParams
from hipec.emulator.plant import Plant

# Parameters that make a kind do something (its defaults may be no change at all).
VALUES = {"probe_drift": {"offset_c": 1.5, "rate_c_per_min": 0.5}}


class Target:
    """A faults.FaultTarget that records what is done to the board."""

    def __init__(self) -> None:
        self.plant = Plant(PlantParams())
        self.hang = False
        self.calls: list[tuple[str, int]] = []

    def unplug(self) -> None:
        self.calls.append(("unplug", 0))

    def replug(self) -> None:
        self.calls.append(("replug", 0))

    def power_loss(self, off_ms: int) -> None:
        self.calls.append(("power_loss", off_ms))

    def state(self) -> tuple[object, ...]:
        p = self.plant
        return dataclasses.asdict(p.faults), self.hang, tuple(self.calls), p.v_reservoir_l, p.t_reservoir


def test_the_effect_table_names_exactly_the_kinds() -> None:
    assert EFFECTS.keys() == KINDS.keys()


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_kind_acts_when_it_happens_and_a_lasting_one_undoes_itself(kind: str) -> None:
    target = Target()
    before = target.state()
    entry: dict[str, object] = {"kind": kind, **VALUES.get(kind, {})}
    if kind in PROBE_KINDS:
        entry["probe"] = "outflow"
    fault = make_fault(entry)
    apply_fault(target, fault, clear=False)
    assert target.state() != before
    if kind not in ONE_SHOT:
        apply_fault(target, fault, clear=True)
        assert target.state() == before


def test_power_loss_and_drug_added_carry_their_values() -> None:
    target = Target()
    apply_fault(target, make_fault({"kind": "power_loss", "off_s": 2.5}), clear=False)
    volume = target.plant.v_reservoir_l
    apply_fault(target, make_fault({"kind": "drug_added", "volume_l": 0.5, "temp_c": 20.0}), clear=False)
    assert target.calls == [("power_loss", 2500)]
    assert target.plant.v_reservoir_l == pytest.approx(volume + 0.5)
