"""The firmware on emulated RP2040 silicon (hipec.silicon): MicroPython's rp2 image in rp2040js, the
firmware and boards/rp2040 on its littlefs, the plant behind its pins. A short run of each part: boot
and hello over USB CDC, a minute of control with the plant through the MAX31865s, the ADC, the GPIO and
the step pin, an open probe seen through the converter's fault bit, a watchdog reset, one flash through
the raw REPL. The long session is `make silicon` (bench/silicon.py)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

from hipec.bridge import BoardLink
from hipec.flash import files_for, flash
from hipec.silicon.data import missing

if TYPE_CHECKING:
    from hipec.silicon.launcher import SiliconMCU

MISSING = missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"no emulated RP2040 here: {MISSING}")

# What the firmware read through a converter against the plant's probe: the converter's 15-bit
# resolution (0.03 degC) and the probe's noise (0.01 degC) on a steady probe; while the circuit heats
# (up to 0.5 degC/s in priming) the firmware's 1 s filter lags it as well.
STEADY_TOLERANCE_C = 0.1
# Wall seconds a reply may take: the emulated chip runs several times slower than a real one while it
# is busy, slower still on a loaded machine, and BoardLink's 1 s is meant for the real one.
REPLY_TIMEOUT_S = 20.0
HEATING_TOLERANCE_C = 1.0


@pytest.fixture(scope="module")
def chip(tmp_path_factory: pytest.TempPathFactory) -> Iterator["SiliconMCU"]:
    """One chip for the module, booted once (the tests below run in order on it: hello, control, the
    watchdog, then flashing): its filesystem holds the rp2040 build but for an older main.py, which runs
    the same firmware and which the flash must replace."""
    from hipec.silicon.launcher import SiliconMCU
    folder = tmp_path_factory.mktemp("rp2040")
    main_py = next(f for f in files_for("rp2040") if f.remote == "main.py")
    older = folder / "main.py"
    older.write_bytes(main_py.local.read_bytes() + b"# an older main.py\n")
    files = [(f.local, f.remote) for f in files_for("rp2040") if f is not main_py] + [(older, "main.py")]
    board = SiliconMCU(host_sync=True, files=files, port_link=folder / "port")
    board.start()
    yield board
    board.stop()


def run_for(chip: "SiliconMCU", link: BoardLink, chip_ms: int) -> list[dict[str, Any]]:
    """Speak to the board once per second of its clock, as the bridge does, for chip_ms; the statuses."""
    statuses = []
    until = chip.now_ms + chip_ms
    while chip.now_ms < until:
        mark = chip.now_ms
        statuses.append(link.request("status"))
        assert chip.wait_until(mark + 1000, timeout_s=120.0), chip.stderr_tail()
    return statuses


def test_boots_and_answers_hello_over_usb_cdc(chip: "SiliconMCU") -> None:
    with BoardLink(chip.device, reply_timeout_s=REPLY_TIMEOUT_S) as link:
        hello = link.request("hello")
    assert hello["board"] == "rp2040-pico" and hello["reset_cause"] == "power_on"
    assert chip.resets == [(0, "power_on")]


def test_a_minute_of_control_through_the_converters_adc_and_step_pin(chip: "SiliconMCU") -> None:
    with BoardLink(chip.device, reply_timeout_s=REPLY_TIMEOUT_S) as link:
        link.request("set_plan", {"target_temp_c": 43.0, "flow_ml_min": 500.0, "volume_l": 5.0, "duration_min": 60.0})
        link.request("start")
        started_ms = chip.now_ms
        start_inflow = chip.plant.true_temps()["inflow"]
        statuses = run_for(chip, link, 60_000)
        status = link.request("status")
        diagnostics = link.request("diagnostics")
        # A probe pulled out of its converter: the chip flags the conversion (fault bit), the driver
        # reads and clears the fault status and reports the open code.
        chip.inject("probe_open", probe="reservoir", duration_s=5.0)
        run_for(chip, link, 2_000)
        opened = link.request("status")
    assert status["phase"] in ("PRIMING", "HEATING") and status["alarms"] == [], status
    # The converters: what the firmware read is the plant's probe (the status was taken a moment before).
    probe_c = chip.plant.probe_c
    assert abs(status["temps_c"]["reservoir"] - probe_c["reservoir"]) < STEADY_TOLERANCE_C, (status, probe_c)
    for name in ("inflow", "heater_outlet", "inflow_2"):
        assert abs(status["temps_c"][name] - probe_c[name]) < HEATING_TOLERANCE_C, (name, status, probe_c)
    truth = chip.plant.true_temps()
    # The heater's pin and relay drove the plant: the inflow warmed.
    assert any(pm > 0 and relay for _t, pm, relay, _pump, _bypass in chip.output_log)
    assert truth["inflow"] > start_inflow + 1.0, (start_inflow, truth["inflow"])
    # The STEP pin's edges moved the fluid the firmware commanded (within the 5 % the standard allows).
    assert status["delivered_ml"] > 0
    assert abs(chip.plant.delivered_ml - status["delivered_ml"]) < 0.05 * status["delivered_ml"]
    # The pressure transducer through the ADC (0.23 mmHg a code, the board's whole mmHg; the flow, and
    # with it the pressure, moves 0.4 % between the status and now).
    assert abs(status["pressure_mmhg"] - chip.plant.pressure_mmhg) <= 2.0
    assert diagnostics["overruns"] == 0 and len(statuses) >= 60
    assert chip.now_ms - started_ms >= 60_000
    assert opened["temps_c"]["reservoir"] is None, opened
    assert [a for a in opened["alarms"] if a.endswith("probe_failed")], opened


def test_the_watchdog_resets_a_hung_chip(chip: "SiliconMCU") -> None:
    before = len(chip.resets)
    with BoardLink(chip.device, reply_timeout_s=REPLY_TIMEOUT_S) as link:
        first = link.request("hello")
        hung_at = chip.inject("loop_hang")  # the chip's time the hang took effect
        assert chip.wait_until(hung_at + 2_500, timeout_s=120.0)
    assert [cause for _at, cause in chip.resets[before:]] == ["watchdog"], chip.resets
    reset_at = chip.resets[-1][0]
    # The firmware's 2 s timeout on the chip's clock, from its last feed: at most one pass of the main loop
    # before the host's inject landed: a 100 ms tick period, and the pass itself late by a tick with its
    # collection and a reply of the link (docs/benchmarks.md, "Emulated RP2040 silicon": 31.5 ms p99 and
    # up to 71 ms; 150 ms in all was once exceeded, by 7 ms).
    assert 2_000 - 250 <= reset_at - hung_at <= 2_000 + 10
    with BoardLink(chip.device, reply_timeout_s=REPLY_TIMEOUT_S) as link:
        hello = link.request("hello")
    assert hello["reset_cause"] == "watchdog" and hello["boot_id"] != first["boot_id"]


def test_one_flash_through_the_raw_repl(chip: "SiliconMCU") -> None:
    expected = files_for("rp2040")
    before = len(chip.resets)
    # The firmware hands its link to the REPL (a reset into the maintenance boot). hipec flash asks for
    # it too, but waits 0.5 s of wall time for the reply, which a slow emulation can miss.
    with BoardLink(chip.device, reply_timeout_s=REPLY_TIMEOUT_S) as link:
        link.request("enter_repl")
    assert chip.wait_until(chip.now_ms + 100, timeout_s=120.0)
    assert [cause for _at, cause in chip.resets[before:]] == ["reset"], chip.resets
    assert chip.wait_until(chip.resets[-1][0] + 2_000, timeout_s=120.0)  # at the REPL
    lines = flash(chip.device, "rp2040")
    assert f"wrote 1 of {len(expected)} files" in lines[-1], lines  # main.py, through the raw REPL
    with BoardLink(chip.device, reply_timeout_s=REPLY_TIMEOUT_S) as link:
        hello = link.request("hello")
    # enter_repl's and mpremote's resets are deliberate, not the watchdog's.
    assert hello["reset_cause"] == "power_on", hello
    assert [cause for _at, cause in chip.resets[before:]] == ["reset", "reset"], chip.resets
