"""Patient values entered by hand at the bedside (core temperature, heart rate): each with the time it
was entered, its age, its expiry, and the doubt an implausible entry raises before it is sent.

The board alarms on what it holds (core_temp_high, core_temp_critical, heart_rate_high), so a slip of
the finger can stop the therapy: an entry outside a physiological range, or a jump from the last entry
larger than a body does in minutes, is sent only once the operator confirms it. A wrong entry is
corrected by entering the right value (or cleared); the alarm it caused then clears on acknowledgement.
Times are on the session clock (board time since the start), like everything the dashboard shows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from hipec.tables import protocol

# A hand-entered value stands for the patient as long as the board holds it (its VITALS_MAX_AGE_MS: the
# reason is there). After it the entry is shown as expired, and cleared on the board by the bridge too
# should the board still hold it, until a current one is entered.
VITALS_MAX_AGE_MIN = protocol.VITALS_MAX_AGE_MS / 60000.0
# The record's event kind for that clearing: the bridge's doing, not an operator's action (not in the audit
# log of what people decided); the report's vitals trend shows it as "expired".
VITALS_EXPIRED = "vitals_expired"


@dataclass(frozen=True)
class VitalSign:
    """One value the board accepts, with the range the board takes, the range a patient under HIPEC
    plausibly shows, and the largest change between two entries a few minutes apart."""
    field: str  # the set_vitals field
    command: str  # what the operator types after ':'
    label: str
    unit: str
    board_range: tuple[float, float]
    plausible: tuple[float, float]
    step: float
    whole: bool

    def show(self, value: float) -> str:
        return f"{value:.0f} {self.unit}" if self.whole else f"{value:.1f} {self.unit}"


SIGNS = (
    # Core temperature: under HIPEC it rises slowly (about 1 degC over the hour, the consensus expects it
    # to stay at or below 38.5); below 35 is hypothermia the team would have treated before. The board
    # takes 30..45 degC.
    VitalSign("core_temp_c", "core", "patient core", "°C", (30.0, 45.0), (35.0, 39.0), 0.5, False),
    # Heart rate: 40..140 /min covers an anaesthetised adult including the tachycardia the consensus
    # asks to act on (> 120); 30 /min between entries is more than a real change in a few minutes.
    VitalSign("heart_rate_bpm", "hr", "heart rate", "/min", (20, 250), (40, 140), 30, True),
)
BY_COMMAND = {s.command: s for s in SIGNS} | {"heart": SIGNS[1], "pulse": SIGNS[1], "temp": SIGNS[0]}
BY_FIELD = {s.field: s for s in SIGNS}


class VitalsInputError(ValueError):
    """A typed value that cannot be sent: one line naming the field, the value and what is allowed."""


def parse_value(sign: VitalSign, text: str) -> float | int | None:
    """The typed value as the board takes it (an int for a whole-number sign: the board refuses 95.0 as a
    heart rate); None for `clear`; VitalsInputError otherwise."""
    word = text.strip().lower()
    if word in ("clear", "-", "none"):
        return None
    low, high = sign.board_range
    allowed = f"{low:g}..{high:g} {sign.unit}" + (" (whole number)" if sign.whole else "")
    try:
        value = float(word.replace(",", "."))
    except ValueError:
        raise VitalsInputError(f"{sign.command} {text.strip()!r}: not a number; allowed {allowed}, or "
                               f"`{sign.command} clear`") from None
    if not math.isfinite(value):
        raise VitalsInputError(f"{sign.command} {text.strip()}: not a number; allowed {allowed}, or "
                               f"`{sign.command} clear`")
    if not low <= value <= high:
        raise VitalsInputError(f"{sign.command} {text.strip()}: outside {allowed}")
    if sign.whole and value != int(value):
        raise VitalsInputError(f"{sign.command} {text.strip()}: not a whole number; allowed {allowed}")
    return int(value) if sign.whole else value


@dataclass(frozen=True)
class Entry:
    value: float
    session_s: float  # when it was entered, on the session clock


@dataclass
class VitalsBook:
    """The entries of this session and what the board says it holds."""
    entries: dict[str, Entry] = field(default_factory=dict)
    # The last plausible value of each sign: the one a jump is measured from. An implausible entry (one the
    # operator confirmed) is never the reference, so a correction back near the value before it goes
    # through, and another slip after it is still caught. One older than the expiry is no reference.
    plausible_last: dict[str, Entry] = field(default_factory=dict)
    board: dict[str, float | None] = field(default_factory=dict)  # set_vitals/status values, None: none held
    max_age_s: float = VITALS_MAX_AGE_MIN * 60.0

    def doubt(self, sign: VitalSign, value: float, now_s: float | None = None) -> str | None:
        """Why this entry needs a confirmation before it is sent, None when it is plausible."""
        low, high = sign.plausible
        if not low <= value <= high:
            return (f"{sign.label} {sign.show(value)} is outside the plausible {low:g}..{high:g} {sign.unit} "
                    f"for a patient under HIPEC")
        last = self.plausible_last.get(sign.field)
        if last is not None and now_s is not None and now_s - last.session_s > self.max_age_s:
            last = None
        # A jump from the last plausible entry larger than a body makes in minutes is a slip of the finger
        # until confirmed; with none before (only an implausible one), a plausible value corrects it.
        if last is not None and abs(value - last.value) > sign.step:
            return (f"{sign.label} {sign.show(value)} is {sign.show(abs(value - last.value))} from the last "
                    f"plausible entry {sign.show(last.value)} (more than {sign.step:g} {sign.unit})")
        return None

    def enter(self, sign: VitalSign, value: float | None, session_s: float) -> None:
        if value is None:
            self.entries.pop(sign.field, None)
            return
        self.entries[sign.field] = Entry(value, session_s)
        low, high = sign.plausible
        if low <= value <= high:
            self.plausible_last[sign.field] = self.entries[sign.field]

    def age_s(self, sign: VitalSign, now_s: float) -> float | None:
        entry = self.entries.get(sign.field)
        return None if entry is None else max(0.0, now_s - entry.session_s)

    def expired(self, now_s: float) -> list[VitalSign]:
        """Entries older than the expiry that the board still holds."""
        return [s for s in SIGNS if (self.age_s(s, now_s) or 0.0) > self.max_age_s
                and self.board.get(s.field) is not None]

    def held(self, sign: VitalSign) -> float | None:
        """The value the board holds (its word, not the entry's)."""
        return self.board.get(sign.field)


def consequence(field: str, value: float, limits: dict[str, float]) -> str:
    """What the board will do with a value, when it stops the therapy: said with the question before it
    is sent (limits: the board's hello `limits`)."""
    critical = limits.get("core_critical_c")
    if field == "core_temp_c" and critical is not None and value >= critical:
        return f"; at the {critical:g} °C critical limit: heater off, session FAULT"  # fits the prompt's 2 lines
    return ""
