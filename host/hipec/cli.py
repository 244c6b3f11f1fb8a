"""The `hipec` command: one entry point with a subcommand per task at the bedside or the bench."""
from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from hipec import REPO_ROOT
from hipec.runner import Progress

if TYPE_CHECKING:
    from hipec.plans import SessionPlan
    from hipec.store import Store

# Demo speed: a 60-minute treatment plus priming, filling, cooling and draining in about a minute.
DEMO_SPEED = 90.0
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_SESSION_NOT_COMPLETE = 3
EXIT_LINK = 4


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
    parser = argparse.ArgumentParser(prog="hipec", description=__doc__)
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
    p.add_argument("--heap", type=_heap, default=190, help="MicroPython heap in KiB (default 190, like an RP2040)")
    p.add_argument("--port-link", type=Path, help="keep a symlink at this path pointing to the device")
    p.add_argument("--settings", type=Path,
                   help="file standing for the board's flash: its settings (calibrations, gains) persist "
                        "there across runs; default a temporary file")

    p = sub.add_parser("plan", help="write or check a session plan (TOML)",
                       description="`hipec plan new FILE` writes a commented plan to fill in; `hipec plan check "
                                   "FILE` checks it against the C-HIPEC standard and lists every problem with "
                                   "the field, the value and what is allowed (exit status 0 when it may run, 2 "
                                   "when not). A value outside the standard needs an [[override]] with a reason.")
    plan_sub = p.add_subparsers(dest="plan_command", required=True, metavar="ACTION")
    q = plan_sub.add_parser("new", help="write a plan template to fill in")
    q.add_argument("file", type=Path, help="where to write it (not overwritten if it exists)")
    q = plan_sub.add_parser("check", help="check a plan against the clinical standard")
    q.add_argument("file", type=Path, help="the plan file")

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
    p.add_argument("--db", type=Path, default=Path("hipec-record.sqlite"), help="SQLite record file")
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
    p.add_argument("--db", type=Path, default=Path("hipec-record.sqlite"), help="SQLite record file")
    p.add_argument("--out", type=Path, default=Path("."), help="folder for the report files (default: here)")

    p = sub.add_parser("history", help="list the sessions in a record",
                       description="One line per recorded session: number, start, outcome, patient, plan, "
                                   "treatment time and time in band.")
    p.add_argument("--db", type=Path, default=Path("hipec-record.sqlite"), help="SQLite record file")

    p = sub.add_parser("status", help="print the board's current status")
    p.add_argument("--port", required=True, help="serial device of the board")

    sub.add_parser("ports", help="list serial ports, boards that run MicroPython first",
                   description="Every serial port, with what its USB id says: Raspberry Pi RP2 and Espressif "
                               "ESP32 boards (and the USB-serial chips of common ESP32 boards) are listed first.")

    p = sub.add_parser("ack", help="acknowledge an alarm (or all)",
                       description="Acknowledge a high-priority alarm once its cause is gone; a latched alarm "
                                   "whose condition has cleared then clears. `hipec ack --port P` acknowledges all.")
    p.add_argument("alarm", nargs="?", default="all", help="alarm name as the board reports it, or all")
    p.add_argument("--port", required=True, help="serial device of the board")

    for action, text in (("pause", "hold the session: heater and pump as the phase's hold requires"),
                         ("resume", "resume a paused or faulted session (refused while a stopping alarm is active)"),
                         ("stop", "end the treatment early: go to COOLDOWN, then DRAIN"),
                         ("abort", "abort the session at once (heater off; bypass open)"),
                         ("reset", "return a finished, aborted or faulted board to IDLE")):
        p = sub.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        p.add_argument("--port", required=True, help="serial device of the board")

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

    p = sub.add_parser("bench", help="run a benchmark from bench/ (control, peers, autotune, scenarios)",
                       description="`hipec bench control --plant FILE --json` runs a whole session on the "
                                   "emulated MCU and prints the control figures (bench/control.py); `peers` "
                                   "runs this controller, simple-pid and an on/off thermostat on the same plant "
                                   "(bench/peers.py); `autotune` tunes on every plant variant (bench/autotune.py); "
                                   "`scenarios --count N --seed S` runs the randomized scenario campaign "
                                   "(bench/scenarios.py).")
    p.add_argument("name", choices=["control", "peers", "autotune", "scenarios"], help="which benchmark")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the benchmark's own options (see --help)")

    p = sub.add_parser("demo", help="emulate a board and run one full default treatment on it",
                       description="Starts `hipec emulate`, runs the default session in virtual time with "
                                   "live progress, then prints a summary and the paths of the SQLite "
                                   "record and the temperature plot.")
    p.add_argument("--speed", type=_speed, default=DEMO_SPEED, help=f"virtual-time factor (default {DEMO_SPEED:g})")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "demo-output", help="folder for the record and plot")
    p.add_argument("--plant", type=Path, help="TOML file overriding plant-model parameters")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "emulate":
            return cmd_emulate(args)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "plan":
            return cmd_plan(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command in OPERATE_COMMANDS:
            return cmd_operate(args)
        if args.command == "history":
            return cmd_history(args)
        if args.command == "status":
            return cmd_status(args)
        if args.command == "tune":
            return cmd_tune(args)
        if args.command == "flash":
            return cmd_flash(args)
        if args.command == "demo":
            return cmd_demo(args)
        if args.command == "bench":
            return cmd_bench(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line for the operator, not a traceback
        status = error_exit(exc)
        if status is None:
            raise
        print(f"hipec {args.command}: error: {exc}", file=sys.stderr)
        return status
    return EXIT_USAGE


def error_exit(exc: BaseException) -> int | None:
    """The exit status for an error the operator is told about in one line (4 for the link, 2 for the
    rest); None for an error that is a defect and must show its traceback."""
    from hipec.bridge import BoardError, LinkTimeout
    from hipec.emulator.cable import PortLinkBusy
    from hipec.emulator.faults import FaultFileError
    from hipec.emulator.params import PlantFileError
    from hipec.flash import FlashError
    from hipec.plans import PlanFileError
    from hipec.runner import SessionError
    from hipec.store import RecordError
    from hipec.tune import TuneError

    known = (BoardError, LinkTimeout, FaultFileError, PlantFileError, PlanFileError, SessionError, TuneError,
             RecordError, FlashError, PortLinkBusy, OSError)
    if not isinstance(exc, known):
        return None
    return EXIT_LINK if isinstance(exc, (LinkTimeout, OSError)) else EXIT_USAGE


def cmd_emulate(args: argparse.Namespace) -> int:
    from hipec.emulator.faults import load_faults
    from hipec.emulator.mcu import EmulatedMCU
    from hipec.emulator.params import load_plant

    # Faster than real time the board must not outrun the bridge that supervises it (emulator/pacing.py).
    mcu = EmulatedMCU(params=load_plant(args.plant), speed=args.speed, heap_kib=args.heap,
                      faults=load_faults(args.faults), port_link=args.port_link,
                      host_sync=True, settings_file=args.settings)
    device = mcu.start()
    print(device, flush=True)
    speed = "max" if args.speed is None else f"{args.speed:g}x"
    print(f"emulated MCU running at {speed}, heap {args.heap} KiB; Ctrl-C to stop", flush=True)
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
            while len(mcu.resets) > seen_resets:
                at_ms, cause = mcu.resets[seen_resets]
                print(f"board reset at {at_ms / 1000:.1f} s virtual: {cause}", flush=True)
                seen_resets += 1
    finally:
        mcu.stop()
    if mcu.failed:
        print(f"hipec emulate: error: {mcu.failed}", file=sys.stderr)
        return 1
    return EXIT_OK


class ProgressPrinter:
    """Live progress: one line per phase change, and the current line redrawn in place on a terminal
    (every 5 virtual minutes when the output is a log)."""

    LOG_EVERY_S = 300.0

    def __init__(self, total_s: float):
        self.total_s = total_s
        self.interactive = sys.stdout.isatty()
        self.phase = ""
        self.next_line_s = 0.0

    def __call__(self, p: Progress) -> None:
        r = p.record
        t_s = r["t_ms"] / 1000.0
        line = (f"{t_s / 60:6.1f} min  {p.phase:<9}  inflow {r['inflow_mc'] / 1000:6.2f} °C  "
                f"abdomen {r['abdominal_1_mc'] / 1000:6.2f} °C  heater {r['heater_demand_pm'] / 10:5.1f} %  "
                f"flow {r['flow_ml_min']:4d} mL/min  treatment {r['treatment_s'] // 60:2d}/{self.total_s / 60:.0f} min")
        if p.phase != self.phase:
            self.phase = p.phase
            print(("\r" if self.interactive else "") + line, flush=True)
        elif self.interactive:
            print("\r" + line, end="", flush=True)
        elif t_s >= self.next_line_s:
            print(line, flush=True)
            self.next_line_s = t_s + self.LOG_EVERY_S


OPERATE_COMMANDS = ("ports", "ack", "pause", "resume", "stop", "abort", "reset", "leave-safe-mode", "config",
                    "calibrate")


def cmd_operate(args: argparse.Namespace) -> int:
    from hipec import operate
    from hipec.bridge import BoardLink

    if args.command == "ports":
        ports = operate.list_ports()
        if not ports:
            print("no serial ports found")
        for port in ports:
            print(f"{port.device:<20} {port.board or '-':<26} {port.description}")
        return EXIT_OK
    try:
        with BoardLink(args.port) as link:
            if args.command == "ack":
                lines = operate.acknowledge(link, args.alarm)
            elif args.command in operate.SESSION_ACTIONS:
                lines = operate.session_action(link, args.command)
            elif args.command == "leave-safe-mode":
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


def _open_record(path: Path) -> Any:
    from hipec.store import RecordError, Store

    if not path.exists():
        raise RecordError(f"no record at {path} (give the record file with --db)")
    return Store(path)


def cmd_report(args: argparse.Namespace) -> int:
    from hipec.report import summary_rows, write_report

    store = _open_record(args.db)
    try:
        store.session(args.session)
    except KeyError as exc:
        print(f"hipec report: {exc.args[0]}", file=sys.stderr)
        return EXIT_USAGE
    for label, value in summary_rows(store, args.session):
        print(f"{label:<30} {value}")
    for path in write_report(store, args.session, args.out):
        print(f"wrote {path}")
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from hipec.report import session_plan, summarize

    store = _open_record(args.db)
    sessions = store.sessions()
    if not sessions:
        print(f"no sessions in {args.db}")
    for row in sessions:
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.started_at))
        plan = session_plan(store, row.id)
        patient = plan["patient_id"] if plan else "-"
        s = summarize(store, row.id)
        p = row.plan
        print(f"{row.id:>4}  {started}  {row.outcome or 'not ended':<9} patient {patient:<10} "
              f"{p['target_temp_c']:g} °C {p['duration_min']:g} min {p['flow_ml_min']:g} mL/min  "
              f"treatment {s.treatment_min:.1f} min, {s.time_in_band_pct:.1f} % in band")
    return EXIT_OK


