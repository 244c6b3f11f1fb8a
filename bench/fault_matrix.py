"""Fault matrix: every fault the emulated board can inject, in every phase where it can occur, with the
bridge connected, checked against what docs/hazards.md promises.

For each case a session runs on the emulated MCU (full speed, host-synchronised); the fault is injected
20 s of board time after the phase begins; the bridge keeps recording through link losses and resets.
A case passes when:
  - the expected alarm is raised with the expected priority within the detection time of its hazard
    (or, for a reset, the board resets within it), and no alarm is needed where the fault is harmless;
  - the heater is off within one control tick of detection, where the reaction asks for it, and the
    pump and bypass valve are in the safe state the reaction asks for;
  - no fluid reaching the patient (the inflow while the bypass is closed, the cavity) reaches the
    absolute limit of 45.0 degC; the hottest fluid anywhere in the circuit is reported beside it;
  - the record holds every telemetry record and every board event of each boot with no gap.

Usage: python bench/fault_matrix.py [--phases TREATMENT,...] [--faults name,...] [--markdown FILE]
Prints one line per case and a summary; --markdown writes the table (make fault-matrix writes
docs/fault-matrix.md).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from hipec.bridge import BoardLink
from hipec.emulator.mcu import EmulatedMCU
from hipec.emulator.params import PlantParams
from hipec.runner import Plan, Progress, SessionRunner
from hipec.store import DISCONNECTED, Store
from hipec.tables import phase_names, protocol

# The phases a fault can meet a running session in (DRAIN is COOLDOWN's pump without heat).
PHASES = phase_names((protocol.PRIMING, protocol.HEATING, protocol.TREATMENT, protocol.COOLDOWN))
ABSOLUTE_LIMIT_C = 45.0
TICK_MS = 100
# Board time after the phase begins at which the fault is injected.
INJECT_AFTER_S = 20.0
# A session short enough to reach every phase quickly: 4 L (2.5 L to fill), 20 min of treatment.
PLAN = Plan(duration_min=20.0, volume_l=4.0)


@dataclass(frozen=True)
class Case:
    """One fault and what must follow it. alarm=None: harmless in that phase, no alarm needed."""
    name: str
    kind: str
    alarm: str | None
    priority: str | None
    detect_s: float
    heater_off: bool = False
    pump_stop: bool = False
    bypass_open: bool = False
    reset: str | None = None  # the reset cause expected instead of an alarm
    window_s: float = 90.0
    probe: str | None = None
    values: dict[str, float] = field(default_factory=dict)
    replug_after_s: float | None = None
    # Phases where the fault cannot do harm, so no detection is required there (docs/hazards.md).
    harmless_in: tuple[str, ...] = ()
    # Faults (kinds) after which this one cannot do harm, with why (bench/fault_pairs.py judges the pairs).
    harmless_after: tuple[tuple[str, str], ...] = ()
    # Phases where another detection time is allowed, with its reason (docs/hazards.md).
    allowed_s_in: tuple[tuple[str, float], ...] = ()
    # Phases where another alarm is the one that must catch it, with its reason (docs/hazards.md).
    alarm_in: tuple[tuple[str, str], ...] = ()
    # A plant event this many seconds after the fault, with its values: what makes the fault visible.
    then: tuple[str, float, tuple[tuple[str, float], ...]] | None = None
    # Equipment the case's circuit has (plant parameters) and the board is told of (set_config).
    plant: tuple[tuple[str, float], ...] = ()
    config: tuple[tuple[str, float], ...] = ()

    def allowed_s(self, phase: str) -> float:
        return dict(self.allowed_s_in).get(phase, self.detect_s)

    def alarm_for(self, phase: str) -> str | None:
        return dict(self.alarm_in).get(phase, self.alarm)


# A circuit with the heater current transducer, and the board told so.
SENSED_PLANT = (("heater_current_sensor", 1),)
SENSED = (("heater_current_fitted", 1),)
# A switch stuck on in series with a dead element passes no current and heats nothing: no watch has
# anything to report (the probes' limits still judge the fluid).
STUCK_BEHIND_DEAD = (("heater_dead", "dead element"),)

CASES = (
    # A probe reading jumps past the absolute limit: detection within 0.5 s of the crossing is required.
    Case("probe_reads_over_limit", "probe_drift", "over_temperature", "high", 0.5, heater_off=True,
         bypass_open=True, probe="inflow", values={"offset_c": 30.0}),
    Case("probe_open_inflow", "probe_open", "control_probe_failed", "high", 1.0, heater_off=True,
         probe="inflow", harmless_in=("COOLDOWN",)),
    Case("probe_short_reservoir", "probe_short", "control_probe_failed", "high", 1.0, heater_off=True,
         probe="reservoir", harmless_in=("COOLDOWN",)),
    Case("probe_open_abdominal", "probe_open", "monitor_probe_failed", "medium", 1.0, probe="abdominal_1"),
    # An inflow probe drifting, or slipped out of the fluid (it reads the room), leaves the redundant
    # inflow probe: 0.5 degC apart for 2 s (at 0.5 degC/min: a minute).
    Case("probe_drift_inflow_low", "probe_drift", "inflow_disagreement", "high", 65.0, heater_off=True,
         bypass_open=True, probe="inflow", values={"rate_c_per_min": -0.5}, window_s=120.0),
    Case("probe_drift_inflow_high", "probe_drift", "inflow_disagreement", "high", 65.0, heater_off=True,
         bypass_open=True, probe="inflow", values={"rate_c_per_min": 0.5}, window_s=120.0),
    Case("probe_dislodged_inflow", "probe_drift", "inflow_disagreement", "high", 3.0, heater_off=True,
         bypass_open=True, probe="inflow", values={"offset_c": -20.0}, window_s=60.0),
    # A frozen code is a stuck probe once the fluid is seen to move (the redundant inflow probe, 0.1 degC):
    # on fluid held steady a converter far quieter than a code step keeps its code as well. A drug added
    # (1 L from the refrigerator) 10 s after the probe sticks moves the fluid in every phase: a smaller one the
    # controller holds the inflow through within 0.1 degC (docs/hazards.md, H6).
    Case("probe_stuck_inflow", "probe_stuck", "control_probe_failed", "high", 125.0, heater_off=True,
         probe="inflow", window_s=180.0, then=("drug_added", 10.0, (("volume_l", 1.0), ("temp_c", 4.0)))),
    # While PRIMING heats the exchanger up, its own warming hides a stuck switch from the runaway watch
    # (its tolerance widens while the model moves); the bypass is open and no fluid reaches the patient,
    # and the outlet's absolute limit (45.0 degC, over_temperature) acts within this (docs/hazards.md, H8).
    Case("heater_stuck_on", "heater_stuck_on", "heater_runaway", "high", 5.0, heater_off=True, bypass_open=True,
         harmless_in=("COOLDOWN",), allowed_s_in=(("PRIMING", 30.0),),
         alarm_in=(("PRIMING", "over_temperature"),), harmless_after=STUCK_BEHIND_DEAD),
    Case("heater_dead", "heater_dead", "heat_balance", "high", 260.0, heater_off=True, window_s=300.0,
         harmless_in=("COOLDOWN",)),
    # With a current transducer on the heater's supply (heater_current.py) the stuck switch is seen the
    # moment its drive falls, in every phase; a dead element once it has drawn nothing while driven over a
    # few seconds' mean (heater_current.py), where the heat balance takes minutes.
    Case("heater_stuck_on_sensed", "heater_stuck_on", "heater_switch_failed", "high", 1.0, heater_off=True,
         bypass_open=True, harmless_in=("COOLDOWN",), plant=SENSED_PLANT, config=SENSED,
         harmless_after=STUCK_BEHIND_DEAD),
    Case("heater_dead_sensed", "heater_dead", "heater_current_lost", "medium", 20.0, window_s=60.0,
         harmless_in=("COOLDOWN",), plant=SENSED_PLANT, config=SENSED),
    Case("pump_stall", "pump_stall", "pressure_high", "high", 10.0, heater_off=True, pump_stop=True),
    Case("air_in_line", "air_in_line", "air_in_line", "high", 1.0, heater_off=True, pump_stop=True),
    Case("reservoir_low", "reservoir_low", "reservoir_low", "medium", 3.0),
    Case("loop_hang", "loop_hang", None, None, 2.5, heater_off=True, reset="watchdog"),
    # Power loss: the board is back off_s later (the reset time), and nothing was driven meanwhile.
    Case("power_loss", "power_loss", None, None, 5.5, heater_off=True, reset="power_on", values={"off_s": 5.0}),
    Case("link_unplug_30s", "link_unplug", "link_lost", "low", 6.0, replug_after_s=30.0, window_s=60.0,
         harmless_in=("COOLDOWN",)),
    Case("link_unplug_90s", "link_unplug", "host_absent", "high", 61.0, heater_off=True,
         replug_after_s=90.0, window_s=120.0, harmless_in=("COOLDOWN",)),
)


@dataclass
class Result:
    case: str
    phase: str
    ok: bool = True
    detected: str = "-"
    detect_s: float | None = None
    heater_off_s: float | None = None
    heater_off_delay_ms: int | None = None
    max_fluid_c: float = 0.0
    max_circuit_c: float = 0.0
    records: int = 0
    problems: list[str] = field(default_factory=list)

    def fail(self, why: str) -> None:
        self.ok = False
        self.problems.append(why)


class CaseRun:
    def __init__(self, case: Case, phase: str, folder: Path):
        self.case = case
        self.phase = phase
        self.port = folder / "board"
        self.mcu = EmulatedMCU(replace(PlantParams(), **dict(case.plant)), speed=None, host_sync=True,
                               port_link=self.port)
        self.store = Store(folder / "record.sqlite")
        self.inject_ms: int | None = None
        self.phase_since_ms: int | None = None
        self.runner: SessionRunner | None = None
        self.window_recorded = False  # the record reached the end of the window
        self.ended_in = ""  # the runner's outcome

    def record_ms(self, p: Progress) -> int:
        """A record's own time on the emulator's clock: its boot's uptime from where the emulator started
        that boot (a fresh board numbers its boots 1, 2, ... in that order)."""
        assert self.runner is not None
        resets = self.mcu.resets
        boot = self.runner.boot_id
        return (resets[boot - 1][0] if 0 < boot <= len(resets) else 0) + int(p.record["t_ms"])

    def watch(self, p: Progress) -> None:
        """Called for every record: inject at the right moment, stop when the window is over. Judged on
        the record's own time, not on how far the board has run meanwhile: on a loaded machine the
        board runs ahead of a bridge that is merely slow, and the window must end in the record."""
        assert self.runner is not None
        now = self.record_ms(p)
        if self.inject_ms is None:
            if p.phase == self.phase and self.phase_since_ms is None:
                self.phase_since_ms = now
            if self.phase_since_ms is not None and now >= self.phase_since_ms + INJECT_AFTER_S * 1000:
                self.inject()
        elif now >= self.inject_ms + self.case.window_s * 1000:
            self.window_recorded = True
            self.runner.stop()

    def inject(self) -> None:
        """Inject the fault; times are measured from the instant it took effect, which inject returns: a
        now_ms read before it may be earlier by whatever the board ran while this thread was held up (on
        a loaded machine, most of a second)."""
        case = self.case
        self.inject_ms = self.mcu.inject(case.kind, probe=case.probe, **case.values)
        if case.replug_after_s is not None:
            self.mcu.schedule(self.inject_ms + int(case.replug_after_s * 1000), "link_replug")
        if case.then is not None:
            kind, after_s, values = case.then
            self.mcu.schedule(self.inject_ms + int(after_s * 1000), kind, **dict(values))

    def run(self) -> Result:
        result = Result(self.case.name, self.phase)
        self.mcu.start()
        try:
            link = BoardLink(str(self.port), reply_timeout_s=0.3, retries=1)
            if self.case.config:
                link.request("set_config", dict(self.case.config))
            self.runner = SessionRunner(link, self.store, PLAN, self.watch,
                                        reconnect=lambda: BoardLink(str(self.port), reply_timeout_s=0.3, retries=1),
                                        reconnect_s=120.0)
            self.runner.final_phases = ()  # keep recording through FAULT: the window decides the end
            outcome = self.runner.run()
            result.records = outcome.records
            self.ended_in = outcome.phase
            self.runner.link.close()
        finally:
            self.mcu.stop()
        self.check(result, outcome.session_id)
        return result

    def check(self, result: Result, session_id: int) -> None:
        case, mcu = self.case, self.mcu
        if self.inject_ms is None:
            result.fail(f"phase {self.phase} not reached for {INJECT_AFTER_S:.0f} s")
            return
        harmless = self.phase in case.harmless_in
        # 1. Detection.
        detected_ms: int | None = None
        if case.reset is not None:
            resets = [(at, cause) for at, cause in mcu.resets[1:] if at >= self.inject_ms]
            if resets:
                detected_ms = resets[0][0]
                result.detected = f"reset ({resets[0][1]})"
                if resets[0][1] != case.reset:
                    result.fail(f"reset cause {resets[0][1]}, expected {case.reset}")
            else:
                result.fail("no reset")
        elif (alarm := case.alarm_for(self.phase)) is not None:
            raised = [d for _at, kind, d in self.store.events(session_id)
                      if kind == "alarm" and d["state"] == "raised" and d["alarm"] == alarm]
            boot1 = [d for d in raised if d["t_ms"] >= self.inject_ms - 1000]
            if boot1:
                detected_ms = int(boot1[0]["t_ms"])
                result.detected = f"{alarm} ({boot1[0]['priority']})"
                if boot1[0]["priority"] != case.priority:
                    result.fail(f"priority {boot1[0]['priority']}, expected {case.priority}")
            elif not harmless:
                result.fail(f"{alarm} not raised")
            else:
                result.detected = "none needed"
        if detected_ms is not None:
            result.detect_s = max(0.0, (detected_ms - self.inject_ms) / 1000.0)
            allowed_s = case.allowed_s(self.phase)
            if result.detect_s > allowed_s and not harmless:
                result.fail(f"detected after {result.detect_s:.1f} s, allowed {allowed_s:.1f} s")
        # 2. Reactions: heater off within one tick of detection; pump and bypass as the reaction asks.
        if detected_ms is not None and case.heater_off:
            # When the heater stopped after the fault (a dead-man or a power cut can beat detection),
            # and whether it was off one control tick after detection at the latest.
            off_ms = self._first(lambda e: not (e[2] and e[1] > 0), self.inject_ms)
            if off_ms is None or mcu.heating_at(detected_ms + TICK_MS):
                result.fail("heater not off within one control tick of detection")
            else:
                result.heater_off_s = max(0.0, (off_ms - self.inject_ms) / 1000.0)
                result.heater_off_delay_ms = max(0, off_ms - detected_ms)
        end_ms = self.inject_ms + int(case.window_s * 1000)
        if detected_ms is not None and not harmless and case.reset is None:
            check_at = detected_ms + 2 * TICK_MS
            state = self._state_at(check_at)
            if case.pump_stop and state[3] != 0:
                result.fail("pump still running after detection")
            if case.bypass_open and not state[4]:
                result.fail("bypass not opened after detection")
            if case.heater_off and any(mcu.heating_at(t) for t in range(check_at, end_ms, 1000)):
                result.fail("heater on again after detection")
        # 3. The absolute limit for fluid reaching the patient, the whole time.
        result.max_fluid_c = max(max([s.temps_c["abdominal_1"], s.temps_c["abdominal_2"]]
                                     + ([] if s.bypass_open else [s.temps_c["inflow"]])) for s in mcu.truth)
        result.max_circuit_c = max(max(s.temps_c.values()) for s in mcu.truth)
        if result.max_fluid_c >= ABSOLUTE_LIMIT_C:
            result.fail(f"fluid reaching the patient at {result.max_fluid_c:.2f} degC")
        # 4. The record: every record and event of each boot, no gap, nothing left on the board.
        by_boot: dict[int, list[int]] = {}
        for row in self.store.telemetry(session_id):
            by_boot.setdefault(row["boot"], []).append(row["seq"])
        for boot, seqs in by_boot.items():
            if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
                result.fail(f"telemetry gap in boot {boot}")
        # The bridge kept up: the record itself reached the end of the window, or the bridge ended with
        # the session (after a reset the board is at rest: it pulls what is left and ends INTERRUPTED).
        # One that lost its link for good ends DISCONNECTED before the window.
        if not self.window_recorded and self.ended_in == DISCONNECTED:
            result.fail("the record ended before the window did: the bridge lost the board")
        events: dict[int, list[int]] = {}
        for boot, seq in self.store.board_event_seqs(session_id):
            events.setdefault(boot, []).append(seq)
        for boot, seqs in events.items():
            if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
                result.fail(f"event gap in boot {boot}")
        if [e for e in self.store.events(session_id) if e[1] == "gap"]:
            result.fail("the bridge recorded a gap")

    def _first(self, predicate, from_ms: int) -> int | None:  # type: ignore[no-untyped-def]
        for entry in self.mcu.output_log:
            if entry[0] >= from_ms and predicate(entry):
                return entry[0]
        state = self._state_at(from_ms)
        return from_ms if predicate(state) else None

    def _state_at(self, t_ms: int) -> tuple[int, int, bool, int, bool]:
        state = self.mcu.output_log[0]
        for entry in self.mcu.output_log:
            if entry[0] > t_ms:
                break
            state = entry
        return state


def run_case(case: Case, phase: str) -> Result:
    with tempfile.TemporaryDirectory() as folder:
        return CaseRun(case, phase, Path(folder)).run()


def markdown(results: list[Result]) -> str:
    lines = ["| fault | phase | detected as | detection (s) | heater off (s) | max to patient (°C) | "
             "max in circuit (°C) | records | result |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        det = "-" if r.detect_s is None else f"{r.detect_s:.1f}"
        off = "-" if r.heater_off_s is None else f"{r.heater_off_s:.1f}"
        verdict = "pass" if r.ok else "FAIL: " + "; ".join(r.problems)
        lines.append(f"| {r.case} | {r.phase} | {r.detected} | {det} | {off} | {r.max_fluid_c:.2f} | "
                     f"{r.max_circuit_c:.2f} | {r.records} | {verdict} |")
    return "\n".join(lines)


def document(results: list[Result], seconds: float) -> str:
    passed = sum(r.ok for r in results)
    return f"""# Fault matrix

