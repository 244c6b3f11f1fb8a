"""Each alarm of the board's rule table in words a perfusionist reads at a glance, with the reading
behind it and the limit it crossed, in units: for the dashboard, the CLI and the treatment record.

The rule table itself (names, priorities, reactions) is the board's (firmware/controller/tables.py);
this module only says how to show each alarm. The board sends the reading with the alarm; limits are
the board's configuration and absolute limits as the session's record or the board's hello keeps them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from hipec.tables import PROBE_NAMES

# What the alarm means, as a short sentence.
ALARM_WORDS = {
    "over_temperature": "a probe reached the cut-off: heater off, bypass open",
    "temp_high": "inflow above its alarm limit: heater off, bypass open",
    "temp_low": "controlled temperature below its alarm limit during treatment",
    "control_probe_failed": "a control probe failed (open, short, implausible or stuck): heater off",
    "monitor_probe_failed": "a monitoring probe failed (open, short, implausible or stuck)",
    "probe_disagreement": "cavity probes disagree: one may be out of the fluid",
    "heat_balance": "inflow far from what heater power and flow explain: heater off",
    "pressure_high": "line pressure high: pump stopped, heater off",
    "air_in_line": "air in the line: pump stopped, heater off",
    "reservoir_low": "reservoir level low",
    "flow_deviation": "pump not delivering the commanded flow: pump stopped, heater off",
    "link_lost": "no request from the bridge for 5 s",
    "host_absent": "bridge absent past the grace period: heater off, session paused",
    "treatment_overrun": "treatment phase longer than 1.5 times the plan",
    "core_temp_high": "patient core temperature high",
    "core_temp_critical": "patient core temperature critical: heater off",
    "heart_rate_high": "heart rate high: check blood volume, give fluid",
    "watchdog_reset": "the board was reset by its watchdog",
    "inflow_disagreement": "the two inflow probes disagree: heater off, bypass open",
    "heater_runaway": "heater outlet hotter than the power explains (switch stuck on?): heater off",
    "no_progress": "not reaching or not holding the target: no closer in 10 min, or priming in and out of "
                   "the band; check heater power, circuit losses (room, lines, open abdomen), flow and the "
                   "probes (a noisy inflow probe)",
    "heater_switch_failed": "heater draws current while switched off (switch failed closed): heater relay "
                            "open, bypass open; replace the heater switch",
    "heater_current_lost": "heater draws no current while driven, or its current sensor failed: check the "
                           "element, its fuse and thermal cut-out, the sensor's loop",
}


# How the reading the board sends with each alarm reads: a unit's name (FORMATS below).
VALUE_UNITS = {
    "over_temperature": "degC", "temp_high": "degC", "temp_low": "degC", "control_probe_failed": "probe",
    "monitor_probe_failed": "probe", "probe_disagreement": "degC apart", "heat_balance": "degC off",
    "pressure_high": "mmHg", "air_in_line": "", "reservoir_low": "", "flow_deviation": "steps/s",
    "link_lost": "ms", "host_absent": "ms", "treatment_overrun": "s", "core_temp_high": "degC core",
    "core_temp_critical": "degC core", "heart_rate_high": "/min", "watchdog_reset": "",
    "inflow_disagreement": "degC apart", "heater_runaway": "degC over", "no_progress": "degC off",
    "heater_switch_failed": "A", "heater_current_lost": "A",
}


def _probe(value: float) -> str:
    index = int(value)
    return PROBE_NAMES[index].replace("_", " ") if 0 <= index < len(PROBE_NAMES) else "a probe"


FORMATS: dict[str, Callable[[float], str]] = {
    "degC": lambda v: f"{v:.2f} °C", "probe": _probe, "degC apart": lambda v: f"{abs(v):.2f} °C apart",
    "degC off": lambda v: f"{v:+.2f} °C", "mmHg": lambda v: f"{v:.0f} mmHg", "": lambda v: "",
    "steps/s": lambda v: f"{v:.0f} steps/s executed", "ms": lambda v: f"{v / 1000.0:.0f} s silent",
    "s": lambda v: f"{v / 60.0:.1f} min", "degC core": lambda v: f"{v:.1f} °C", "/min": lambda v: f"{v:.0f} /min",
    "degC over": lambda v: f"{v:.2f} °C over",
    "A": lambda v: f"{v:.1f} A drawn" if v >= 0.0 else "sensor loop failed",
}


@dataclass(frozen=True)
class Limits:
    """What an alarm's limit is computed from: the board's configuration and absolute limits (hello's
    `limits`), and the setpoint and target of the moment (0.0 when not heating)."""
    config: dict[str, Any] = field(default_factory=dict)
    absolute: dict[str, Any] = field(default_factory=dict)
    setpoint_c: float = 0.0
    target_c: float = 0.0
    duration_min: float = 0.0

    def _get(self, table: dict[str, Any], name: str) -> float | None:
        value = table.get(name)
        return float(value) if isinstance(value, (int, float)) else None

    def text(self, alarm: str) -> str:
        """The limit the alarm's reading crossed, "" where there is no single number."""
        band = self._get(self.config, "alarm_band_c")
        cutoff = self._get(self.absolute, "cutoff_c")
        if alarm == "over_temperature" and cutoff is not None:
            return f"≥ {cutoff:.1f} °C"
        if alarm == "temp_high" and band is not None and self.setpoint_c > 0:
            return f"> {self.setpoint_c + band:.2f} °C"
        if alarm == "temp_low" and band is not None and self.target_c > 0:
            return f"< {self.target_c - band:.2f} °C"
        if alarm == "pressure_high" and self._get(self.config, "pressure_high_mmhg") is not None:
            return f"≥ {self._get(self.config, 'pressure_high_mmhg'):.0f} mmHg"
        if alarm == "host_absent" and self._get(self.config, "link_grace_s") is not None:
            return f"≥ {self._get(self.config, 'link_grace_s'):.0f} s"
        if alarm == "core_temp_high" and self._get(self.config, "core_alarm_c") is not None:
            return f"≥ {self._get(self.config, 'core_alarm_c'):.1f} °C"
        if alarm == "core_temp_critical" and self._get(self.absolute, "core_critical_c") is not None:
            return f"≥ {self._get(self.absolute, 'core_critical_c'):.1f} °C"
        if alarm == "treatment_overrun" and self.duration_min > 0:
            return f"> {self.duration_min * 1.5:.0f} min"
        return FIXED_LIMITS.get(alarm, "")


# Limits the board keeps as constants of its own (firmware safety.py), as its docs state them.
FIXED_LIMITS = {
    "probe_disagreement": "> 1.0 °C for 30 s", "heat_balance": "1.5 °C for 60 s", "flow_deviation": "±5 % for 5 s",
    "link_lost": "5 s", "heart_rate_high": "> 120 /min", "inflow_disagreement": "> 0.5 °C for 2 s",
    "heater_runaway": "> 0.4 °C for 0.3 s",
    "heater_switch_failed": "drive's current + 30 % of rated for 0.3 s", "heater_current_lost": "< 30 % of the drive's current (5 s mean)",
}


def words(alarm: str) -> str:
    return ALARM_WORDS.get(alarm, alarm.replace("_", " "))


def reading(alarm: str, value: float | None) -> str:
    if value is None:
        return ""
    unit = VALUE_UNITS.get(alarm)
    return f"{float(value):g}" if unit is None else FORMATS[unit](float(value))
