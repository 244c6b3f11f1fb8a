"""The bedside view model: what every screen of a running session shows, judged once.

BedsideState follows the session (each record, the board's alarms and status, the operator's entries)
and keeps the clocks; view() turns it into a BedsideView of plain rows, each already judged against
its own limit: the controlled point against the band, every other probe against its own alarm limit,
so colour means "deviates" and nothing else. The terminal dashboard renders a BedsideView; tests
read it directly.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from hipec import alarm_words
from hipec.session_model import Plan, Progress
from hipec.tables import NO_READING, PROBE_NAMES, protocol
from hipec.vitals import SIGNS, VitalsBook

OK, WARN, ALARM = "ok", "warn", "alarm"
# A monitoring probe this close below its alarm limit (the 45.0 degC cut-off) is shown as a warning:
# a degree leaves the perfusionist minutes to act before the board cuts the heater.
WARN_MARGIN_C = 1.0


def _circuit_position(probe: str) -> int:
    """Probes in the order a perfusionist reads the circuit: into the patient (with the redundant probe
    and the heat exchanger's outlet), out of it, the cavity, back to the reservoir."""
    if probe.startswith("inflow"):
        return 0
    return {"heater_outlet": 1, "outflow": 2, "reservoir": 4}.get(probe, 3)


PROBE_ORDER = tuple(sorted(PROBE_NAMES, key=_circuit_position))


def is_control_probe(probe: str) -> bool:
    """The board's control probes: their failure stops heating; the others only monitor."""
    return probe.startswith("inflow") or probe in ("heater_outlet", "reservoir")


# How much of the controlled temperature's history the trend line keeps (one point per record).
TREND_POINTS = 600


def clock(seconds: float) -> str:
    """m:ss (a session's times read in minutes, 60:00 for the hour), h:mm:ss from 100 minutes on."""
    s = max(0, int(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 6000 else f"{s // 60}:{s % 60:02d}"


@dataclass
class Row:
    label: str
    text: str
    state: str = OK


@dataclass
class AlarmRow:
    priority: str
    name: str
    words: str
    reading: str
    limit: str
    raised: str  # session time
    acknowledged: bool
    present: bool


@dataclass
class BedsideView:
    title: str
    phase: str
    reason: str  # why the session is PAUSED or in FAULT, in words ("" otherwise)
    clocks: list[Row]
    temps: list[Row]
    temps_title: str
    circuit: list[Row]
    vitals: list[Row]
    alarms: list[AlarmRow]
    trend: list[float]
    trend_band: tuple[float, float] | None


@dataclass
class SessionClock:
    """Board time since the session's first record, summed over the board's boots (a reset restarts
    its uptime; the time it was off is not counted)."""
    spans: dict[int, list[int]] = field(default_factory=dict)

    def observe(self, boot: int, t_ms: int) -> None:
        span = self.spans.setdefault(boot, [t_ms, t_ms])
        span[1] = max(span[1], t_ms)

    def now_s(self) -> float:
        return sum(last - first for first, last in self.spans.values()) / 1000.0

    def at_s(self, boot: int, t_ms: int) -> float:
        """The session time of a board time on a boot."""
        before = sum(last - first for b, (first, last) in self.spans.items() if b < boot)
        first = self.spans.get(boot, [t_ms])[0]
        return (before + max(0, t_ms - first)) / 1000.0


class BedsideState:
    def __init__(self, plan: Plan, patient: str = ""):
        self.plan = plan
        self.patient = patient
        self.record: dict[str, int] | None = None
        self.boot = 1
        self.phase = "IDLE"
        self.phase_since_s = 0.0
        self.clock = SessionClock()
        self.alarms: list[list[Any]] = []  # get_alarms rows: name, priority, present, acknowledged, ms, value
        self.config: dict[str, Any] = {}
        self.limits: dict[str, Any] = {}  # hello's absolute limits
        self.fault = "none"
        self.paused_by_operator = False
        self.vitals = VitalsBook()
        self.trend: deque[float] = deque(maxlen=TREND_POINTS)

    def update(self, progress: Progress, boot: int | None = None) -> None:
        r = progress.record
        self.boot = self.boot if boot is None else boot
        self.clock.observe(self.boot, int(r["t_ms"]))
        if progress.phase != self.phase:
            self.phase = progress.phase
            self.phase_since_s = self.clock.now_s()
        self.record = r
        controlled = r.get("controlled_mc")
        value = r["inflow_mc"] if controlled is None else controlled
        if value != NO_READING:
            self.trend.append(value / 1000.0)

    def now_s(self) -> float:
        return self.clock.now_s()

    def action_time(self) -> dict[str, Any]:
        """When an operator acts, for the record: the board's boot and time, and the session time."""
        if self.record is None:
            return {}
        return {"boot_id": self.boot, "t_ms": self.record["t_ms"], "session_s": round(self.now_s(), 1)}

    # ------------------------------------------------------------------ judging each value

    def _band(self) -> tuple[float, float]:
        return float(self.config.get("band_c", 0.1)), float(self.config.get("alarm_band_c", 0.5))

    def _controlled_state(self, value: float, target: float) -> str:
        band, alarm_band = self._band()
        if target <= 0:
            return OK
        error = value - target
        if self.phase == "TREATMENT":
            return OK if abs(error) <= band else WARN if abs(error) <= alarm_band else ALARM
        # Heating up from below is what PRIMING and HEATING are for: only the high side deviates.
        return ALARM if error > alarm_band else WARN if error > band else OK

    def _inflow_state(self, value: float, setpoint: float) -> str:
        """The inflow's own alarm limit (temp_high): setpoint plus the alarm band; in a cascade the
        board's highest setpoint plus it."""
        _band, alarm_band = self._band()
        if setpoint <= 0:
            return OK
        ceiling = float(self.limits.get("max_setpoint_c", 44.0)) if self.plan.controlled_point != "inflow" else setpoint
        return ALARM if value > ceiling + alarm_band else OK

    def _monitor_state(self, value: float) -> str:
        cutoff = float(self.limits.get("cutoff_c", 45.0))
        return ALARM if value >= cutoff else WARN if value >= cutoff - WARN_MARGIN_C else OK

    def _fitted(self, probe: str) -> bool:
        if probe.startswith("abdominal_"):
            return int(probe[-1]) <= int(self.config.get("abdominal_probes", 4))
        if probe in ("inflow_2", "heater_outlet"):
            return bool(self.config.get(f"{probe}_fitted", True))
        return True

    def temperature_rows(self) -> list[Row]:
        r = self.record
        assert r is not None
        setpoint = r["setpoint_mc"] / 1000.0
        target = float(self.plan.target_temp_c) if setpoint > 0 else 0.0
        rows = []
        if self.plan.controlled_point != "inflow" and r.get("controlled_mc") not in (None, NO_READING):
            value = r["controlled_mc"] / 1000.0
            rows.append(Row("cavity mean ◆", f"{value:6.2f} °C", self._controlled_state(value, target)))
        for probe in PROBE_ORDER:
            raw = r.get(probe + "_mc")
            if raw is None or not self._fitted(probe):
                continue
            label = probe.replace("_", " ")
            if raw == NO_READING:
                rows.append(Row(label, "no reading", ALARM if is_control_probe(probe) else WARN))
                continue
            value = raw / 1000.0
            if probe == "inflow" and self.plan.controlled_point == "inflow":
                state = self._controlled_state(value, target)
                label += " ◆"
            elif probe in ("inflow", "inflow_2"):
                state = max(self._inflow_state(value, setpoint), self._monitor_state(value), key=_severity)
            else:
                state = self._monitor_state(value)
            rows.append(Row(label, f"{value:6.2f} °C", state))
        return rows

    # ------------------------------------------------------------------ the view

    def reason(self) -> str:
        if self.phase == "FAULT":
            return f"FAULT: {alarm_words.words(self.fault)} ({self.fault})" if self.fault != "none" else "FAULT"
        if self.phase != "PAUSED":
            return ""
        active = [str(a[0]) for a in self.alarms]
        if "host_absent" in active:
            return "PAUSED: the bridge was absent past the grace period (host_absent): heater off"
        if self.paused_by_operator:
            return "PAUSED by the operator: heater holds, treatment timer stopped"
        return "PAUSED: treatment timer stopped"

    def alarm_rows(self) -> list[AlarmRow]:
        r = self.record or {}
        setpoint = r.get("setpoint_mc", 0) / 1000.0
        limits = alarm_words.Limits(self.config, self.limits, setpoint,
                                    float(self.plan.target_temp_c) if setpoint > 0 else 0.0,
                                    float(self.plan.duration_min))
        rows = []
        for a in self.alarms:
            name, priority, present, acknowledged, raised_ms, value = a[0], a[1], a[2], a[3], a[4], a[5]
            rows.append(AlarmRow(str(priority), str(name), alarm_words.words(name), alarm_words.reading(name, value),
                                 limits.text(name), clock(self.clock.at_s(self.boot, int(raised_ms))),
                                 bool(acknowledged), bool(present)))
        order = {str(a[0]): (-priority_rank(str(a[1])), int(a[4])) for a in self.alarms}
        return sorted(rows, key=lambda row: order[row.name])

    def vital_rows(self) -> list[Row]:
        now = self.now_s()
        rows = []
        for sign in SIGNS:
            held = self.vitals.held(sign)
            age = self.vitals.age_s(sign, now)
            if held is None:
                text = "expired: re-enter" if age is not None else "not entered"
                rows.append(Row(sign.label, text, WARN if age is not None else OK))
                continue
            when = f"{clock(age)} ago" if age is not None else "age unknown"
            state = OK
            active = {str(a[0]) for a in self.alarms}
            if sign.field == "core_temp_c" and active & {"core_temp_high", "core_temp_critical"}:
                state = ALARM if "core_temp_critical" in active else WARN
            if sign.field == "heart_rate_bpm" and "heart_rate_high" in active:
                state = WARN
            rows.append(Row(sign.label, f"{sign.show(held)} · {when}", state))
        return rows

    def view(self) -> BedsideView:
        plan = self.plan
        title = (f"{plan.target_temp_c:g} °C · {plan.duration_min:g} min · {plan.volume_l:g} L · "
                 f"{plan.flow_ml_min:g} mL/min · {plan.controlled_point} controlled")
        if self.patient:
            title = f"patient {self.patient} · {title}"
        r = self.record
        if r is None:
            return BedsideView(title, self.phase, "", [], [], "", [], self.vital_rows(), self.alarm_rows(), [], None)
        band, _alarm = self._band()
        setpoint = r["setpoint_mc"] / 1000.0
        total_s = float(plan.duration_min) * 60.0
        treated = int(r["treatment_s"])
        clocks = [Row("session", clock(self.now_s())),
                  Row("phase", f"{self.phase} {clock(self.now_s() - self.phase_since_s)}"),
                  Row("in band", f"{clock(treated)} of {clock(total_s)}"),
                  Row("to go", clock(max(0.0, total_s - treated)))]
        circuit = [Row("flow", f"{r['flow_ml_min']} mL/min"), Row("delivered", f"{r['volume_ml'] / 1000.0:.2f} L"),
                   Row("line pressure", f"{r['pressure_mmhg']} mmHg"),
                   Row("heater", f"{r['heater_demand_pm'] / 10.0:.1f} %")]
        temps_title = (f"target {plan.target_temp_c:.2f} °C ± {band:g} (◆ controlled)" if setpoint > 0
                       else "heater off (no setpoint)")
        trend_band = (plan.target_temp_c - band, plan.target_temp_c + band) if setpoint > 0 else None
        return BedsideView(title, self.phase, self.reason(), clocks, self.temperature_rows(), temps_title, circuit,
                           self.vital_rows(), self.alarm_rows(), list(self.trend), trend_band)


def priority_rank(priority: str) -> int:
    """Higher for a more urgent priority (the board's order of IEC 60601-1-8 priorities)."""
    names: tuple[str, ...] = protocol.PRIORITY_NAMES
    return names.index(priority) if priority in names else 0


def _severity(state: str) -> int:
    return {OK: 0, WARN: 1, ALARM: 2}[state]


def held_vitals(reply: dict[str, Any]) -> dict[str, float | None]:
    """What the board holds, from a set_vitals or status reply (null: none)."""
    return {name: reply.get(name) for name in protocol.REQUEST_FIELDS["set_vitals"]}
