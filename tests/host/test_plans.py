"""Session plans: the template passes, every clinical rule refuses with the field, value and range, and
overrides are accepted only where the standard (not the board or chemistry) is exceeded, with a reason."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hipec import plans
from hipec.cli import main

NOW = dt.datetime(2026, 11, 26, 9, 0)


def template(tmp_path: Path, *edits: tuple[str, str]) -> plans.SessionPlan:
    text = plans.TEMPLATE
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "plan.toml"
    path.write_text(text)
    return plans.load(path)


def messages(plan: plans.SessionPlan) -> list[str]:
    return [str(p) for p in plans.check(plan, now=NOW)]


def test_the_template_is_a_valid_standard_session(tmp_path: Path) -> None:
    plan = template(tmp_path)
    assert messages(plan) == []
    assert plan.board_plan().fields() == {"target_temp_c": 43.0, "duration_min": 60, "volume_l": 5.0,
                                          "flow_ml_min": 500, "controlled_point": "inflow"}


@pytest.mark.parametrize("edit, expected", [
    (("target_temp_c = 43.0", "target_temp_c = 42.5"),
     "perfusion.target_temp_c: 42.5 degC is outside the standard 42.9..43.1 degC (an [[override]] of this field "
     "with a reason allows it)"),
    (("duration_min = 60 ", "duration_min = 45 "),
     "perfusion.duration_min: 45 min is outside the standard 60..90 min (an [[override]] of this field with a "
     "reason allows it)"),
    (("volume_l = 5.0", "volume_l = 7.0"),
     "perfusion.volume_l: 7 L is outside the standard 4..6 L (an [[override]] of this field with a reason allows it)"),
    (("flow_ml_min = 500", "flow_ml_min = 650"),
     "perfusion.flow_ml_min: 650 mL/min is outside the standard 400..600 mL/min (an [[override]] of this field "
     "with a reason allows it)"),
    (("target_temp_c = 43.0", "target_temp_c = 45.0"),
     "perfusion.target_temp_c: 45 degC is outside the board's absolute limits 37..44 degC (no override possible)"),
    (('name = "cisplatin"', 'name = "oxaliplatin"'),
     'treatment.carrier: oxaliplatin is unstable in saline: it must be given in 5 % glucose (carrier = "glucose_5")'),
    (("pci_regions = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]", "pci_regions = [0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]"),
     "scores.pci_regions[2]: 4 is not a lesion-size score 0..3"),
    (("pci_regions = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]", "pci_regions = [0, 0, 0]"),
     "scores.pci_regions: needs 13 region scores (regions 0-12), got 3"),
    (("cc = 0 ", "cc = 4 "), "scores.cc: 4 is not a completeness-of-cytoreduction score 0..3"),
    (("mode = \"prophylactic\"", "mode = \"palliative\""),
     "treatment.mode: 'palliative' is not one of: prophylactic, therapeutic, conversion, comprehensive"),
    (("infection = false", "infection = true"),
     "contraindications.infection: is present (true): a contraindication to HIPEC (an [[override]] of this field "
     "with a reason allows it)"),
    (("cachexia = false\n", ""), "contraindications.cachexia: must be confirmed (false when absent)"),
    (("session_number = 1 ", "session_number = 3 "),
     "patient.previous_session: a later session needs the time of the previous one (ISO 8601, e.g. 2026-11-25T09:30)"),
    (('previous_session = ""', 'previous_session = "2026-11-25T20:00"'),
     "patient.previous_session: 13.0 h since the previous session; the standard needs at least 24 h (an "
     "[[override]] of this field with a reason allows it)"),
    (('id = "P-0001"', 'id = ""'), "patient.id: a pseudonymous patient id is required (never the name)"),
])
def test_each_rule_names_the_field_value_and_range(tmp_path: Path, edit: tuple[str, str], expected: str) -> None:
    assert expected in messages(template(tmp_path, edit))


def test_carboplatin_in_glucose_is_accepted(tmp_path: Path) -> None:
    plan = template(tmp_path, ('name = "cisplatin"', 'name = "carboplatin"'), ('carrier = "saline"', 'carrier = "glucose_5"'))
    assert messages(plan) == []


def test_session_count_per_mode(tmp_path: Path) -> None:
    plan = template(tmp_path, ("session_number = 1 ", "session_number = 3 "),
                    ('previous_session = ""', 'previous_session = "2026-11-20T09:00"'))
    assert messages(plan) == ["patient.session_number: session 3 exceeds the prophylactic standard of 1..2 "
                              "sessions (an [[override]] of this field with a reason allows it)"]
    plan.mode = "therapeutic"
    assert messages(plan) == []


def test_pci_is_the_sum_of_region_scores(tmp_path: Path) -> None:
    plan = template(tmp_path, ("pci_regions = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]",
                               "pci_regions = [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]"))
    assert messages(plan) == [] and plan.pci == 39


OVERRIDE = '''
[[override]]
field = "perfusion.flow_ml_min"
reason = "REASON"
'''


def test_an_override_with_a_reason_allows_a_value_outside_the_standard(tmp_path: Path) -> None:
    edits = (("flow_ml_min = 500", "flow_ml_min = 350"),
             ("# [[override]]\n", OVERRIDE.replace("REASON", "small cavity after previous surgery, agreed") + "\n"))
    plan = template(tmp_path, *edits)
    assert messages(plan) == []
    assert plan.record()["overrides"] == [{"field": "perfusion.flow_ml_min",
                                           "reason": "small cavity after previous surgery, agreed"}]
    short = template(tmp_path, edits[0], ("# [[override]]\n", OVERRIDE.replace("REASON", "ok") + "\n"))
    assert messages(short) == ["perfusion.flow_ml_min: 350 mL/min is outside the standard 400..600 mL/min; the "
                               "override needs a reason (a sentence, at least 10 characters)"]


def test_no_override_passes_the_absolute_limits_or_chemistry(tmp_path: Path) -> None:
    plan = template(tmp_path, ("target_temp_c = 43.0", "target_temp_c = 44.5"),
                    ("# [[override]]\n", OVERRIDE.replace("perfusion.flow_ml_min", "perfusion.target_temp_c")
                     .replace("REASON", "the surgeon wants it hotter") + "\n"))
    assert messages(plan) == ["perfusion.target_temp_c: 44.5 degC is outside the board's absolute limits "
                              "37..44 degC (no override possible); this cannot be overridden"]


def test_an_override_of_nothing_is_reported(tmp_path: Path) -> None:
    plan = template(tmp_path, ("# [[override]]\n", OVERRIDE.replace("REASON", "just in case, nothing wrong") + "\n"))
    assert messages(plan) == ["override[perfusion.flow_ml_min]: overrides nothing: the field is within the "
                              "standard or not a field of the plan"]


def test_a_file_that_is_not_a_plan_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[perfusion\n")
    with pytest.raises(plans.PlanFileError, match="not valid TOML"):
        plans.load(path)
    path.write_text("[patients]\nid = 'x'\n")
    with pytest.raises(plans.PlanFileError, match="unknown table"):
        plans.load(path)


def test_plan_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "session.toml"
    assert main(["plan", "new", str(path)]) == 0
    assert main(["plan", "new", str(path)]) == 2  # never overwrites
    assert main(["plan", "check", str(path)]) == 0
    assert "plan OK: patient P-0001" in capsys.readouterr().out
    path.write_text(path.read_text().replace("volume_l = 5.0", "volume_l = 9.0"))
    assert main(["plan", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "1 problem(s)" in err and "perfusion.volume_l: 9 L is outside the standard 4..6 L" in err
