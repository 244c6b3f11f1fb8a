"""The demo's summary fits the terminal it is printed in: every row wrapped within the width, values
aligned, paths never broken; alarms grouped with their counts."""
from __future__ import annotations

from hipec.cli.demo import grouped, summary_line

PATH = "demo-output/demo-20261205-140912-record/session-1-record.pdf"  # 60 characters


def fits(line: str, width: int) -> bool:
    """Within the width, or a single word (a path) that no width would hold, alone after its indent."""
    return len(line) < width or len(line.split()) == 1 or line.split(":", 1)[-1].strip().count(" ") == 0


def test_each_row_fits_an_80_column_terminal_with_its_value_aligned() -> None:
    value = f"{PATH} (`hipec report 1 --db demo-output/demo-20261205-140912.sqlite` writes it again)"
    lines = summary_line("treatment record", value, 80).splitlines()
    assert len(lines) > 1 and all(len(line) < 80 for line in lines[1:])
    assert lines[0] == "  treatment record:  " + PATH  # the path whole, on the label's line
    long_path = "/home/perfusion/bench/" + PATH
    assert all(fits(line, 80) for line in summary_line("record (SQLite)", long_path, 80).splitlines())
    assert summary_line("record (SQLite)", long_path, 80).split()[-1] == long_path  # never broken
    assert all(line.startswith(" " * 21) and line[21] != " " for line in lines[1:])
    assert " ".join(line.split(None, 2)[-1] if n == 0 else line.strip() for n, line in enumerate(lines)) == value


def test_a_short_row_is_one_line_and_a_wide_terminal_takes_it_whole() -> None:
    assert summary_line("records stored", "36012", 80) == "  records stored:    36012"
    row = summary_line("in ±0.1 °C", "99.9 % of treatment records, as the board judged them", 200)
    assert row == "  in ±0.1 °C:        99.9 % of treatment records, as the board judged them"


def test_alarms_are_grouped_with_their_counts_most_frequent_first() -> None:
    alarms = ["link_lost (low)", "temp_low (medium)", "link_lost (low)", "link_lost (low)"]
    assert grouped(alarms) == "link_lost (low) ×3, temp_low (medium)"
    assert grouped([]) == ""
