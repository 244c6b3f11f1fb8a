"""Which tables and keys a plan file may hold: every other one is refused by name with the nearest valid
key, so a typo can never fall back to a default in silence; and no key may carry a person's identity.
"""
from __future__ import annotations

from typing import Any

from hipec.vocabulary import did_you_mean

# table: its keys, and whether each must be written (a missing one would otherwise be a silent default).
TABLES: dict[str, dict[str, bool]] = {
    "patient": {"id": True, "session_number": True, "previous_session": False, "weight_kg": False,
                "height_cm": False, "bsa_m2": False},
    "treatment": {"mode": True, "technique": True, "primary_tumour": True, "carrier": True},
    "perfusion": {"target_temp_c": True, "duration_min": True, "volume_l": True, "flow_ml_min": True,
                  "controlled_point": True},
    "scores": {"pci_regions": True, "cc": True},
    "contraindications": {},  # checked against the contraindication list itself (plans.CONTRAINDICATIONS)
}
# Tables written [[like this]], one per entry.
LIST_TABLES: dict[str, dict[str, bool]] = {
    "drug": {"name": True, "dose_mg": True},
    "override": {"field": True, "reason": True},
}
# Keys that would put a person's identity into the record: the plan holds a pseudonymous id only.
IDENTIFYING_KEYS = ("name", "first_name", "last_name", "surname", "given_name", "family_name", "full_name",
                    "patient_name", "dob", "date_of_birth", "birth_date", "birthday", "address", "phone",
                    "email", "mrn", "medical_record_number", "record_number", "ssn", "national_id",
                    "insurance_number")


def _home_of(key: str) -> str:
    """The table a key belongs in, "" if none."""
    for table, keys in {**TABLES, **LIST_TABLES}.items():
        if key in keys:
            return table
    return ""


def _unknown_key(table: str, key: str, known: dict[str, bool]) -> tuple[str, str]:
    field = f"{table}.{key}"
    if key.casefold() in IDENTIFYING_KEYS and not table.startswith("drug"):
        return field, ("a plan holds no name, birth date, address or record number of the patient: only the "
                       "pseudonymous patient.id")
    hint = did_you_mean(key, known)
    if not hint and _home_of(key):
        hint = f"; {key} belongs in [{_home_of(key)}]"
    return field, f"unknown key{hint or '; this table has ' + ', '.join(known)}"


def key_problems(data: dict[str, Any], contraindications: tuple[str, ...]) -> list[tuple[str, str]]:
    """(field, message) for every table or key the plan may not hold, and every required key missing."""
    found: list[tuple[str, str]] = []
    every_table = list(TABLES) + list(LIST_TABLES)
    for name, value in data.items():
        if name in TABLES and not isinstance(value, dict):
            found.append((name, f"must be a table, written [{name}]"))
        elif name in LIST_TABLES and (not isinstance(value, list) or not all(isinstance(v, dict) for v in value)):
            found.append((name, f"must be a list of tables, each written [[{name}]]"))
        elif name not in TABLES and name not in LIST_TABLES:
            if isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict)):
                found.append((f"[{name}]", f"unknown table{did_you_mean(name, every_table)}; a plan has "
                                           + ", ".join(every_table)))
            elif name.casefold() in IDENTIFYING_KEYS:
                found.append(_unknown_key("patient", name, TABLES["patient"]))
            else:
                home = _home_of(name)
                where = f"; it belongs in [{home}]" if home else did_you_mean(name, every_table)
                found.append((name, f"a key outside any table{where}"))
    for table, keys in TABLES.items():
        value = data.get(table)
        if not isinstance(value, dict):
            if value is None and keys:
                found.append((f"[{table}]", "missing: " + ", ".join(k for k, needed in keys.items() if needed)
                              + " must be written"))
            continue
        known = keys or dict.fromkeys(contraindications, True)
        for key in value:
            if key not in known:
                found.append(_unknown_key(table, key, known))
        for key, needed in keys.items():
            if needed and key not in value:
                found.append((f"{table}.{key}", "missing: write it (no default is taken for it)"))
    for table, keys in LIST_TABLES.items():
        entries = data.get(table, [])
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            for key in entry:
                if key not in keys:
                    field, message = _unknown_key(f"{table}[{i + 1}]", key, keys)
                    found.append((field, message))
            for key, needed in keys.items():
                if needed and key not in entry:
                    found.append((f"{table}[{i + 1}].{key}", "missing: write it"))
    return found
