"""The randomized scenario campaign (bench/scenarios.py), a seeded sample of it: twenty scenarios from
seed 1, and the scenarios whose seeds once found a defect, each run through the real bridge on the
emulated MCU and checked against every invariant, one test each so that the suite's workers share them.
`make scenarios` runs the full campaign."""
from __future__ import annotations

import sys

import pytest

from hipec import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
import scenario_gen  # noqa: E402
import scenarios  # noqa: E402

SAMPLE = list(range(1, 21))  # make test's share; `make scenarios` runs 1,000
# Seeds that found a defect, kept so that it stays fixed:
#  109 - a treatment stopped early was reported COMPLETE with exit status 0;
#  201 - after a watchdog reset the board could not answer status (no free block the size of a reply);
#  363 - the bridge killed, the board reset meanwhile: --resume refused and left the session open;
#  658 - a session host_absent had paused heated again on the acknowledgement, before any resume.
FOUND_DEFECTS = [109, 201, 342, 363, 658, 667]


@pytest.mark.parametrize("seed", SAMPLE + FOUND_DEFECTS)
def test_a_seeded_scenario_breaks_no_invariant(seed: int) -> None:
    (result,) = scenarios.campaign([seed], workers=1, timeout_s=300.0, report=lambda _r: None)
    assert result["seed"] == seed
    assert not result["violations"], result["violations"]


def test_the_sample_is_not_idle() -> None:
    """The twenty end sessions in more than one way and inject faults: a sample that did nothing would
    break no invariant either."""
    generated = [scenario_gen.generate(seed) for seed in SAMPLE]
    assert sum(len(s.steps) for s in generated) >= 20
    assert len({step.what for s in generated for step in s.steps}) >= 6


def test_a_seed_gives_the_same_scenario_every_time() -> None:
    assert scenario_gen.generate(12345) == scenario_gen.generate(12345)
    assert scenario_gen.generate(12345) != scenario_gen.generate(12346)
