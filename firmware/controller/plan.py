"""The session plan as the board holds it, and the checks set_plan applies against the absolute limits.

The host checks a plan against the clinical standard; the board only refuses what is physically unsafe
or meaningless, so a plan the host overrode for a reason can still run inside the absolute limits.
"""
from controller import safety
from controller.errors import CommandError, BAD_FIELD

# field: (minimum, maximum, unit) for numeric fields of set_plan.
NUMERIC_FIELDS = {
    "target_temp_c": (37.0, safety.ABS_MAX_SETPOINT_C, "degC"),
    "duration_min": (1.0, 180.0, "min"),
    "volume_l": (1.0, 10.0, "L"),
    "flow_ml_min": (50.0, safety.ABS_MAX_FLOW_ML_MIN, "mL/min"),
}
CONTROLLED_POINTS = ("inflow",)


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

    def apply(self, fields):
        """Check every field first, then apply all of them: a refused plan changes nothing."""
        checked = {}
        for name in fields:
            value = fields[name]
            if name in NUMERIC_FIELDS:
                low, high, unit = NUMERIC_FIELDS[name]
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise CommandError(BAD_FIELD, name, "%s must be a number (%s)" % (name, unit))
                if not (low <= value <= high):
                    raise CommandError(
                        BAD_FIELD, name,
                        "%s = %s is outside %s..%s %s" % (name, value, low, high, unit))
                checked[name] = float(value)
            elif name == "controlled_point":
                if value not in CONTROLLED_POINTS:
                    raise CommandError(
                        BAD_FIELD, name,
                        "controlled_point must be one of: %s" % ", ".join(CONTROLLED_POINTS))
                checked[name] = value
            else:
                raise CommandError(BAD_FIELD, name, "unknown plan field '%s'" % name)
        for name in checked:
            setattr(self, name, checked[name])