Every fault the emulated board can inject, in every phase where it can occur, on the emulated MCU with
the bridge connected and recording. Written by `make fault-matrix` (`bench/fault_matrix.py`) on
{time.strftime("%Y-%m-%d")}: {passed} of {len(results)} cases passed, in {seconds:.0f} s of wall time.
The TREATMENT column runs in `make test` (tests/e2e/test_fault_matrix.py). What each case must show is
in the module's docstring; the hazards behind them are in docs/hazards.md.

Times are board (virtual) seconds from injection. "max to patient" is the hottest fluid that reached
the patient (the inflow while the bypass was closed, and the cavity); "max in circuit" is the hottest
fluid anywhere, the heat exchanger's outlet included. "none needed" marks a fault that can do no harm
in that phase (for instance a heater switch stuck on while the heater's safety relay is open).

{markdown(results)}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--faults", default=",".join(c.name for c in CASES))
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    chosen = [c for c in CASES if c.name in args.faults.split(",")]
    results = []
    started = time.monotonic()
    for phase in args.phases.split(","):
        for case in chosen:
            result = run_case(case, phase)
            results.append(result)
            print(f"{'pass' if result.ok else 'FAIL'}  {case.name:<24} {phase:<10} {result.detected:<32} "
                  f"detect {result.detect_s}  heater-off {result.heater_off_s}  patient {result.max_fluid_c:.2f} "
                  f"circuit {result.max_circuit_c:.2f} degC"
                  + ("" if result.ok else "  " + "; ".join(result.problems)), flush=True)
    passed = sum(r.ok for r in results)
    print(f"{passed} passed, {len(results) - passed} failed ({time.monotonic() - started:.0f} s)")
    if args.markdown:
        args.markdown.write_text(document(results, time.monotonic() - started))
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
