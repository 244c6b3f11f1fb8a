"""The session plan as the board holds it, and the checks set_plan applies against the absolute limits.

The host checks a plan against the clinical standard; the board only refuses what is physically unsafe
or meaningless, so a plan the host overrode for a reason can still run inside the absolute limits.
"""
from micropython import const
from controller import fields, safety

# field: (minimum, maximum, unit) for numeric fields of set_plan.
NUMERIC_FIELDS = {
    "target_temp_c": (37.0, safety.ABS_MAX_SETPOINT_C, "degC"),
    "duration_min": (1.0, 180.0, "min"),
    "volume_l": (1.0, 10.0, "L"),
    "flow_ml_min": (50.0, safety.ABS_MAX_FLOW_ML_MIN, "mL/min"),
}
CONTROLLED_POINTS = ("inflow", "abdominal")
_FIELD_NAMES = const(("target_temp_c", "duration_min", "volume_l", "flow_ml_min", "controlled_point"))


class Plan:
    def __init__(self):
        self.target_temp_c = 43.0
        self.duration_min = 60.0
        self.volume_l = 5.0
        self.flow_ml_min = 500.0
        self.controlled_point = "inflow"

    def as_dict(self):
        return {
            "target_temp_c": self.target_temp_c,
            "duration_min": self.duration_min,
            "volume_l": self.volume_l,
            "flow_ml_min": self.flow_ml_min,
            "controlled_point": self.controlled_point,
        }

    def apply(self, changes):
        """Check every field first, then apply all of them: a refused plan changes nothing."""
        checked = {}
        for name in changes:
            value = changes[name]
            if name in NUMERIC_FIELDS:
                low, high, unit = NUMERIC_FIELDS[name]
                checked[name] = fields.number(name, value, low, high, unit)
            elif name == "controlled_point":
                checked[name] = fields.choice(name, value, CONTROLLED_POINTS)
            else:
                fields.unknown(name, _FIELD_NAMES)
        for name in checked:
            setattr(self, name, checked[name])
