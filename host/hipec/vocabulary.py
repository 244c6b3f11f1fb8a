"""The words a plan may use for drugs and carrier solutions, and the nearest valid word for a typo.

A drug is named by its generic name, as the C-HIPEC standard lists them (docs/clinical-standard.md).
What a person may type for one (any case, stray spaces, a brand name, a common abbreviation) is
normalised to that generic name, so the carrier rule and the record always see one name per drug.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable

# The drugs the standard names for intraperitoneal use, by primary tumour (generic names).
DRUGS = ("paclitaxel", "docetaxel", "oxaliplatin", "cisplatin", "fluorouracil", "epirubicin", "mitomycin",
         "irinotecan", "carboplatin", "gemcitabine", "pemetrexed")
# Brand names and abbreviations seen on vials and in charts, each to its generic name.
DRUG_SYNONYMS = {
    "eloxatin": "oxaliplatin", "l-ohp": "oxaliplatin",
    "paraplatin": "carboplatin", "cbdca": "carboplatin",
    "platinol": "cisplatin", "cddp": "cisplatin",
    "taxol": "paclitaxel", "onxol": "paclitaxel",
    "taxotere": "docetaxel",
    "5-fu": "fluorouracil", "5-fluorouracil": "fluorouracil", "adrucil": "fluorouracil",
    "ellence": "epirubicin", "pharmorubicin": "epirubicin",
    "mitomycin c": "mitomycin", "mmc": "mitomycin", "mutamycin": "mitomycin",
    "camptosar": "irinotecan", "cpt-11": "irinotecan",
    "gemzar": "gemcitabine",
    "alimta": "pemetrexed",
}
# Unstable in saline: the standard requires 5 % glucose as their carrier. No override allows otherwise.
GLUCOSE_ONLY_DRUGS = ("oxaliplatin", "carboplatin")
# What the standard asks the team to do beside the perfusion for some drugs (printed by `plan check`).
DRUG_NOTES = {
    "cisplatin": "cisplatin needs routine hydration",
    "paclitaxel": "paclitaxel needs allergy prophylaxis",
}

CARRIERS = ("saline", "glucose_5", "ringer", "plasma_substitute", "distilled_water")
CARRIER_SYNONYMS = {
    "normal saline": "saline", "0.9% saline": "saline", "nacl 0.9%": "saline", "sodium chloride 0.9%": "saline",
    "5% glucose": "glucose_5", "glucose 5%": "glucose_5", "dextrose 5%": "glucose_5", "5% dextrose": "glucose_5",
    "d5w": "glucose_5",
    "ringer's": "ringer", "ringers": "ringer", "lactated ringer's": "ringer", "ringer lactate": "ringer",
}


def _key(text: str) -> str:
    """What two spellings of one name have in common: case, accents' forms, spaces, hyphens and
    underscores do not tell drugs apart."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\s_\-]+", "", folded)


def _table(canonical: Iterable[str], synonyms: dict[str, str]) -> dict[str, str]:
    table = {_key(name): name for name in canonical}
    table.update({_key(word): name for word, name in synonyms.items()})
    return table


_DRUG_KEYS = _table(DRUGS, DRUG_SYNONYMS)
_CARRIER_KEYS = _table(CARRIERS, CARRIER_SYNONYMS)


def drug(text: str) -> str | None:
    """The generic name of what was written, or None when it names no drug of the vocabulary."""
    return _DRUG_KEYS.get(_key(text))


def carrier(text: str) -> str | None:
    """The carrier's name in the plan's vocabulary, or None when it names none."""
    return _CARRIER_KEYS.get(_key(text))


def nearest(word: str, candidates: Iterable[str]) -> str | None:
    """The valid word a mistyped one most likely meant (case aside), or None when none is close."""
    options = {c.casefold(): c for c in candidates}
    found = difflib.get_close_matches(word.casefold(), list(options), n=1, cutoff=0.6)
    return options[found[0]] if found else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """"; did you mean X?" for a near miss, "" when nothing is near."""
    found = nearest(word, candidates)
    return f"; did you mean {found}?" if found else ""


def drug_suggestion(text: str) -> str:
    """The nearest drug (generic, or the generic behind a near brand name) to a name not understood."""
    words = list(DRUGS) + list(DRUG_SYNONYMS)
    found = nearest(text.strip(), words)
    if found is None:
        return ""
    generic = DRUG_SYNONYMS.get(found, found)
    return f"; did you mean {generic}?" if generic == found else f"; did you mean {found} ({generic})?"
