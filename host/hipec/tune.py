"""`hipec tune`: the board's relay autotune, from an idle or priming circuit to stored settings.

The experiment runs on the board (firmware autotune.py) while the circuit primes through the bypass,
with no patient connected; this module only brings the board there, starts it, follows it and, when
it started the session itself, ends it again.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hipec.bridge import BoardError, BoardLink
from hipec.runner import Plan
from hipec.tables import phase_names, protocol

# Where the board may start a session for the experiment (FAULT is at rest too, but needs a reset first).
STARTABLE = phase_names(protocol.REQUESTS["start"])
# The inflow must be this close to the target before the relay starts (the board demands 0.2 degC).
READY_WITHIN_C = 0.1


class TuneError(RuntimeError):
    """The autotune could not run or did not finish; the message says why."""


def _check_arguments(link: BoardLink, amplitude_w: float, cycles: int) -> None:
    """The board's verdict on the experiment's arguments before the circuit is primed for it: at rest it
    checks them, then refuses for its phase (commands.py), so a value out of range is refused now and not
    after minutes of heating. Anything but that phase refusal is raised as the board said it."""
    try:
        link.request("tune_start", {"amplitude_w": amplitude_w, "cycles": cycles})
    except BoardError as exc:
        if exc.code != protocol.BAD_STATE:
            raise
        return
    raise TuneError("the board started the autotune at rest")  # cannot be: tune_start needs PRIMING


def run_tune(link: BoardLink, plan: Plan, amplitude_w: float = 10.0, cycles: int = 4,
             progress: Callable[[dict[str, Any]], None] | None = None, poll_s: float = 0.5,
             timeout_s: float = 3600.0) -> dict[str, Any]:
    """Run the autotune and return the board's final tune_status; raise TuneError if it failed."""
    status = link.request("status")
    started = False
    if status["phase"] in STARTABLE:
        _check_arguments(link, amplitude_w, cycles)
        link.request("set_plan", plan.fields())
        link.request("start")
        started = True
    elif status["phase"] != "PRIMING":
        raise TuneError(f"the board is in {status['phase']}: the autotune runs only while priming "
                        "(no patient connected)")
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            status = link.request("status")
            if status["phase"] != "PRIMING":
                raise TuneError(f"the session left PRIMING ({status['phase']}, fault {status['fault']}) "
                                "before the inflow reached the target")
            inflow = status["temps_c"].get("inflow")
            if inflow is not None and status["target_c"] > 0 and abs(inflow - status["target_c"]) <= READY_WITHIN_C:
                break
            if progress is not None:
                progress({"state": "waiting", "inflow_c": inflow, "target_c": status["target_c"]})
            _wait(poll_s, deadline)
        tune = link.request("tune_start", {"amplitude_w": amplitude_w, "cycles": cycles})
        while tune["state"] == "running":
            if progress is not None:
                progress(tune)
            _wait(poll_s, deadline)
            tune = link.request("tune_status")
    finally:
        if started:
            link.request("abort")  # a tuning-only run: end the priming it started
    if tune["state"] != "done":
        raise TuneError(f"autotune {tune['state']}: {tune['message']}")
    return tune


def _wait(poll_s: float, deadline: float) -> None:
    if time.monotonic() > deadline:
        raise TuneError("the autotune did not finish in time")
    time.sleep(poll_s)


def describe(result: dict[str, Any]) -> list[str]:
    """The result as lines for a person: what was measured, the model, the settings now stored."""
    proposed = result["proposed"]
    pid = result["pid"]
    return [
        f"limit cycle: period {result['pu_s']:.1f} s, amplitude {result['amplitude_c']:.3f} °C "
        f"at {result['flow_ml_min']:.0f} mL/min; ultimate gain {result['ku_w_per_c']:.1f} W/°C",
        f"model: gain {result['gain_c_per_w'] * 1000:.2f} m°C/W, lag {result['lag_s']:.1f} s, "
        f"dead time {result['dead_time_s']:.1f} s",
        f"stored: kp_w_per_c {proposed['kp_w_per_c']:.2f}, ti_s {proposed['ti_s']:.1f}, "
        f"heater_volume_ml {proposed['heater_volume_ml']:.0f}, inflow_line_ml {proposed['inflow_line_ml']:.0f}",
        f"plain PID on the probe (Tyreus-Luyben): kp {pid['kp_w_per_c']:.1f} W/°C, ti {pid['ti_s']:.0f} s, "
        f"td {pid['td_s']:.1f} s",
    ]
