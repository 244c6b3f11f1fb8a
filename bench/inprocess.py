"""The firmware in-process under CPython, on a board wired straight to the plant model.

For benchmarks that run many whole sessions (peer controllers, the autotune on every plant variant):
no MicroPython process, no pseudo-terminal, no link latency, so a 90-minute session takes seconds.
The firmware code is the same; what this does not exercise (the MicroPython interpreter and heap, the
link, the emulated board) the emulated MCU does (bench/control.py, tests/e2e).
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hipec import REPO_ROOT
from hipec.emulator.params import PlantParams
from hipec.emulator.plant import PROBES, Plant
from hipec.runner import Plan
from hipec.tables import phase_names, protocol
from hipec.tune import TuneError
from hipec.wire import encode_message

sys.path.insert(0, str(REPO_ROOT / "firmware"))
from controller import app, autotune, session  # noqa: E402
from controller.cutout import Cutout  # noqa: E402

sys.path.insert(0, str(REPO_ROOT / "bench"))
from control import BAND_C, HEATING_UP, percentile  # noqa: E402
from plant_file import settings_record  # noqa: E402

TICK_MS = 100
# A session that reached one of these is over for a benchmark (a pause would wait for an operator).
ENDED = phase_names(protocol.FINAL + (protocol.PAUSED,))
# Ticks wrap at 2**30 as MicroPython's do (boards/interface.py), so the firmware's tick arithmetic is a
# board's.
TICKS_PERIOD = 1 << 30
TICKS_MAX = TICKS_PERIOD - 1
TICKS_HALF = TICKS_PERIOD // 2
# A session that has not ended by then (a controller that never reaches the band) is stopped.
GIVE_UP_S = 3 * 3600


class PlantBoard:
    """The firmware's board HAL wired straight to the plant model: virtual time, no link latency."""

    name = "in-process"
    cutout: Cutout  # the independent over-temperature cut-out, made at power-on (__init__)

    def __init__(self, plant: Plant):
        self.plant = plant
        self.now = 0
        self.rx = bytearray()
        self.heater_pm = 0
        self.cutout = Cutout()
        self.relay = False
        self.pump_msps = 0
        self.bypass = True
        self.settings: bytes | None = None
        self.reset_count = 0

    def ticks_ms(self) -> int:
        return self.now & TICKS_MAX

    def ticks_add(self, t: int, d: int) -> int:
        return (t + d) & TICKS_MAX

    def ticks_diff(self, a: int, b: int) -> int:
        return ((a - b + TICKS_HALF) & TICKS_MAX) - TICKS_HALF

    def idle(self, until: int) -> None:
        self.now += max(0, self.ticks_diff(until, self.ticks_ms()))

    def cpu_us(self) -> int:
        return 0

    def cpu_us_diff(self, end: int, start: int) -> int:
        return end - start

    def reset_cause(self) -> str:
        return "power_on"

    def unique_id(self) -> str:
        return "in-process"

    def boot_id(self) -> int:
        return 1

    def report_crash(self, exc: BaseException) -> None:
        raise exc

    def enter_repl(self) -> None:
        pass

    def heater_set(self, pm: int) -> None:
        self.heater_pm = 0 if self.cutout.tripped else pm

    def heater_enable(self, closed: bool) -> None:
        self.relay = closed and not self.cutout.tripped

    def pump_set(self, msps: int) -> None:
        self.pump_msps = msps

    def pump_steps(self) -> int:
        return int(self.plant.pump_steps)

    def bypass_set(self, is_open: bool) -> None:
        self.bypass = is_open

    def read_rtd(self, codes: Any) -> None:
        """The converters, sampled by the cut-out too, as a real board's cut-out timer samples them."""
        for i, name in enumerate(PROBES):
            codes[i] = self.plant.rtd_code(name)
        if self.cutout.sample(codes[protocol.INFLOW_2], codes[protocol.HEATER_OUTLET]):
            self.heater_pm = 0
            self.relay = False

    def pressure_mmhg(self) -> int:
        return int(self.plant.pressure_mmhg)

    def flow_sensor_ma(self) -> float:
        return self.plant.flow_sensor_ma()

    def heater_current_ma(self) -> float:
        return self.plant.heater_current_ma()

    def reservoir_low(self) -> bool:
        return self.plant.reservoir_low()

    def air_in_line(self) -> bool:
        return self.plant.air_in_line()

    def reset_count_read(self) -> int:
        return self.reset_count

    def reset_count_write(self, count: int) -> None:
        self.reset_count = count

    def wdt_start(self, timeout_ms: int) -> None:
        pass

    def wdt_feed(self) -> None:
        pass

    def settings_read_into(self, buf: bytearray) -> int:
        if not self.settings:
            return 0
        if len(self.settings) > len(buf):
            return -1
        buf[:len(self.settings)] = self.settings
        return len(self.settings)

    def settings_write(self, data: bytes) -> None:
        self.settings = bytes(data)

    def link_read(self, buf: Any) -> int:
        n = min(len(buf), len(self.rx))
        buf[:n] = self.rx[:n]
        del self.rx[:n]
        return n

    def link_write(self, data: Any) -> None:
        pass  # replies are not needed: the bench reads the controller's state directly


