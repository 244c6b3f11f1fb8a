"""The emulated MAX31865 (tools/rp2040/max31865.js) against its datasheet, register by register: the
POR thresholds, auto conversion at the filter's rate, the fault bit and the latched fault status with
its clear, the threshold comparisons (>= high, <= low), a 1-shot started when CS goes high, the
automatic fault-detection cycle, and the SPI modes it does not speak. Run under Node with a clock
stand-in that only orders alarms; skipped where Node is absent."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from hipec.silicon.data import HARNESS_DIR

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not on the PATH")

SCRIPT = r"""
import { MAX31865, Element } from './max31865.js';
class Clock {
  constructor() { this.nanos = 0; this.alarms = []; }
  createAlarm(callback) {
    const alarm = { at: Infinity, callback,
      schedule: (ns) => { alarm.at = this.nanos + ns; }, cancel: () => { alarm.at = Infinity; } };
    this.alarms.push(alarm);
    return alarm;
  }
  advance(ns) {
    const until = this.nanos + ns;
    for (;;) {
      const due = this.alarms.filter((a) => a.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.nanos = due.at; due.at = Infinity; due.callback();
    }
    this.nanos = until;
  }
}
const clock = new Clock();
const chip = new MAX31865(clock, 'probe');
const transfer = (bytes, mode = 1) => { chip.select(); const out = bytes.map((b) => chip.transfer(b, mode)); chip.deselect(); return out; };
const read = (register, n) => transfer([register, ...Array(n).fill(0)]).slice(1);
const r = {};
r.por = read(0x00, 8);
chip.setInput(0x2000, Element.OK);
transfer([0x80, 0xc1]);                        // VBIAS, auto, 50 Hz
clock.advance(19.9e6); r.before_first = read(0x01, 2);
clock.advance(0.2e6); r.after_first = read(0x01, 2);
r.conversions_in_1s = (() => { const c = chip.conversions; clock.advance(1e9); return chip.conversions - c; })();
chip.setInput(0, Element.OPEN); clock.advance(20e6);
r.open = read(0x01, 2).concat(read(0x07, 1));
transfer([0x80, 0xc3]);                        // fault clear
r.cleared = read(0x07, 1).concat(read(0x02, 1));
chip.setInput(0, Element.SHORT); clock.advance(20e6);
r.short = read(0x01, 2).concat(read(0x07, 1));
transfer([0x80, 0xc3]);
transfer([0x83, 0x30, 0x00, 0x10, 0x00]);      // high 3000h, low 1000h, one multi-byte write
r.thresholds = read(0x03, 4);
chip.setInput(0x1800, Element.OK); clock.advance(20e6);
r.high = read(0x07, 1);
transfer([0x80, 0xc3]); chip.setInput(0x0800, Element.OK); clock.advance(20e6);
r.low = read(0x07, 1);
transfer([0x80, 0xc3]); chip.setInput(0x1000, Element.OK); clock.advance(20e6);
r.in_band = read(0x07, 1).concat(read(0x02, 1));
r.readonly = (() => { transfer([0x81, 0x55]); transfer([0x87, 0xff]); return read(0x01, 1).concat(read(0x07, 1)); })();
transfer([0x80, 0x81]);                        // auto off, bias on
chip.setInput(0x1400, Element.OK);
chip.select(); chip.transfer(0x80, 1); chip.transfer(0xa1, 1);
clock.advance(100e6); r.one_shot_before_cs = read(0x01, 2);
chip.deselect();
clock.advance(62.4e6); r.one_shot_early = read(0x01, 2).concat(read(0x00, 1));
clock.advance(0.2e6); r.one_shot_done = read(0x01, 2).concat(read(0x00, 1));
chip.setInput(0, Element.OPEN);
transfer([0x80, 0x84 | 0x01]);                 // automatic fault-detection cycle
r.cycle_running = read(0x00, 1);
clock.advance(1e6); r.cycle_done = read(0x00, 1).concat(read(0x07, 1));
r.mode0 = transfer([0x01, 0x00], 0); r.mode_errors = chip.modeErrors;
console.log(JSON.stringify(r));
"""


@pytest.fixture(scope="module")
def r() -> dict[str, list[int] | int]:
    assert NODE is not None
    out = subprocess.run([NODE, "--input-type=module", "-e", SCRIPT], cwd=HARNESS_DIR, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    result: dict[str, list[int] | int] = json.loads(out)
    return result


def test_power_on_registers(r: dict[str, list[int] | int]) -> None:
    # Configuration 00h, RTD 0000h, high threshold FFFFh, low 0000h, no fault.
    assert r["por"] == [0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00]


def test_auto_conversion_at_the_50_hz_filters_rate(r: dict[str, list[int] | int]) -> None:
    assert r["before_first"] == [0, 0]
    assert r["after_first"] == [0x40, 0x00]  # ratio 2000h, shifted left past the fault bit
    assert r["conversions_in_1s"] == 50


def test_open_and_shorted_elements_latch_their_fault_until_cleared(r: dict[str, list[int] | int]) -> None:
    assert r["open"] == [0xFF, 0xFF, 0x80]  # full scale >= FFFFh: RTD high, fault bit set
    assert r["cleared"] == [0x00, 0xFE]
    assert r["short"] == [0x00, 0x01, 0x40]  # zero <= 0000h: RTD low


def test_thresholds_written_in_one_transfer_are_compared_per_conversion(r: dict[str, list[int] | int]) -> None:
    assert r["thresholds"] == [0x30, 0x00, 0x10, 0x00]
    assert r["high"] == [0x80] and r["low"] == [0x40]
    assert r["in_band"] == [0x00, 0x00]  # ratio 1000h between the thresholds (0800h and 1800h as ratios)
    assert r["readonly"] == [0x20, 0x00]  # writes to RTD data and fault status are ignored


def test_one_shot_starts_when_cs_goes_high_and_clears_itself(r: dict[str, list[int] | int]) -> None:
    assert r["one_shot_before_cs"] == [0x20, 0x00]
    assert r["one_shot_early"][:2] == [0x20, 0x00] and r["one_shot_early"][2] & 0x20
    assert r["one_shot_done"] == [0x28, 0x00, 0x81]


def test_fault_detection_cycle_and_spi_modes(r: dict[str, list[int] | int]) -> None:
    assert r["cycle_running"] == [0x85]
    assert r["cycle_done"] == [0x81, 0x20]  # REFIN- > 0.85 VBIAS: the open element; bits self-cleared
    assert r["mode0"] == [0xFF, 0xFF] and r["mode_errors"] == 2
