"""The plan template `hipec plan new` writes: every key a plan holds, commented with what it allows.
The contraindication checklist is written unanswered, so a plan nobody filled in does not pass."""

from hipec.plan_rules import CONTRAINDICATIONS, UNANSWERED


_TEXT = '''# HIPEC session plan (C-HIPEC standard: 43.0 degC +-0.1, 60-90 min, 4-6 L, 400-600 mL/min).
# Check it with `hipec plan check FILE`; run it with `hipec run FILE --port PORT`.

[patient]
id = "{unanswered}"                       # pseudonymous identifier such as P-0001, never the patient's name
session_number = 1             # 1 for this patient's first HIPEC session
previous_session = ""          # ISO 8601 date-time of the previous session, e.g. "2026-11-25T09:30"
# weight_kg = 70.0             # optional, printed on the treatment record: 20..250 kg
# height_cm = 172              # optional: 100..230 cm
# bsa_m2 = 1.83                # optional body surface area: 0.5..3.0 m2

[treatment]
mode = "prophylactic"          # prophylactic (1-2 sessions) | therapeutic (1-3) | conversion | comprehensive
technique = "closed"           # open | closed
primary_tumour = "gastric"     # gastric | colorectal | gynaecological | pseudomyxoma |
                               # hepato-biliary-pancreatic | mesothelioma | other
carrier = "saline"             # saline | glucose_5 | ringer | plasma_substitute | distilled_water
                               # oxaliplatin and carboplatin need glucose_5

[[drug]]                       # one [[drug]] table per drug
name = "{unanswered}"                     # generic name: paclitaxel, docetaxel, oxaliplatin, cisplatin, fluorouracil,
                               # epirubicin, mitomycin, irinotecan, carboplatin, gemcitabine, pemetrexed
                               # (brand names such as Eloxatin are read as their generic name)
dose_mg = "{unanswered}"                  # the prescribed total dose, mg

[perfusion]
target_temp_c = 43.0           # standard 42.9..43.1 degC
duration_min = 60              # standard 60..90 min
volume_l = 5.0                 # standard 4..6 L
flow_ml_min = 500              # standard 400..600 mL/min
controlled_point = "inflow"    # inflow | abdominal (cascade on the cavity probes)

[scores]
# Peritoneal Cancer Index: lesion-size score 0..3 for each of the 13 regions (0-8 abdominal,
# 9-12 small bowel); PCI = their sum, 0..39.
pci_regions = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
cc = 0                         # completeness of cytoreduction 0..3 (0 and 1 are satisfactory)

[contraindications]            # answer each after the pre-operative assessment:
                               # false when absent, true when present (a plan left "{unanswered}" does not pass)
{contraindications}

# A value outside the standard (or a drug outside the list above, field = "drug[1].name") needs an
# override with a reason; it is recorded with the session.
# [[override]]
# field = "perfusion.flow_ml_min"
# reason = "small abdominal cavity after previous surgery: 350 mL/min agreed with the surgeon"
'''

TEMPLATE = _TEXT.format(unanswered=UNANSWERED,
                        contraindications="\n".join(f'{name} = "{UNANSWERED}"' for name in CONTRAINDICATIONS))