@dataclass
class Run:
    """One controller's session: a sample per second and what it ended in."""
    name: str
    t_s: list[int] = field(default_factory=list)
    phase: list[str] = field(default_factory=list)
    true_inflow_c: list[float] = field(default_factory=list)
    true_outlet_c: list[float] = field(default_factory=list)  # the heat exchanger's outlet
    outcome: str = ""
    alarms: list[str] = field(default_factory=list)


class Harness:
    """The controller on a board whose flash holds config (it boots with the site's settings, its
    converters and cut-out set before its first reading), the plan set."""

    def __init__(self, params: PlantParams, plan: Plan, config: dict[str, Any]):
        self.plant = Plant(params)
        self.board = PlantBoard(self.plant)
        self.board.settings = settings_record(config)
        self.ctl = app.Controller(self.board)
        self.msg_id = 0
        self.send("set_plan", plan.fields())
        self.ctl.link.service()

    def send(self, msg_type: str, fields: dict[str, Any] | None = None) -> None:
        self.msg_id += 1
        self.board.rx.extend(encode_message(self.msg_id, msg_type, fields or {}))

    def step(self) -> None:
        """One control period: the plant moves under the outputs, then the firmware ticks."""
        b = self.board
        self.plant.step(TICK_MS / 1000.0, b.heater_pm, b.pump_msps, b.bypass, b.relay)
        b.now += TICK_MS
        if b.now % 1000 == 0:
            self.send("heartbeat")  # the host is there
        self.ctl.link.service()
        self.ctl.tick(b.now, TICK_MS)
        self.ctl.after_tick(b.now)


def tune(params: PlantParams, plan: Plan, config: dict[str, Any]) -> dict[str, Any]:
    """The relay autotune while priming (started at the first moment the inflow is within 0.1 degC of
    the target) and its result; TuneError, saying why, when it fails or does not finish."""
    h = Harness(params, plan, config)
    h.send("start")
    ctl = h.ctl
    started = False
    while h.board.now < GIVE_UP_S * 1000:
        h.step()
        inflow = ctl.probes.temp_c[0]
        if ctl.tuner.state == autotune.IDLE and ctl.session.phase == session.PRIMING and \
                ctl.target_c > 0 and abs(inflow - ctl.target_c) < 0.1:
            h.send("tune_start")
            started = True
        if ctl.tuner.state == autotune.FAILED:
            raise TuneError(f"the autotune failed: {ctl.tuner.message}")
        if ctl.tuner.result is not None:
            return ctl.tuner.result
    if not started:
        raise TuneError(f"the autotune never started: the inflow did not come within 0.1 degC of the target "
                        f"while priming in {GIVE_UP_S // 3600} h of board time")
    raise TuneError(f"the autotune did not finish in {GIVE_UP_S // 3600} h of board time")


def session_run(name: str, params: PlantParams, plan: Plan, config: dict[str, Any],
                make_heater: Callable[[app.Controller], Any] | None) -> Run:
    h = Harness(params, plan, config)
    ctl = h.ctl
    if make_heater is not None:
        ctl.heater = make_heater(ctl)
    run = Run(name)
    h.send("start")
    while h.board.now < GIVE_UP_S * 1000:
        h.step()
        phase = session.PHASE_NAMES[ctl.session.phase]
        if h.board.now % 1000 == 0:
            run.t_s.append(h.board.now // 1000)
            run.phase.append(phase)
            run.true_inflow_c.append(h.plant.true_temps()["inflow"])
            run.true_outlet_c.append(h.plant.t_hx)
            for name in ctl.alarms.active_names():
                if name not in run.alarms:
                    run.alarms.append(name)
        if phase in ENDED:
            run.alarms += [name for name in ctl.alarms.active_names() if name not in run.alarms]
            break
    run.outcome = session.PHASE_NAMES[ctl.session.phase]
    return run


def figures(run: Run, plan: Plan) -> dict[str, Any]:
    """The control figures of one in-process session, judged on the plant's true inflow."""
    sp = plan.target_temp_c
    errors = [abs(t - sp) for t, ph in zip(run.true_inflow_c, run.phase) if ph == "TREATMENT"]
    heated = [t for t, ph in zip(run.true_inflow_c, run.phase) if ph in HEATING_UP]
    reached = next((s for s, t in zip(run.t_s, run.true_inflow_c) if t >= sp - BAND_C), None)
    return {
        "outcome": run.outcome,
        "alarms_raised": run.alarms,
        "treatment_s": sum(1 for ph in run.phase if ph == "TREATMENT"),
        "max_abs_error_c": round(max(errors), 4) if errors else None,
        "p99_abs_error_c": round(percentile(errors, 0.99), 4) if errors else None,
        "time_in_band_pct": round(100.0 * sum(e <= BAND_C for e in errors) / len(errors), 2) if errors else None,
        "overshoot_c": round(max(0.0, max(heated) - sp), 4) if heated else None,
        "heatup_s": reached,
    }
