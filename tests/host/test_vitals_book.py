"""The doubt a hand-entered patient value raises before it is sent: outside the plausible range, or a jump
from the last plausible entry larger than a body makes in minutes, however the entries before it went."""
from __future__ import annotations

from hipec.vitals import BY_FIELD, VITALS_MAX_AGE_MIN, VitalsBook

CORE = BY_FIELD["core_temp_c"]
RATE = BY_FIELD["heart_rate_bpm"]


def entered(*values: float, sign=CORE) -> VitalsBook:  # type: ignore[no-untyped-def]
    book = VitalsBook()
    for i, value in enumerate(values):
        book.enter(sign, value, 60.0 * i)
    return book


def test_an_implausible_value_and_a_jump_are_doubted_a_small_change_is_not() -> None:
    assert "outside the plausible 35..39 °C" in (entered().doubt(CORE, 39.8) or "")
    assert entered(37.8).doubt(CORE, 38.1) is None
    assert "0.7 °C from the last plausible entry 37.8 °C" in (entered(37.8).doubt(CORE, 38.5) or "")
    assert "35 /min from the last plausible entry 80 /min" in (entered(80, sign=RATE).doubt(RATE, 115) or "")


def test_a_correction_after_a_confirmed_implausible_entry_is_judged_against_the_plausible_one_before() -> None:
    book = entered(37.8, 39.8)  # 39.8 confirmed by mistake (meant 37.8)
    assert book.doubt(CORE, 37.9) is None  # the correction goes through
    assert "from the last plausible entry 37.8 °C" in (book.doubt(CORE, 35.2) or "")  # another slip does not
    assert entered(39.8).doubt(CORE, 37.0) is None  # nothing plausible before: a plausible value corrects it


def test_an_entry_older_than_the_expiry_is_no_reference_for_a_jump() -> None:
    book = entered(37.2)
    fresh_s, stale_s = 60.0, VITALS_MAX_AGE_MIN * 60.0 + 1.0
    assert book.doubt(CORE, 38.2, now_s=fresh_s) is not None
    assert book.doubt(CORE, 38.2, now_s=stale_s) is None
