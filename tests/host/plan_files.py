"""Plan files for tests: the template `hipec plan new` writes, with edits."""
from __future__ import annotations

from pathlib import Path

from hipec import plans



def filled(template: str) -> str:
    """The template as the team fills it in: patient P-0001, cisplatin 80 mg, every contraindication
    answered absent."""
    ask = f'"{plans.UNANSWERED}"'
    return (template.replace(f"id = {ask}", 'id = "P-0001"', 1).replace(f"name = {ask}", 'name = "cisplatin"', 1)
            .replace(f"dose_mg = {ask}", "dose_mg = 80.0", 1).replace(f"= {ask}", "= false"))


FILLED_TEMPLATE = filled(plans.TEMPLATE)


def write_plan(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """The template with each (old, new) edit made once, written to tmp_path/plan.toml."""
    text = FILLED_TEMPLATE
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "plan.toml"
    path.write_text(text)
    return path