def _resume(args: argparse.Namespace) -> int:
    from hipec.bridge import BoardLink
    from hipec.runner import Plan, SessionRunner

    store = _open_record(args.db)
    session = store.unfinished_session()
    if session is None:
        interrupted = store.last_interrupted_session()
        if interrupted is not None:
            return _continue(args, store, interrupted.id, Plan(**interrupted.plan))
        print(f"hipec run: no unfinished session in {args.db} to resume", file=sys.stderr)
        return EXIT_USAGE
    plan = Plan(**session.plan)
    with BoardLink(args.port) as link:
        runner = SessionRunner(link, store, plan, None if args.headless else ProgressPrinter(plan.duration_min * 60),
                               reconnect=lambda: BoardLink(args.port))
        outcome = runner.resume(session.id)
    print(f"session {outcome.session_id} ended {outcome.phase} (fault: {outcome.fault}); "
          f"{outcome.records} more records in {args.db}")
    warn_conflicts(store)
    return session_exit(outcome.phase)


def _continue(args: argparse.Namespace, store: "Store", session_id: int, plan: Any) -> int:
    """A board reset interrupted the session: continue it for the treatment time that remains, or not."""
    from hipec import continuation
    from hipec.bridge import BoardLink
    from hipec.runner import SessionRunner

    with BoardLink(args.port) as link:
        runner = SessionRunner(link, store, plan, None if args.headless else ProgressPrinter(plan.duration_min * 60),
                               reconnect=lambda: BoardLink(args.port))
        given_s, left_min = continuation.remaining_min(runner, session_id)
        print(f"session {session_id} was interrupted by a board reset after {given_s / 60.0:.1f} of "
              f"{plan.duration_min:g} min of treatment; continuing it runs {left_min:.1f} min more at "
              f"{plan.target_temp_c} °C, {plan.flow_ml_min:g} mL/min, recorded as the same session")
        if not args.yes:
            answer = input("Continue the treatment on the board? Type yes to continue: ")
            if answer.strip().lower() != "yes":
                print(f"not continued; session {session_id} stays ended INTERRUPTED")
                return EXIT_USAGE
        outcome = continuation.continue_session(runner, session_id)
    print(f"session {outcome.session_id} (continued) ended {outcome.phase} (fault: {outcome.fault}); "
          f"{outcome.records} more records in {args.db}")
    warn_conflicts(store)
    return session_exit(outcome.phase)


