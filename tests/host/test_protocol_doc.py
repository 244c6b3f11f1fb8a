"""docs/protocol.md stays true: its frame examples decode to the messages shown beside them, and its
tables list exactly the requests, configuration fields and telemetry columns the firmware has."""
from __future__ import annotations

import json
import re
import sys

import cbor2
import pytest

from hipec import REPO_ROOT
from hipec.wire import decode_frame

DOC = (REPO_ROOT / "docs" / "protocol.md").read_text()
sys.path.insert(0, str(REPO_ROOT / "firmware"))
from controller import commands, config, tables, telemetry  # noqa: E402


def test_every_frame_example_decodes_to_its_message() -> None:
    examples = re.findall(r"message: (.*)\nframe:\s+([0-9a-f ]+)\n", DOC)
    assert len(examples) >= 6
    for message, frame in examples:
        data = bytes.fromhex(frame)
        assert data[-1] == 0 and 0 not in data[:-1]
        assert cbor2.loads(decode_frame(data[:-1])) == json.loads(message)


def test_the_crc_check_value_is_right() -> None:
    import binascii
    assert "0xCBF43926" in DOC and binascii.crc32(b"123456789") == 0xCBF43926


def test_request_table_lists_every_request() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \| .* \| .* \| .* \|$", DOC.split("### Plan fields")[0], re.M))
    # Every request has a handler of its name (the phase commands share one).
    requests = {name for name in tables.REQUESTS
                if name in tables.PHASE_COMMANDS or callable(getattr(commands.Commands, name, None))}
    assert requests == set(tables.REQUESTS), requests ^ set(tables.REQUESTS)
    assert requests <= documented, requests - documented


def test_configuration_table_matches_the_firmware() -> None:
    section = DOC.split("### Configuration fields")[1].split("###")[0]
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", section, re.M))
    assert documented == set(config.SPEC)
    defaults = config.Config()
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| [^|]+ \| (?:each )?([-0-9.]+)\.\.([-0-9.]+) \| [^|]* \| ([-0-9.]+) \|$",
                      section, re.M)
    assert len(rows) == len(config.SPEC)
    for name, low, high, default in rows:
        _kind, spec_low, spec_high, _unit = config.SPEC[name]
        assert (float(low), float(high)) == (spec_low, spec_high), name
        value = getattr(defaults, name)
        value = value[0] if config.SPEC[name][0] == config.PER_PROBE else value
        assert float(default) == pytest.approx(value), name


def test_telemetry_columns_match_the_firmware() -> None:
    section = DOC.split("## 8. Telemetry records")[1]
    for name in telemetry.FIELDS:
        assert f"`{name}`" in section


def test_alarm_table_lists_every_alarm_in_bit_order() -> None:
    section = DOC.split("### Alarms")[1].split("## 7.")[0]
    rows = re.findall(r"^\| (\d+) \| `([a-z_]+)`.* \| (high|medium|low) \|", section, re.M)
    assert [(int(bit), name, prio) for bit, name, prio in rows] == [
        (i, name, tables.PRIORITY_NAMES[tables.ALARM_PRIORITIES[i]]) for i, name in enumerate(tables.ALARM_NAMES)]


def test_alarm_table_gives_each_rules_reactions_and_latching() -> None:
    section = DOC.split("### Alarms")[1].split("## 7.")[0]
    rows = re.findall(r"^\| (\d+) \| `([a-z_]+)`.* \| (high|medium|low) \| (.*) \|$", section, re.M)
    words = {tables.HEATER_OFF: "heater off", tables.BYPASS: "bypass", tables.PUMP_STOP: "pump stop",
             tables.FAULT_HOLD: "FAULT", tables.PAUSE_HOLD: "PAUSED"}
    assert len(rows) == tables.N_ALARMS
    for bit, name, _priority, reaction in rows:
        i = int(bit)
        for flag, word in words.items():
            assert (word in reaction) == bool(tables.ALARM_REACTIONS[i] & flag), (name, word, reaction)
        assert tables.ALARM_LATCHING[i] == (tables.ALARM_PRIORITIES[i] == tables.HIGH)  # the section says: high-priority alarms latch


def test_request_table_gives_the_phases_each_request_is_allowed_in() -> None:
    table = DOC.split("## 5. Requests")[1].split("### Plan fields")[0]
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| [^|]* \| ([^|]*) \|", table, re.M))
    names = tables.PHASE_NAMES
    at_rest = re.search(r"\*\*At rest\*\* means (.*)\.", DOC)
    assert at_rest and re.findall(r"`([A-Z]+)`", at_rest.group(1)) == [names[p] for p in tables.AT_REST]
    phases = re.search(r"Phases, in order: (.*?) \(", DOC, re.S)
    assert phases and re.findall(r"`([A-Z]+)`", phases.group(1)) == list(names)
    for request, allowed in tables.REQUESTS.items():
        text = rows[request]
        listed = re.findall(r"`([A-Z]+)`", text.split(";")[0])
        if allowed == tables.ANY_PHASE:
            assert listed == [], (request, text)
        elif allowed == tables.AT_REST:
            assert text.startswith("at rest"), (request, text)
        else:
            assert tuple(listed) == tuple(names[p] for p in allowed), (request, text)


def test_the_nesting_limit_counts_the_envelope_as_the_document_says() -> None:
    from controller import cbor
    assert "the envelope counted" in DOC
    value: object = 0
    for _ in range(14):
        value = [value]
    sixteen = [2, 1, "echo", {"v": value}]  # the envelope, the fields map, then 14 lists: 16 levels
    assert cbor.loads(cbor.dumps(sixteen)) == sixteen
    with pytest.raises(cbor.CBORError):
        cbor.loads(cbor.dumps([2, 1, "echo", {"v": [value]}]))  # 17
    with pytest.raises(cbor.CBORError):
        cbor.loads(b"\x81" * 17 + b"\x00")


def _reply_row(request: str) -> str:
    (row,) = re.findall(rf"^\| `{request}` \| .*$", DOC, re.M)
    return row


def test_every_field_of_hello_status_and_diagnostics_is_documented() -> None:
    """A client written from the document alone learns every field the board sends, nested ones too."""
    sys.path.insert(0, str(REPO_ROOT / "tests" / "firmware"))
    from controller import app
    from fakeboard import FakeBoard

    ctl = app.Controller(FakeBoard(30.0), ring_records=10)
    hello = ctl.commands.hello("hello", {})
    status = ctl.commands.status("status", {})
    diagnostics = ctl.commands.diagnostics("diagnostics", {})
    for request, reply in (("hello", hello), ("status", status), ("diagnostics", diagnostics)):
        named = set(re.findall(r"`([a-z_0-9]+)`", _reply_row(request)))
        assert set(reply) - named == set(), f"{request}: undocumented fields {sorted(set(reply) - named)}"
    for request, reply, nested in (("diagnostics", diagnostics, "perf"), ("diagnostics", diagnostics, "link"),
                                   ("diagnostics", diagnostics, "cutout"), ("hello", hello, "limits")):
        named = set(re.findall(r"`([a-z_0-9]+)`", _reply_row(request)))
        inner = reply[nested]
        assert set(inner) - named == set(), f"{nested}: undocumented fields {sorted(set(inner) - named)}"
