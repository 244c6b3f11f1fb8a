"""Peer controllers on the same plant and the same sensors, side by side in one run.

Usage: python bench/peers.py [--plant FILE] [--json] [--plot PNG]
       hipec bench peers [--plant FILE] [--json] [--plot PNG]

The firmware runs in-process under CPython on a board wired straight to the plant model (the same
probes, converter noise and seed for every controller), with the whole firmware around the heater
controller unchanged: probes, supervisor and alarms, session, pump, outlet cap. Only the heater
controller is swapped:
  firmware      this project's controller, with the settings its autotune stored
  simple-pid    `simple-pid` from PyPI on the inflow probe, gains from the same autotune (the plain PID
                its relay experiment proposes: Tyreus-Luyben from Ku and Pu), output limited to the cap
  on/off        a thermostat with +-0.05 degC hysteresis driving the heater at the outlet cap, as simple
                fluid warmers do
First the autotune runs once (firmware autotune.py, while priming); then a whole session per
controller, all with the widest temp_high/temp_low band (1.0 degC; the peers overshoot the standard
0.5 degC while heating up and would be stopped there) and priming ending at the first moment in band
(the thermostat is never in band for 30 s in a row). Figures per controller: outcome, alarms raised,
max/p99 |error| of the true inflow during TREATMENT, time in +-0.1 degC, overshoot, heat-up time. --plot draws the three inflow traces on one plot.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simple_pid import PID

from hipec import REPO_ROOT
from hipec.emulator.params import PlantFileError
from hipec.runner import Plan
from hipec.tune import TuneError

sys.path.insert(0, str(REPO_ROOT / "bench"))
from control import BAND_C  # noqa: E402
from inprocess import Run, figures, session_run, tune  # noqa: E402
from plant_file import load_all  # noqa: E402

from controller import app, heater  # noqa: E402  (on the path through inprocess)


class OnOff:
    """Thermostat: full (capped) power below the band, off above it, hold in between."""

    HYSTERESIS_C = 0.05

    def __init__(self, cap: Callable[[float, float], float]):
        self.cap = cap
        self.on = True

    def reset(self) -> None:
        self.on = True

    def applied(self, power_w: float, dt_s: float) -> None:
        pass  # no model of the element

    def update(self, setpoint_c: float, measured_c: float, inlet_c: float, flow_ml_min: float, dt_s: float,
               outlet_c: float | None = None) -> float:
        if measured_c < setpoint_c - self.HYSTERESIS_C:
            self.on = True
        elif measured_c > setpoint_c + self.HYSTERESIS_C:
            self.on = False
        return self.cap(inlet_c, flow_ml_min) if self.on else 0.0


class SimplePid:
    """simple-pid on the inflow probe, output limited to what the firmware's outlet cap allows."""

    def __init__(self, kp: float, ti_s: float, td_s: float, cap: Callable[[float, float], float]):
        self.gains = (kp, kp / ti_s, kp * td_s)
        self.cap = cap
        self.pid = self._new(0.0)

    def _new(self, setpoint_c: float) -> PID:
        kp, ki, kd = self.gains
        return PID(kp, ki, kd, setpoint=setpoint_c, sample_time=None, output_limits=(0.0, 3000.0))

    def reset(self) -> None:
        self.pid = self._new(0.0)

    def applied(self, power_w: float, dt_s: float) -> None:
        pass  # no model of the element

    def update(self, setpoint_c: float, measured_c: float, inlet_c: float, flow_ml_min: float, dt_s: float,
               outlet_c: float | None = None) -> float:
        if self.pid.setpoint != setpoint_c:
            self.pid.setpoint = setpoint_c
        self.pid.output_limits = (0.0, self.cap(inlet_c, flow_ml_min))
        return float(self.pid(measured_c, dt=dt_s))


# The peers overshoot past the standard 0.5 degC alarm band while heating up, and the supervisor would
# end their sessions there: they run with the widest band so their treatment is seen. The on/off
# thermostat never stays in band for prime_stable_s: they enter HEATING at the first moment in band.
PEER_SETTINGS = {"alarm_band_c": 1.0, "prime_stable_s": 0}


def peer_heaters(pid: dict[str, float]) -> dict[str, Callable[[app.Controller], Any]]:
    """Each peer by name: what makes its heater controller for a controller's configuration (pid: the
    plain PID the autotune proposes, for simple-pid)."""
    def cap(ctl: app.Controller) -> Callable[[float, float], float]:
        return heater.HeaterController(ctl.config).cap_w

    return {"simple-pid": lambda ctl: SimplePid(pid["kp_w_per_c"], pid["ti_s"], pid["td_s"], cap(ctl)),
            "on/off": lambda ctl: OnOff(cap(ctl))}


def plot(runs: list[Run], plan: Plan, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (whole, zoom) = plt.subplots(2, 1, figsize=(10, 7))
    for run in runs:
        minutes = [t / 60.0 for t in run.t_s]
        whole.plot(minutes, run.true_inflow_c, label=run.name, linewidth=0.9)
        zoom.plot(minutes, run.true_inflow_c, label=run.name, linewidth=0.9)
    sp = plan.target_temp_c
    for ax in (whole, zoom):
        ax.axhline(sp, color="black", linewidth=0.6)
        ax.axhspan(sp - BAND_C, sp + BAND_C, color="green", alpha=0.12, label="±0.1 °C")
        ax.set_xlabel("session time (min)")
        ax.set_ylabel("true inflow (°C)")
    zoom.set_ylim(sp - 0.6, sp + 0.6)
    whole.set_title("Same plant, same sensors: inflow temperature by heater controller")
    whole.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hipec bench peers", description=__doc__.splitlines()[0])
    parser.add_argument("--plant", type=Path, help="TOML with [plant], [plan] and [config] tables")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--plot", type=Path, help="write the three inflow traces to this PNG")
    args = parser.parse_args(argv)
    try:
        params, plan, config = load_all(args.plant)
        result = tune(params, plan, config)
    except (PlantFileError, TuneError) as exc:
        # One line: the peers need the gains the relay experiment proposes, and there are none.
        print(f"{parser.prog}: error: {args.plant or 'the default plant'}: {exc}", file=sys.stderr)
        return 2
    tuned = dict(config, **PEER_SETTINGS, **result["proposed"])
    pid = result["pid"]
    runs = [session_run("firmware", params, plan, tuned, None)]
    runs += [session_run(name, params, plan, tuned, make) for name, make in peer_heaters(pid).items()]
    out = {"autotune": {k: result[k] for k in ("ku_w_per_c", "pu_s", "lag_s", "dead_time_s")},
           "pid_gains": pid, "controllers": {run.name: figures(run, plan) for run in runs}}
    if args.plot:
        plot(runs, plan, args.plot)
    if args.json:
        print(json.dumps(out))
    else:
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