def cmd_plan(args: argparse.Namespace) -> int:
    from hipec import plans

    if args.plan_command == "new":
        if args.file.exists():
            print(f"hipec plan new: {args.file} exists; not overwritten", file=sys.stderr)
            return EXIT_USAGE
        args.file.write_text(plans.TEMPLATE)
        print(f"wrote {args.file}: fill it in, then `hipec plan check {args.file}`")
        return EXIT_OK
    plan = plans.load(args.file)
    problems = plans.check(plan)
    if problems:
        print(f"{args.file}: {len(problems)} problem(s); the plan may not run:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    print(summary_line(plan))
    for override in plan.overrides:
        print(f"  override {override.field}: {override.reason}")
    return EXIT_OK


def summary_line(plan: SessionPlan) -> str:
    drugs = ", ".join(f"{name} {dose:g} mg" for name, dose in plan.drugs)
    return (f"plan OK: patient {plan.patient_id}, session {plan.session_number} ({plan.mode}, {plan.technique}); "
            f"{plan.target_temp_c:g} °C at the {plan.controlled_point}, {plan.duration_min:g} min, "
            f"{plan.volume_l:g} L, {plan.flow_ml_min:g} mL/min; {drugs} in {plan.carrier}; PCI {plan.pci}, "
            f"CC-{plan.cc}")


def warn_conflicts(store: Store) -> None:
    """Records that came again with other content are kept aside in the record: say so, loudly."""
    if store.conflicts:
        print(f"WARNING: {store.conflicts} record(s) arrived again with other content than stored; both "
              f"versions are in the record as record_conflict events", file=sys.stderr)


def session_exit(phase: str) -> int:
    """The exit status of `hipec run`: 0 completed (its whole planned treatment time), 4 the link never
    came back, 3 ended otherwise (STOPPED early by the operator among them)."""
    from hipec.store import DISCONNECTED

    if phase == "COMPLETE":
        return EXIT_OK
    return EXIT_LINK if phase == DISCONNECTED else EXIT_SESSION_NOT_COMPLETE


def cmd_run(args: argparse.Namespace) -> int:
    from hipec import plans
    from hipec.bridge import BoardLink
    from hipec.runner import Plan, SessionRunner
    from hipec.store import Store

    if args.resume:
        return _resume(args)
    record = None
    plan = Plan()
    if args.plan is not None:
        session_plan = plans.load(args.plan)
        problems = plans.check(session_plan)
        if problems:
            print(f"hipec run: {args.plan}: {len(problems)} problem(s); not started:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return EXIT_USAGE
        plan = session_plan.board_plan()
        record = session_plan.record()
        print(summary_line(session_plan))
    if not args.yes and not args.headless:
        answer = input("Start the session on the board? Type yes to start: ")
        if answer.strip().lower() != "yes":
            print("not started")
            return EXIT_USAGE
    store = Store(args.db)
    with BoardLink(args.port) as link:
        runner = SessionRunner(link, store, plan, plan_record=record, reconnect=lambda: BoardLink(args.port))
        if args.headless or not sys.stdout.isatty():
            runner.on_progress = None if args.headless else ProgressPrinter(plan.duration_min * 60)
            outcome = runner.run()
        else:
            from hipec.dashboard import Dashboard, run_live

            patient = str(record["patient_id"]) if record else ""
            outcome = run_live(runner, Dashboard(plan, patient))
    print(f"session {outcome.session_id} ended {outcome.phase} (fault: {outcome.fault}); "
          f"{outcome.records} records in {args.db}")
    warn_conflicts(store)
    return session_exit(outcome.phase)


def cmd_status(args: argparse.Namespace) -> int:
    from hipec.bridge import BoardLink

    with BoardLink(args.port) as link:
        status = link.request("status")
    temps = ", ".join(f"{k} {v:.2f}" if v is not None else f"{k} --" for k, v in status["temps_c"].items())
    print(f"phase {status['phase']} (fault: {status['fault']}); {temps} °C; flow {status['flow_ml_min']:.0f} mL/min; "
          f"treatment {status['treatment_s']}/{status['duration_s']} s")
    if status.get("safe_mode"):
        from hipec.operate import safe_mode_text
        print(safe_mode_text(status["safe_mode"]))
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
    from hipec.bridge import BoardLink
    from hipec.runner import Plan
    from hipec.tune import describe, run_tune

    plan = Plan(target_temp_c=args.target, flow_ml_min=args.flow)
    last = [""]

    def progress(state: dict[str, Any]) -> None:
        # One line per whole degree while priming, one per limit cycle while the relay runs.
        if state["state"] == "waiting":
            if state["inflow_c"] is None or state["target_c"] <= 0:
                return
            line = f"priming: inflow {int(state['inflow_c'])} degC, tuning starts at {state['target_c']:.1f}"
        else:
            line = f"relay: {state['cycles_done']} of {state['cycles']} limit cycles measured"
        if line != last[0]:
            print(line, flush=True)
            last[0] = line

    with BoardLink(args.port) as link:
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


def cmd_demo(args: argparse.Namespace) -> int:
    from hipec.bridge import BoardLink
    from hipec.report import band_c, plot_temperatures, summarize
    from hipec.runner import Plan, SessionRunner
    from hipec.store import Store

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    db_path = args.out / f"demo-{stamp}.sqlite"
    plot_path = args.out / f"demo-{stamp}-temperatures.png"
    speed = "max" if args.speed is None else str(args.speed)
    cmd = [sys.executable, "-m", "hipec", "emulate", "--speed", speed]
    if args.plant:
        cmd += ["--plant", str(args.plant)]
    plan = Plan()
    print(f"Starting the emulated MCU (MicroPython, 190 KiB heap) at {speed}x virtual time ...", flush=True)
    with tempfile.TemporaryFile() as errors:
        emulator = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            assert emulator.stdout is not None
            device = emulator.stdout.readline().strip()
            if not device.startswith("/dev/"):
                errors.seek(0)
                print(f"hipec demo: error: the emulator did not start: {errors.read().decode()}", file=sys.stderr)
                return 1
            print(f"Board on {device}. Plan: {plan.target_temp_c} °C for {plan.duration_min:g} min, "
                  f"{plan.volume_l} L at {plan.flow_ml_min:g} mL/min, controlled at the {plan.controlled_point}.",
                  flush=True)
            store = Store(db_path)
            with BoardLink(device) as link:
                outcome = SessionRunner(link, store, plan, ProgressPrinter(plan.duration_min * 60)).run()
        finally:
            emulator.terminate()
            emulator.wait(timeout=10)
    summary = summarize(store, outcome.session_id)
    plot_temperatures(store, outcome.session_id, plot_path)
    print()
    print(f"Session {outcome.session_id} ended {outcome.phase} (fault: {outcome.fault})")
    print(f"  phases:            {' -> '.join(summary.phases)}")
    print(f"  treatment time:    {summary.treatment_min:.1f} min in band")
    band = band_c(store.session(outcome.session_id))
    print(f"  in ±{band:g} °C:        {summary.time_in_band_pct:.1f} % of treatment records, as the board judged "
          f"them; max deviation {summary.max_deviation_c:.3f} °C (measured)")
    print(f"  delivered volume:  {summary.delivered_l:.1f} L pumped, mean flow {summary.mean_flow_ml_min:.0f} mL/min")
    print(f"  alarms raised:     {', '.join(summary.alarms_raised) or 'none'}")
    print(f"  records stored:    {summary.records}")
    print(f"  record (SQLite):   {db_path}")
    print(f"  temperature plot:  {plot_path}")
    return session_exit(outcome.phase)


if __name__ == "__main__":
    raise SystemExit(main())
