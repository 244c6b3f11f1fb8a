"""docs/clinical-standard.md names, beside each rule, the test that shows it is enforced: every test it
names exists, and every code name it gives is defined in the module it names."""
from __future__ import annotations

import re

from hipec import REPO_ROOT

DOC = REPO_ROOT / "docs" / "clinical-standard.md"


def test_every_test_the_clinical_standard_names_exists() -> None:
    text = DOC.read_text()
    named = set(re.findall(r"(?<![/\w])(test_[a-z0-9_]+)(?![\w./])", text))  # not a file's name
    assert len(named) >= 10
    sources = "\n".join(p.read_text() for p in (REPO_ROOT / "tests").rglob("*.py"))
    missing = sorted(n for n in named if f"def {n}(" not in sources)
    assert missing == []


def test_every_module_attribute_it_names_is_defined() -> None:
    text = DOC.read_text()
    pairs = {(m, n) for m, n in re.findall(r"`([a-z_]+)\.([A-Za-z_]+)`", text) if n != "py"}
    assert len(pairs) >= 10
    missing = []
    for module, name in pairs:
        host = REPO_ROOT / "host" / "hipec" / f"{module}.py"
        firmware = REPO_ROOT / "firmware" / "controller" / f"{module}.py"
        source = host if host.exists() else firmware
        if not source.exists() or not re.search(rf"(def {name}\b|class {name}\b|^{name}\b|\b{name} =)",
                                                source.read_text(), re.M):
            missing.append(f"{module}.{name}")
    assert sorted(missing) == []
