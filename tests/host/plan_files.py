"""Plan files for tests: the template `hipec plan new` writes, with edits."""
from __future__ import annotations

from pathlib import Path

from hipec import plans

# The template as someone who assessed the patient fills it in: every contraindication answered absent.
FILLED_TEMPLATE = plans.TEMPLATE.replace(f'= "{plans.UNANSWERED}"', "= false")


def write_plan(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """The template with each (old, new) edit made once, written to tmp_path/plan.toml."""
    text = FILLED_TEMPLATE
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "plan.toml"
    path.write_text(text)
    return path
