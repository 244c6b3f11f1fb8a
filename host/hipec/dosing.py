"""A drug's dose as the team reads it: in mg, and per square metre of body surface when the plan gives the
body surface area or the height and weight it is computed from. HIPEC doses follow systemic dosing, which
is per m² (docs/clinical-standard.md); the plan holds the total in mg, so a slip of units or of a decimal
point shows as a per-m² figure nobody prescribes. Which figure is right for a drug is the prescriber's and
the pharmacy's: the standard sets no per-drug ceiling, and none is invented here."""
from __future__ import annotations

import math
from typing import Any


def body_surface_m2(bsa_m2: Any = None, weight_kg: Any = None, height_cm: Any = None) -> float | None:
    """The body surface area: as given, else Mosteller's sqrt(height · weight / 3600) (1987, the formula
    oncology dosing uses); None without the figures."""
    if isinstance(bsa_m2, (int, float)) and math.isfinite(bsa_m2) and bsa_m2 > 0:
        return float(bsa_m2)
    numbers = [v for v in (weight_kg, height_cm) if isinstance(v, (int, float)) and math.isfinite(v) and v > 0]
    if len(numbers) < 2:
        return None
    return math.sqrt(float(weight_kg) * float(height_cm) / 3600.0)


def dose_text(name: str, dose_mg: float, bsa_m2: float | None) -> str:
    """'cisplatin 80 mg (43.7 mg/m²)', or without the per-m² figure when the surface area is not known."""
    per_m2 = f" ({dose_mg / bsa_m2:.1f} mg/m²)" if bsa_m2 else ""
    return f"{name} {dose_mg:g} mg{per_m2}"
