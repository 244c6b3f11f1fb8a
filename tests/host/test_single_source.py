"""One source of truth: the protocol's names, orders and numbers live in firmware/controller/tables.py
only. Every other module of the firmware, the boards, the host and the benches is read (as syntax,
not text) for a copy: a collection holding three or more names of one protocol table and at least
40 % of it (a hand-picked few, such as the requests a fuzzer keeps valid, are a choice, not a copy),
a protocol number assigned to a name of its own, or the no-reading sentinel written out. Each new
copy makes this test fail."""
from __future__ import annotations

import ast
from pathlib import Path

from hipec import REPO_ROOT
from hipec.tables import protocol

TABLES_FILE = REPO_ROOT / "firmware" / "controller" / "tables.py"
SCANNED = ("firmware", "boards", "host", "bench")
VOCABULARIES: dict[str, frozenset[str]] = {
    "phases": frozenset(protocol.PHASE_NAMES),
    "alarms": frozenset(protocol.ALARM_NAMES),
    # the columns only the record layout has (seq, phase, flow_ml_min... are everyday reply fields too)
    "telemetry fields": frozenset(f for f in protocol.TELEMETRY_FIELDS if f.endswith(("_mc", "_pm"))),
    "probes": frozenset(protocol.PROBE_NAMES),
    "flags": frozenset(protocol.FLAG_NAMES),
    "error codes": frozenset(protocol.ERROR_CODES),
    "requests": frozenset(protocol.REQUESTS),
    "priorities": frozenset(protocol.PRIORITY_NAMES[1:]),
}
# Numbers of the protocol that would mean something if they appeared under a name of their own.
NUMBERS = {name: getattr(protocol, name) for name in ("PROTOCOL_VERSION", "SETTINGS_VERSION", "MAX_REQUEST_ID",
                                                     "MAX_PAYLOAD_BYTES", "PULL_MAX_RECORDS", "PULL_MAX_EVENTS",
                                                     "NO_READING", "N_FIELDS", "N_ALARMS", "N_PROBES")}


def _strings(node: ast.AST) -> list[str]:
    return [e.value for e in getattr(node, "elts", []) if isinstance(e, ast.Constant) and isinstance(e.value, str)]


def _presentation(node: ast.Dict) -> bool:
    """A map from protocol names to colours or styles is how a screen draws them, not a copy of the
    protocol; a map to other protocol names or to numbers would be."""
    every_name = frozenset().union(*VOCABULARIES.values())
    return all(isinstance(v, ast.Constant) and isinstance(v.value, str) and v.value not in every_name
               for v in node.values)


def copies_in(path: Path) -> list[str]:
    found = []
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            names = _strings(node)
        elif isinstance(node, ast.Dict) and not _presentation(node):
            names = [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
        for table, vocabulary in VOCABULARIES.items():
            shared = [n for n in names if n in vocabulary]
            if len(shared) >= 3 and len(shared) >= 0.4 * len(vocabulary):
                found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {len(shared)} {table} ({', '.join(shared[:4])}…)")
        if isinstance(node, ast.Assign) and (isinstance(node.value, ast.Constant) or (
                isinstance(node.value, ast.UnaryOp) and isinstance(node.value.operand, ast.Constant))):
            value = ast.literal_eval(node.value)
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in NUMBERS and value == NUMBERS[target.id]:
                    found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {target.id} = {value!r}")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
                and node.operand.value == -protocol.NO_READING:
            found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: the no-reading sentinel written out")
    return found


def scanned_files() -> list[Path]:
    files = [p for folder in SCANNED for p in sorted((REPO_ROOT / folder).rglob("*.py"))]
    return [p for p in files if p != TABLES_FILE]


def test_no_protocol_table_is_written_twice() -> None:
    files = scanned_files()
    assert len(files) > 50
    copies = [c for path in files for c in copies_in(path)]
    assert copies == [], "\n".join(copies)


def test_the_check_finds_a_copy(tmp_path: Path) -> None:
    """The scan is not vacuous: the copies this project used to have are each found."""
    planted = REPO_ROOT / "host" / "hipec" / "_planted_copy_for_test.py"
    planted.write_text('PHASES = ("IDLE", "PRIMING", "HEATING", "TREATMENT", "COOLDOWN")\nNO_READING = -1000000\n'
                       'PRIORITY = {"over_temperature": 3, "temp_high": 3, "temp_low": 2, "control_probe_failed": 3,'
                       ' "monitor_probe_failed": 2, "probe_disagreement": 2, "heat_balance": 3, "link_lost": 1,'
                       ' "pressure_high": 3, "air_in_line": 3, "reservoir_low": 2}\n'
                       'COLOURS = {"PRIMING": "#fff", "HEATING": "#eee", "TREATMENT": "#ddd", "COOLDOWN": "#ccc"}\n')
    try:
        found = copies_in(planted)
    finally:
        planted.unlink()
    # the phases, the sentinel (as a name and as a number), the alarm map; not the colours
    assert len(found) == 4, found
