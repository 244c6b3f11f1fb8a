"""Bedside commands outside `hipec run`: acknowledge, pause, resume, stop, abort, reset, patient values,
and the board's status. Stop, abort and a resume after a fault ask for their word typed first; each
action is recorded in the board's session of the record (audit.py)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hipec.cli.exits import EXIT_OK, EXIT_USAGE
from hipec.tables import PROBE_NAMES, phase_names, protocol

BEDSIDE_COMMANDS = ("ack", "pause", "resume", "stop", "abort", "reset", "vitals")
CONFIRMED = ("stop", "abort", "resume")


class NotConfirmed(ValueError):
    """A confirmation that cannot be asked (no terminal) and was not given with --yes."""


def _confirmed(args: argparse.Namespace, word: str, question: str) -> bool:
    if getattr(args, "yes", False):
        return True
    if not sys.stdin.isatty():
        raise NotConfirmed(f"{args.command} asks for `{word}` typed at a terminal ({question}); give --yes to "
                           f"{args.command} without asking")
    answer = input(f"{question} Type {word} to confirm: ")
    if answer.strip().lower() == word:
        return True
    print(f"not confirmed: {word} not sent")
    return False


def _vital_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The values typed, checked before the board is asked anything: ValueError naming the one that is wrong."""
    from hipec.vitals import BY_COMMAND, VitalsInputError, parse_value

    fields: dict[str, Any] = {}
    for command, text in (("core", args.core), ("hr", args.hr)):
        if text is None:
            continue
        sign = BY_COMMAND[command]
        try:
            fields[sign.field] = parse_value(sign, text)
        except VitalsInputError as exc:
            raise ValueError(str(exc)) from None
    if not fields:
        raise ValueError("give --core and/or --hr (a value, or clear)")
    return fields


def _vitals(args: argparse.Namespace, link: Any, fields: dict[str, Any]) -> tuple[list[str], dict[str, Any]] | None:
    from hipec.bedside import held_vitals
    from hipec.vitals import BY_FIELD, VitalsBook, consequence

    # What the board holds is what a jump is measured from (its time is not known here: taken as now).
    book = VitalsBook()
    for name, value in held_vitals(link.request("status")).items():
        if value is not None and name in BY_FIELD:
            book.enter(BY_FIELD[name], float(value), 0.0)
    limits = dict(link.request("hello").get("limits", {}))
    for name, value in fields.items():
        doubt = None if value is None else book.doubt(BY_FIELD[name], value)
        doubt = doubt and doubt + consequence(name, value, limits)
        if doubt and not _confirmed(args, "yes", f"{doubt}: send it?"):
            return None
    reply = link.request("set_vitals", fields)
    shown = ", ".join(f"{BY_FIELD[k].label} {'none' if v is None else BY_FIELD[k].show(v)}"
                      for k, v in held_vitals(reply).items() if k in BY_FIELD)
    return [f"the board now holds: {shown}"], fields


def cmd_bedside(args: argparse.Namespace) -> int:
    from hipec import operate
    from hipec.audit import record_action
    from hipec.tables import phase_names, protocol
    from hipec.user_errors import open_board

    if args.db.exists():  # a --db that is not a record is refused before the board is asked anything
        from hipec.store import Store

        Store(args.db).close()
    typed: dict[str, Any] = {}
    if args.command == "vitals":
        try:
            typed = _vital_fields(args)
        except ValueError as exc:
            print(f"hipec vitals: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    with open_board(args.port) as link:
        detail: dict[str, Any] = {}
        try:
            if args.command == "ack":
                lines = operate.acknowledge(link, args.alarm)
                detail = {"alarm": args.alarm}
            elif args.command == "vitals":
                done = _vitals(args, link, typed)
                if done is None:
                    return EXIT_USAGE
                lines, detail = done
            else:
                status = link.request("status")
                allowed = phase_names(protocol.REQUESTS[args.command])
                # Asked only where the board would act: elsewhere its refusal says why at once.
                if args.command in CONFIRMED and status["phase"] in allowed:
                    if args.command != "resume" or status["phase"] == "FAULT":
                        question = {"stop": "End the treatment early (COOLDOWN, then DRAIN)?",
                                    "abort": "Abort the session at once (heater off, bypass open)?",
                                    "resume": f"Resume after the fault ({status['fault']})?"}[args.command]
                        if not _confirmed(args, args.command, question):
                            return EXIT_USAGE
                        detail = {"confirmed": "--yes" if args.yes else f"typed {args.command}"}
                lines = operate.session_action(link, args.command)
        except ValueError as exc:
            print(f"hipec {args.command}: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        for line in lines:
            print(line)
        print(record_action(args.db, link, "ack" if args.command == "ack" else args.command, detail))
    return EXIT_OK


def _temp(value: float | None) -> str:
    return "no reading" if value is None else f"{value:.2f} °C"


def cmd_status(args: argparse.Namespace) -> int:
    from hipec import alarm_words
    from hipec.operate import safe_mode_text
    from hipec.store import board_session_in
    from hipec.user_errors import open_board

    with open_board(args.port) as link:
        status = link.request("status")
        board_id = str(link.request("hello")["board_id"])
    fault = status["fault"]
    print(f"phase {status['phase']}; treatment {status['treatment_s'] / 60.0:.1f} of "
          f"{status['duration_s'] / 60.0:g} min; flow {status['flow_ml_min']:.0f} mL/min")
    if fault != "none":
        print(f"fault: {alarm_words.words(fault)} ({fault})")
    temps = status["temps_c"]
    # In the board's order, a few to a line: a status read at the bedside fits an 80-column terminal.
    words = [f"{name.replace('_', ' ')} {_temp(temps[name])}" for name in PROBE_NAMES if name in temps]
    for first in range(0, len(words), 3):
        print(("probes: " if first == 0 else "        ") + ", ".join(words[first:first + 3]))
    # Highest priority first, as on the dashboard (the board's own table of priorities).
    ranked = sorted(status["alarms"], key=lambda a: -protocol.ALARM_PRIORITIES[protocol.ALARM_NAMES.index(a)]
                    if a in protocol.ALARM_NAMES else 0)
    alarms = [f"{alarm_words.words(a)} ({a})" for a in ranked]
    print("alarms: " + ("\n        ".join(alarms) or "none"))  # one to a line
    core, rate = status.get("core_temp_c"), status.get("heart_rate_bpm")
    print(f"patient values held: core {'none' if core is None else f'{core:.1f} °C'}, heart rate "
          f"{'none' if rate is None else f'{rate} /min'}")
    if status.get("safe_mode"):
        print(safe_mode_text(status["safe_mode"]))
    interrupted = board_session_in(args.db, board_id, lambda store: store.last_interrupted_session())
    if interrupted is not None and status["phase"] in phase_names(protocol.REQUESTS["start"]):
        print(f"session {interrupted.id} in {args.db} was interrupted by a reset of this board: "
              f"`hipec run --resume --port {args.port} --db {args.db}` offers to continue it")
    return EXIT_OK
