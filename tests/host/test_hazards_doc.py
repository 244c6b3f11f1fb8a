"""docs/hazards.md and the rule table agree: every alarm rule answers a hazard there, every rule the
table names exists, each rule's priority is in its rows' priority column, and every test the table
names exists (so a renamed or deleted test cannot leave a hazard pointing at nothing)."""
from __future__ import annotations

import ast
import re
import sys

from hipec import REPO_ROOT
from hipec.tables import protocol

DOC = (REPO_ROOT / "docs" / "hazards.md").read_text()
ROWS = re.findall(r"^\| (H\d+) \| (.*) \|$", DOC, re.M)
sys.path.insert(0, str(REPO_ROOT / "bench"))
import fault_matrix  # noqa: E402


def cells(row: str) -> list[str]:
    return [c.strip() for c in row.split(" | ")]


def rules_of(row: str) -> list[str]:
    return re.findall(r"`([a-z_]+)`", cells(row)[4])


def functions_in(path: str) -> set[str]:
    tree = ast.parse((REPO_ROOT / "tests" / path).read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}


def test_every_rule_answers_a_hazard_and_every_named_rule_exists() -> None:
    assert len(ROWS) >= 23
    named = {rule for _h, row in ROWS for rule in rules_of(row)}
    rules = set(protocol.ALARM_NAMES)
    assert rules - named == set(), f"rules with no hazard in docs/hazards.md: {sorted(rules - named)}"
    assert named - rules == set(), f"docs/hazards.md names rules the firmware lacks: {sorted(named - rules)}"


def test_each_rules_priority_is_in_its_hazard_row() -> None:
    by_name = {name: i for i, name in enumerate(protocol.ALARM_NAMES)}
    for hazard, row in ROWS:
        priority = cells(row)[6]
        for name in rules_of(row):
            word = protocol.PRIORITY_NAMES[protocol.ALARM_PRIORITIES[by_name[name]]]
            assert word in priority, f"{hazard}: {name} is {word}, the row says {priority!r}"


def test_every_test_a_hazard_names_exists() -> None:
    cases = {c.name for c in fault_matrix.CASES}
    checked = 0
    for hazard, row in ROWS:
        for ref in (r.strip() for r in cells(row)[-1].split(",")):
            if ref in ("", "—", "-"):
                continue
            checked += 1
            if ref.startswith("FM:"):
                assert ref[3:] in cases, f"{hazard}: no fault-matrix case {ref[3:]}"
            elif ref.startswith("FW:"):
                path, name = ref[3:].split("::")
                assert name in functions_in("firmware/" + path), f"{hazard}: no firmware test {ref}"
            else:
                path, name = ref.split("::")
                assert name in functions_in(path.removeprefix("tests/")), f"{hazard}: no test {ref}"
    assert checked >= 30


def test_each_rules_reactions_are_in_its_hazard_row() -> None:
    words = {protocol.HEATER_OFF: "heater off", protocol.BYPASS: "bypass", protocol.PUMP_STOP: "pump stop",
             protocol.FAULT_HOLD: "FAULT", protocol.PAUSE_HOLD: "PAUSED"}
    by_name = {name: i for i, name in enumerate(protocol.ALARM_NAMES)}
    for hazard, row in ROWS:
        reaction = cells(row)[5]
        for name in rules_of(row):
            for bit, word in words.items():
                if protocol.ALARM_REACTIONS[by_name[name]] & bit:
                    assert word in reaction, f"{hazard}: {name} reacts with {word}; the row says {reaction!r}"
