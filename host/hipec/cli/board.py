"""Commands that speak to a board outside a session: emulate, status, operator actions, configuration,
calibration, tune, flash, and the benchmarks."""
from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hipec import REPO_ROOT
from hipec.cli.exits import EXIT_OK, EXIT_SESSION_NOT_COMPLETE, EXIT_USAGE


def cmd_emulate(args: argparse.Namespace) -> int:
    from hipec.emulator.faults import load_faults
    from hipec.emulator.mcu import EmulatedMCU
    from hipec.emulator.params import load_plant

    from hipec.silicon.data import SiliconUnavailable
    from hipec.silicon.launcher import SiliconMCU

    # Faster than real time the board must not outrun the bridge that supervises it (emulator/pacing.py).
    mcu: EmulatedMCU | SiliconMCU
    if args.mcu == "rp2040":
        try:
            mcu = SiliconMCU(params=load_plant(args.plant), speed=args.speed, faults=load_faults(args.faults),
                             port_link=args.port_link, host_sync=True)
        except SiliconUnavailable as exc:
            print(f"hipec emulate: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        what = "emulated RP2040 (MicroPython's rp2 image in rp2040js, boards/rp2040)"
    else:
        mcu = EmulatedMCU(params=load_plant(args.plant), speed=args.speed, heap_kib=args.heap,
                          faults=load_faults(args.faults), port_link=args.port_link,
                          host_sync=True, settings_file=args.settings)
        what = f"emulated MCU, heap {args.heap} KiB"
    from hipec.emulator import registry

    device = mcu.start()
    listed = registry.register(device, what)
    print(device, flush=True)
    speed = "max" if args.speed is None else f"{args.speed:g}x"
    print(f"{what} running at {speed}; Ctrl-C to stop", flush=True)
    stop = False

    def _stop(_sig: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    seen_resets = 1
    try:
        while not stop and mcu.failed is None:
            time.sleep(0.1)
            # Not after a stop: a Ctrl-C reaches the emulated chip's process too, and its end is no reset.
            while not stop and len(mcu.resets) > seen_resets:
                at_ms, cause = mcu.resets[seen_resets]
                print(f"board reset at {at_ms / 1000:.1f} s virtual: {cause}", flush=True)
                seen_resets += 1
    finally:
        listed.unlink(missing_ok=True)
        mcu.stop()
    if mcu.failed:
        print(f"hipec emulate: error: {mcu.failed}", file=sys.stderr)
        return 1
    return EXIT_OK


OPERATE_COMMANDS = ("ports", "leave-safe-mode", "config", "calibrate")


def cmd_operate(args: argparse.Namespace) -> int:
    from hipec import operate
    from hipec.user_errors import open_board

    if args.command == "ports":
        ports = operate.list_ports()
        if not ports:
            print("no serial ports found")
        for port in ports:
            print(f"{port.device:<20} {port.board or '-':<26} {port.description}")
        return EXIT_OK
    try:
        with open_board(args.port) as link:
            if args.command == "leave-safe-mode":
                lines = operate.leave_safe_mode(link)
            elif args.command == "config":
                lines = (operate.config_get(link, args.names) if args.config_command == "get"
                         else operate.config_set(link, args.settings))
            elif args.calibrate_command == "pump":
                def measured() -> float:
                    if args.measured_ml is not None:
                        return float(args.measured_ml)
                    return float(input("Volume collected in the vessel, mL: "))
                lines = operate.calibrate_pump(link, args.revolutions, measured)
            else:
                lines = operate.calibrate_probe(link, args.probe, args.reference)
    except ValueError as exc:
        print(f"hipec {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for line in lines:
        print(line)
    return EXIT_OK


def cmd_flash(args: argparse.Namespace) -> int:
    from hipec.flash import flash, load_config

    config = load_config(args.config) if args.config else None
    with tempfile.TemporaryDirectory() as workdir:
        lines = flash(args.port, args.board, compiled=not args.source, check=args.check, config=config,
                      workdir=Path(workdir))
    for line in lines:
        print(line)
    if args.check and lines and "differ" in lines[-1]:
        return EXIT_SESSION_NOT_COMPLETE
    return EXIT_OK


def cmd_tune(args: argparse.Namespace) -> int:
    from hipec.user_errors import open_board
    from hipec.runner import Plan
    from hipec.tune import describe, run_tune

    plan = Plan(target_temp_c=args.target, flow_ml_min=args.flow)
    last = [""]

    def progress(state: dict[str, Any]) -> None:
        # One line per whole degree while priming, one per limit cycle while the relay runs.
        if state["state"] == "waiting":
            if state["inflow_c"] is None or state["target_c"] <= 0:
                return
            line = f"priming: inflow {int(state['inflow_c'])} °C, tuning starts at {state['target_c']:.1f} °C"
        else:
            line = f"relay: {state['cycles_done']} of {state['cycles']} limit cycles measured"
        if line != last[0]:
            print(line, flush=True)
            last[0] = line

    with open_board(args.port) as link:
        tune = run_tune(link, plan, args.amplitude_w, args.cycles, progress)
    for line in describe(tune["result"]):
        print(line)
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{args.name}", REPO_ROOT / "bench" / f"{args.name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return int(module.main(args.args))


