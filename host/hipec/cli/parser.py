"""The `hipec` command's arguments: one subcommand per task at the bedside or the bench, each with --help."""
from __future__ import annotations

import argparse
from pathlib import Path

from hipec import REPO_ROOT
from hipec.emulator.process import DEFAULT_HEAP_KIB
from hipec.user_errors import DEFAULT_RECORD

RECORD_FILE = f"SQLite record file (default {DEFAULT_RECORD})"
# Demo speed: a 60-minute treatment plus priming, filling, cooling and draining in about a minute.
DEMO_SPEED = 90.0


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--speed must be a factor > 0 or 'max', not {text!r}") from None
    if not 0 < value <= 100000:
        raise argparse.ArgumentTypeError(f"--speed = {value} is outside 0..100000 (or 'max')")
    return value


def _heap(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--heap must be a whole number of KiB, not {text!r}") from None
    if not 64 <= value <= 4096:
        raise argparse.ArgumentTypeError(f"--heap = {value} KiB is outside 64..4096")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hipec", description="The bedside bridge and bench tools of the HIPEC perfusion controller.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("emulate", help="run the emulated controller board until interrupted",
                       description="Start the emulated MCU: the real firmware under MicroPython, a plant "
                                   "model of the perfusion circuit, and a pseudo-terminal as its USB "
                                   "serial port. The first line printed is the device path.")
    p.add_argument("--speed", type=_speed, default=1.0,
                   help="virtual-time factor (1 = real time) or 'max' (as fast as the CPU allows while "
                        "a host keeps talking; real time while it is silent); default 1")
    p.add_argument("--plant", type=Path, help="TOML file overriding plant-model parameters (docs/plant-model.md)")
    p.add_argument("--faults", type=Path, help="TOML file of [[fault]] entries scheduled in virtual time")
    p.add_argument("--heap", type=_heap, default=DEFAULT_HEAP_KIB,
                   help=f"MicroPython heap in KiB (default {DEFAULT_HEAP_KIB}: what MicroPython's rp2 image gives on "
                        f"an RP2040, which this 64-bit port fills about 1.3 times as fast)")
    p.add_argument("--port-link", type=Path, help="keep a symlink at this path pointing to the device")
    p.add_argument("--settings", type=Path,
                   help="file standing for the board's flash: its settings (calibrations, gains) persist "
                        "there across runs; default a temporary file")
    p.add_argument("--mcu", choices=["unix", "rp2040"], default="unix",
                   help="unix: the firmware on MicroPython's unix port (default); rp2040: on an emulated "
                        "RP2040 running MicroPython's rp2 image with boards/rp2040 (docs/silicon.md; "
                        "--heap and --settings do not apply: the chip has its own heap and flash)")

    p = sub.add_parser("plan", help="write or check a session plan (TOML)",
                       description="`hipec plan new FILE` writes a commented plan to fill in; `hipec plan check "
                                   "FILE` checks it against the C-HIPEC standard and lists every problem with "
                                   "the field, the value and what is allowed (exit status 0 when it may run, 2 "
                                   "when not). A value outside the standard needs an [[override]] with a reason.")
    plan_sub = p.add_subparsers(dest="plan_command", required=True, metavar="ACTION")
    q = plan_sub.add_parser("new", help="write a plan template to fill in")
    q.add_argument("file", type=Path, help="where to write it (not overwritten if it exists)")
    q = plan_sub.add_parser("check", help="check a plan against the clinical standard and the patient's record")
    q.add_argument("file", type=Path, help="the plan file")
    q.add_argument("--db", type=Path, default=Path(DEFAULT_RECORD),
                   help=f"the record whose earlier sessions of the patient are checked too (24 h between "
                        f"sessions, the session's number), if it exists (default {DEFAULT_RECORD})")

    p = sub.add_parser("run", help="run a session plan on a board and record it",
                       description="Check the plan (hipec plan check), push it to the board, confirm the board "
                                   "holds the same values, start on the operator's confirmation and record "
                                   "telemetry and events until the session ends. Without PLAN, the standard "
                                   "session (43.0 °C, 60 min, 5.0 L, 500 mL/min).")
    p.add_argument("plan", type=Path, nargs="?", help="session plan file (hipec plan new writes one)")
    p.add_argument("--port", required=True, help="serial device of the board (e.g. /dev/ttyACM0)")
    p.add_argument("--yes", action="store_true", help="start without asking for confirmation")
    p.add_argument("--resume", action="store_true",
                   help="carry on recording the record's unfinished session (after the bridge was stopped); "
                        "after a board reset interrupted it, continue the treatment for the time that remains "
                        "(the plan pushed again, on confirmation)")
    p.add_argument("--db", type=Path, default=Path(DEFAULT_RECORD), help=RECORD_FILE)
    p.add_argument("--headless", action="store_true",
                   help="no live display; exit status 0 when COMPLETE with the whole treatment time given, 3 "
                        "otherwise (stopped early, aborted, a fault, interrupted), 4 on link loss")

    p = sub.add_parser("report", help="write the PDF, PNG and CSV report of a recorded session",
                       description="A clinician's report of one session from the SQLite record: summary table "
                                   "(plan, time in band, largest deviation, delivered volume, mean flow, treatment "
                                   "time, alarms, overrides, operator actions) and the temperatures with the "
                                   "±0.1 °C band, phases shaded and alarms on the timeline (PDF and PNG), plus "
                                   "every telemetry record as CSV.")
    p.add_argument("session", type=int, help="session number (see hipec history)")
    p.add_argument("--db", type=Path, default=Path(DEFAULT_RECORD), help=RECORD_FILE)
    p.add_argument("--out", type=Path, default=Path("."), help="folder for the report files (default: here)")

    p = sub.add_parser("history", help="list the sessions in a record",
                       description="One line per recorded session: number, start, outcome, patient, plan, "
                                   "treatment time and time in band.")
    p.add_argument("--db", type=Path, default=Path(DEFAULT_RECORD), help=RECORD_FILE)

    p = sub.add_parser("status", help="print the board's current status",
                       description="The board's phase (and the alarm behind a FAULT, in words), every probe, flow, "
                                   "treatment time, the active alarms, and the patient values it holds; at rest, "
                                   "whether the record's last session on this board was interrupted by a reset "
                                   "and can be continued.")
    p.add_argument("--port", required=True, help="serial device of the board")
    p.add_argument("--db", type=Path, default=Path(DEFAULT_RECORD), help=RECORD_FILE)

    sub.add_parser("ports", help="list serial ports, boards that run MicroPython first",
                   description="Every serial port, with what its USB id says: the boards `hipec emulate` runs on "
                               "this machine first, then Raspberry Pi RP2 and Espressif ESP32 boards (and the "
                               "USB-serial chips of common ESP32 boards), then the rest.")

    record_help = f"the session's record, where the action is recorded (default {DEFAULT_RECORD})"
    p = sub.add_parser("ack", help="acknowledge an alarm (or all)",
                       description="Acknowledge a high-priority alarm once its cause is gone; a latched alarm "
                                   "whose condition has cleared then clears. `hipec ack --port P` acknowledges all. "
                                   "Recorded in the board's session of the record.")
    p.add_argument("alarm", nargs="?", default="all", help="alarm name as the board reports it, or all")
    p.add_argument("--port", required=True, help="serial device of the board")
    p.add_argument("--db", type=Path, default=Path(DEFAULT_RECORD), help=record_help)

    for action, text, confirm in (
            ("pause", "hold the session: heater and pump as the phase's hold requires", False),
            ("resume", "resume a paused or faulted session (refused while a stopping alarm is active)", True),
            ("stop", "end the treatment early: go to COOLDOWN, then DRAIN", True),
            ("abort", "abort the session at once (heater off; bypass open)", True),
            ("reset", "return a finished, aborted or faulted board to IDLE", False)):
        asks = f" Asks to type {action} first (--yes does not ask)." if confirm else ""
        p = sub.add_parser(action, help=text, description=text[0].upper() + text[1:] + "." + asks +
                           " Recorded in the board's session of the record.")
        p.add_argument("--port", required=True, help="serial device of the board")
        p.add_argument("--db", type=Path, default=Path(DEFAULT_RECORD), help=record_help)
        if confirm:
            p.add_argument("--yes", action="store_true", help="do not ask for the confirmation")

    p = sub.add_parser("vitals", help="send patient values (core temperature, heart rate) to the board",
                       description="The board alarms on the patient's core temperature and heart rate. A value "
                                   "outside the plausible range, or far from the last one, asks for yes first. "
                                   "`clear` removes a wrong value; acknowledge the alarm it caused afterwards.")
    p.add_argument("--port", required=True, help="serial device of the board")
    p.add_argument("--core", help="core temperature in degC (30..45), or clear")
    p.add_argument("--hr", help="heart rate in /min (20..250), or clear")
    p.add_argument("--db", type=Path, default=Path(DEFAULT_RECORD), help=record_help)
    p.add_argument("--yes", action="store_true", help="send an implausible value without asking")

    p = sub.add_parser("leave-safe-mode", help="end the safe mode a board boot-looped into",
                       description="A board that was reset by its watchdog 3 times in a row boots into safe mode "
                                   "(stored settings not applied, outputs held off; `hipec status` says so). Once "
                                   "the cause is found, this ends it and the board loads its stored settings again.")
    p.add_argument("--port", required=True, help="serial device of the board")

    p = sub.add_parser("config", help="read or change the board's configuration",
                       description="`hipec config get --port P [NAME ...]` prints settings; `hipec config set "
                                   "--port P NAME=VALUE ...` changes them (at rest only; every value is checked "
                                   "against its range first, and a refused change alters nothing). Changes are "
                                   "stored on the board. docs/protocol.md lists every setting with its unit.")
    config_sub = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    q = config_sub.add_parser("get", help="print settings (all without names)")
    q.add_argument("names", nargs="*", help="setting names")
    q.add_argument("--port", required=True, help="serial device of the board")
    q = config_sub.add_parser("set", help="change settings, NAME=VALUE")
    q.add_argument("settings", nargs="+", help="NAME=VALUE, e.g. kp_w_per_c=12 or probe_offset_c=[0,0.1,0,0,0,0,0,0,0]")
    q.add_argument("--port", required=True, help="serial device of the board")

    p = sub.add_parser("calibrate", help="calibrate the pump tubing or a probe",
                       description="`hipec calibrate pump`: the pump turns N revolutions into a graduated vessel "
                                   "(board at rest, bypass open), you enter the volume collected, the board stores "
                                   "mL per revolution. `hipec calibrate probe`: with the probe and a reference "
                                   "thermometer in the same stirred bath, the probe's offset is set so it reads "
                                   "the reference.")
    cal_sub = p.add_subparsers(dest="calibrate_command", required=True, metavar="WHAT")
    q = cal_sub.add_parser("pump", help="tubing calibration (mL per revolution)")
    q.add_argument("--port", required=True, help="serial device of the board")
    q.add_argument("--revolutions", type=int, default=20, help="revolutions to pump (1..200, default 20)")
    q.add_argument("--measured-ml", type=float, help="the volume collected; asked for when not given")
    q = cal_sub.add_parser("probe", help="one-point probe calibration against a reference thermometer")
    q.add_argument("--port", required=True, help="serial device of the board")
    q.add_argument("--probe", required=True, help="inflow, outflow, abdominal_1..4 or reservoir")
    q.add_argument("--reference", type=float, required=True, help="reference thermometer reading, degC")

    p = sub.add_parser("tune", help="relay autotune on the running circuit; stores the derived settings",
                       description="Primes the circuit through the bypass (no patient connected), drives "
                                   "the heater in a relay around the target, derives the circuit's model and "
                                   "gains from the limit cycle and stores them on the board. If the board was "
                                   "at rest, the priming session it starts is aborted at the end.")
    p.add_argument("--port", required=True, help="serial device of the board")
    p.add_argument("--amplitude-w", type=float, default=10.0,
                   help="relay amplitude in W around the steady power (5..300, default 10)")
    p.add_argument("--cycles", type=int, default=4, help="limit cycles to measure (2..8, default 4)")
    p.add_argument("--flow", type=float, default=500.0, help="flow in mL/min to tune at (default 500)")
    p.add_argument("--target", type=float, default=43.0, help="temperature in degC to tune at (default 43.0)")

    p = sub.add_parser("flash", help="deploy the firmware to a board with mpremote, verified by hash",
                       description="Copies the firmware build for the board (controller and board modules "
                                   "precompiled with mpy-cross, main.py) to the board's filesystem with mpremote, "
                                   "only the files that differ, then checks every file by SHA-256 on the board "
                                   "and resets it. A board running the firmware is first asked for its REPL "
                                   "(outputs off; a real board resets into its maintenance boot). --check only "
                                   "reports what differs. --config FILE writes board settings (a [config] table, "
                                   "names as in docs/protocol.md) into the board's settings record.")
    p.add_argument("--board", required=True, choices=["rp2040", "esp32", "emulated"], help="which board")
    p.add_argument("--port", required=True, help="serial device of the board")
    p.add_argument("--check", action="store_true", help="compare only, write nothing")
    p.add_argument("--source", action="store_true", help="copy .py sources instead of mpy-cross bytecode")
    p.add_argument("--config", type=Path, help="TOML with a [config] table to store on the board")

    p = sub.add_parser("bench", help="run a benchmark from bench/ (control, peers, autotune, scenarios, campaign)",
                       description="`hipec bench control --plant FILE --json` runs a whole session on the "
                                   "emulated MCU and prints the control figures (bench/control.py); `peers` "
                                   "runs this controller, simple-pid and an on/off thermostat on the same plant "
                                   "(bench/peers.py); `autotune` tunes on every plant variant (bench/autotune.py); "
                                   "`silicon --json` a session on the emulated RP2040, in cycles (bench/silicon.py); "
                                   "`scenarios --count N --seed S` runs the randomized scenario campaign "
                                   "(bench/scenarios.py); `campaign --plants N --seed S` runs whole sessions on "
                                   "random plants over the documented ranges (bench/campaign.py).")
    p.add_argument("name", choices=["control", "peers", "autotune", "scenarios", "silicon", "campaign"],
                   help="which benchmark")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the benchmark's own options (see --help)")

    p = sub.add_parser("demo", help="emulate a board and run one full default treatment on it",
                       description="Starts `hipec emulate`, runs the default session in virtual time with "
                                   "live progress, then prints a summary and the paths of the SQLite "
                                   "record and the temperature plot.")
    p.add_argument("--speed", type=_speed, default=DEMO_SPEED, help=f"virtual-time factor (default {DEMO_SPEED:g})")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "demo-output", help="folder for the record and plot")
    p.add_argument("--plant", type=Path, help="TOML file overriding plant-model parameters")
    return parser


