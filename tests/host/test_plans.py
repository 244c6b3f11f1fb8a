"""Session plans: the template passes, every clinical rule refuses with the field, value and range, and
overrides are accepted only where the standard (not the board or chemistry) is exceeded, with a reason."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hipec import plans
from hipec.cli import main
from plan_files import FILLED_TEMPLATE, write_plan

NOW = dt.datetime(2026, 11, 26, 9, 0)


def template(tmp_path: Path, *edits: tuple[str, str]) -> plans.SessionPlan:
    return plans.load(write_plan(tmp_path, *edits))


def messages(plan: plans.SessionPlan) -> list[str]:
    return [str(p) for p in plans.check(plan, now=NOW)]


def test_the_template_is_a_valid_standard_session(tmp_path: Path) -> None:
    plan = template(tmp_path)
    assert messages(plan) == []
    assert plan.board_plan().fields() == {"target_temp_c": 43.0, "duration_min": 60, "volume_l": 5.0,
                                          "flow_ml_min": 500, "controlled_point": "inflow"}


def test_a_template_nobody_filled_in_does_not_pass_its_checklist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "new.toml"
    assert main(["plan", "new", str(path)]) == 0
    capsys.readouterr()
    assert main(["plan", "check", str(path)]) == 2
    said = capsys.readouterr().err
    for name in plans.CONTRAINDICATIONS:
        assert f"contraindications.{name}: not answered yet: false when absent, true when present" in said
    assert "patient.id: not filled in: the patient's pseudonymous id (never the name)" in said
    assert "drug[1].name: not filled in: the drug's generic name, as prescribed" in said
    assert "drug[1].dose_mg: not filled in: the prescribed dose, in mg" in said
    assert said.count("drug[1]") == 2  # said once each, not again as a drug outside the list or not a number
    answered = path.read_text().replace('extensive_adhesions = "?"', "extensive_adhesions = false")
    path.write_text(answered)
    assert main(["plan", "check", str(path)]) == 2
    assert "contraindications.extensive_adhesions" not in capsys.readouterr().err


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
                              "37..44 degC (no override possible)"]  # said once


def test_an_override_of_nothing_is_reported(tmp_path: Path) -> None:
    plan = template(tmp_path, ("# [[override]]\n", OVERRIDE.replace("REASON", "just in case, nothing wrong") + "\n"))
    assert messages(plan) == ["override[perfusion.flow_ml_min]: overrides nothing: the field is within the "
                              "standard or not a field of the plan"]


def test_a_file_that_is_not_a_plan_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[perfusion\n")
    with pytest.raises(plans.PlanFileError, match="not valid TOML"):
        plans.load(path)
    path.write_text(FILLED_TEMPLATE + "[patients]\nid = 'x'\n")
    assert messages(plans.load(path)) == [
        "[patients]: unknown table; did you mean patient?; a plan has patient, treatment, perfusion, scores, "
        "contraindications, drug, override"]


@pytest.mark.parametrize("edit, expected", [
    (("flow_ml_min = 500", "flow_ml_mn = 420"),
     ["perfusion.flow_ml_mn: unknown key; did you mean flow_ml_min?",
      "perfusion.flow_ml_min: missing: write it (no default is taken for it)"]),
    (("target_temp_c = 43.0", "target_tmp_c = 42.0"),
     ["perfusion.target_tmp_c: unknown key; did you mean target_temp_c?",
      "perfusion.target_temp_c: missing: write it (no default is taken for it)"]),
    (("duration_min = 60 ", "duraton_min = 90 "),
     ["perfusion.duraton_min: unknown key; did you mean duration_min?",
      "perfusion.duration_min: missing: write it (no default is taken for it)"]),
    (("cc = 0 ", "CC = 2 "),
     ["scores.CC: unknown key; did you mean cc?", "scores.cc: missing: write it (no default is taken for it)"]),
    (('id = "P-0001"', 'id = "P-0001"\nname = "Jane Doe"'),
     ["patient.name: a plan holds no name, birth date, address or record number of the patient: only the "
      "pseudonymous patient.id"]),
    (('id = "P-0001"', 'id = "Jane Doe"'),
     ["patient.id: 'Jane Doe' is not a pseudonymous id: letters and digits with . _ -, at least one digit, no "
      "spaces, e.g. P-0001 (never the name)"]),
    (("carrier = \"saline\"", "carier = \"saline\""),
     ["treatment.carier: unknown key; did you mean carrier?",
      "treatment.carrier: missing: write it (no default is taken for it)"]),  # said once, not again as ''
    (("[perfusion]", "[perfusions]"),
     ["[perfusions]: unknown table; did you mean perfusion?; a plan has patient, treatment, perfusion, scores, "
      "contraindications, drug, override",
      "[perfusion]: missing: target_temp_c, duration_min, volume_l, flow_ml_min, controlled_point must be written"]),
    (("infection = false", "infektion = false"),
     ["contraindications.infektion: unknown key; did you mean infection?",
      "contraindications.infection: must be confirmed (false when absent)"]),
    (("dose_mg = 80.0", "dose_mg = nan"), ["drug[1].dose_mg: nan is not a finite number (mg)"]),
    (("dose_mg = 80.0", "dose_mg = inf"), ["drug[1].dose_mg: inf is not a finite number (mg)"]),
    (("dose_mg = 80.0", "dose_mg = \"80\""), ["drug[1].dose_mg: '80' is not a number (mg)"]),
    (("dose_mg = 80.0", "dose_mg = 80000.0"),
     ["drug[1].dose_mg: 80000 mg is outside 0..5000 mg (above 0; more is a unit slip)"]),
    (("dose_mg = 80.0", "dose = 80.0"),
     ["drug[1].dose: unknown key; did you mean dose_mg?", "drug[1].dose_mg: missing: write it"]),
    (("volume_l = 5.0", "volume_l = nan"), ["perfusion.volume_l: nan is not a finite number (L)"]),
    (("flow_ml_min = 500", "flow_ml_min = -inf"), ["perfusion.flow_ml_min: -inf is not a finite number (mL/min)"]),
    (("session_number = 1 ", "session_number = 1.0 "),
     ["patient.session_number: 1.0 must be a whole number, 1 or more"]),
    (('name = "cisplatin"', 'name = "aspirin"'),
     ["drug[1].name: 'aspirin' is not a drug of the standard (paclitaxel, docetaxel, oxaliplatin, cisplatin, "
      "fluorouracil, epirubicin, mitomycin, irinotecan, carboplatin, gemcitabine, pemetrexed) (an [[override]] of "
      "this field with a reason allows it)"]),
    (('name = "cisplatin"', 'name = "oxaliplatn"'),
     ["drug[1].name: 'oxaliplatn' is not a drug of the standard (paclitaxel, docetaxel, oxaliplatin, cisplatin, "
      "fluorouracil, epirubicin, mitomycin, irinotecan, carboplatin, gemcitabine, pemetrexed); did you mean "
      "oxaliplatin? (an [[override]] of this field with a reason allows it)"]),
    (('name = "cisplatin"', 'name = "oxaliplatin "'),
     ['treatment.carrier: oxaliplatin is unstable in saline: it must be given in 5 % glucose '
      '(carrier = "glucose_5")']),
    (('name = "cisplatin"', 'name = "Eloxatin"'),
     ['treatment.carrier: oxaliplatin (Eloxatin) is unstable in saline: it must be given in 5 % glucose '
      '(carrier = "glucose_5")']),
    (('name = "cisplatin"', 'name = "  CARBOPLATIN"'),
     ['treatment.carrier: carboplatin (CARBOPLATIN) is unstable in saline: it must be given in 5 % glucose '
      '(carrier = "glucose_5")']),
    (("weight_kg = 70.0", "weight_kg = 154.0\nheight_cm = 1.72"),
     ["patient.height_cm: 1.72 cm is outside 100..230 cm"]),
    (("flow_ml_min = 500", "flow_ml_min = 500\nflow_ml_min_x = 1"),
     ["perfusion.flow_ml_min_x: unknown key; did you mean flow_ml_min?"]),
])
def test_a_plan_cannot_be_mistyped(tmp_path: Path, edit: tuple[str, str], expected: list[str]) -> None:
    text = FILLED_TEMPLATE.replace("# weight_kg = 70.0", "weight_kg = 70.0")
    path = tmp_path / "plan.toml"
    assert edit[0] in text, edit[0]
    path.write_text(text.replace(edit[0], edit[1], 1))
    assert messages(plans.load(path)) == expected


def test_brand_names_and_synonyms_are_recorded_under_their_generic_name(tmp_path: Path) -> None:
    plan = template(tmp_path, ('name = "cisplatin"', 'name = "Eloxatin"'),
                    ('carrier = "saline"', 'carrier = "5% glucose"'))
    assert messages(plan) == []
    record = plan.record()
    assert record["drugs"] == [{"name": "oxaliplatin", "written": "Eloxatin", "dose_mg": 80.0}]
    assert record["carrier"] == "glucose_5"
    assert plan.notes() == ["5 % glucose carrier: blood glucose may rise (watch diabetic patients)"]
    assert template(tmp_path).notes() == ["cisplatin needs routine hydration"]


def test_an_unknown_drug_runs_only_with_an_override_and_keeps_its_name(tmp_path: Path) -> None:
    plan = template(tmp_path, ('name = "cisplatin"', 'name = "raltitrexed"'),
                    ("# [[override]]\n", '[[override]]\nfield = "drug[1].name"\n'
                                         'reason = "trial protocol 12, agreed with the pharmacist"\n'))
    assert messages(plan) == []
    assert plan.record()["drugs"] == [{"name": "raltitrexed", "dose_mg": 80.0}]


def test_a_key_outside_any_table_is_placed(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text("flow_ml_min = 420\n" + FILLED_TEMPLATE)
    assert messages(plans.load(path)) == ["flow_ml_min: a key outside any table; it belongs in [perfusion]"]


def test_plan_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "session.toml"
    assert main(["plan", "new", str(path)]) == 0
    assert main(["plan", "new", str(path)]) == 2  # never overwrites
    path.write_text(FILLED_TEMPLATE)
    assert main(["plan", "check", str(path)]) == 0
    assert "plan OK: patient P-0001" in capsys.readouterr().out
    path.write_text(path.read_text().replace("volume_l = 5.0", "volume_l = 9.0"))
    assert main(["plan", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "1 problem(s)" in err and "perfusion.volume_l: 9 L is outside the standard 4..6 L" in err


def test_a_dose_is_shown_per_square_metre_when_the_body_surface_is_known(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hipec.dosing import body_surface_m2, dose_text

    assert body_surface_m2(1.83) == 1.83
    assert abs(body_surface_m2(None, 70.0, 172) - 1.8288) < 1e-4  # sqrt(70 * 172 / 3600), by hand
    assert body_surface_m2(None, 70.0, None) is None and body_surface_m2(float("nan"), None, None) is None
    assert dose_text("cisplatin", 80.0, 1.6) == "cisplatin 80 mg (50.0 mg/m²)"
    assert dose_text("cisplatin", 80.0, None) == "cisplatin 80 mg"
    path = write_plan(tmp_path, ("# weight_kg = 70.0", "weight_kg = 70.0"), ("# height_cm = 172", "height_cm = 172"),
                      ('name = "cisplatin"', 'name = "oxaliplatin"'), ("dose_mg = 80.0", "dose_mg = 8000.0"),
                      ('carrier = "saline"', 'carrier = "glucose_5"'))
    assert main(["plan", "check", str(path)]) == 2  # above the 5000 mg unit-slip ceiling
    assert "drug[1].dose_mg: 8000 mg is outside 0..5000 mg" in capsys.readouterr().err
    path.write_text(path.read_text().replace("dose_mg = 8000.0", "dose_mg = 800.0"))
    assert main(["plan", "check", str(path)]) == 0
    assert "oxaliplatin 800 mg (437.4 mg/m²) in glucose_5" in capsys.readouterr().out


@pytest.mark.parametrize("edit, expected", [
    (('mode = "prophylactic"', 'mode = " Prophylactic "'), []),  # case and stray spaces, as for drugs
    (("dose_mg = 80.0", "dose_mg = 0"), ["drug[1].dose_mg: 0 mg: a dose must be above 0 mg"]),
    (('previous_session = ""', 'previous_session = "2026-12-20T09:30"'),
     ["patient.previous_session: 2026-12-20T09:30 is in the future (576.5 h from now): a mistyped date"]),
])
def test_what_a_new_user_mistyped_is_named_plainly(tmp_path: Path, edit: tuple[str, str], expected: list[str]) -> None:
    assert messages(plans.load(write_plan(tmp_path, edit))) == expected


def test_a_folder_given_as_the_plan_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "check", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"hipec plan: error: {tmp_path}: a folder, not a plan file; "
                                       f"`hipec plan new {tmp_path / 'session.toml'}` writes one there\n")
