// The Pico as the controller board wires it (boards/rp2040's Pins, handed over by the launcher): one
// boot of the chip with the hardware behind its pins. Seven MAX31865s on SPI0 and the safety channel's
// two on SPI1, each on its chip-select; the pressure transducer on an ADC input; the reservoir level
// and air detector on GPIO inputs; the heater switch, its relay, the bypass valve and the stepper's
// enable and direction read back from their pins, and its steps counted from the STEP pin's rising
// edges (pio_clock.js); the USB cable's host end (usb_host.js); the watchdog resetting the chip.

import { makeChip, REASON_FORCE, REASON_TIMER } from './chip.js';
import { Element, MAX31865 } from './max31865.js';
import { PioClock } from './pio_clock.js';
import { SpiBus } from './spi_bus.js';
import { UsbHost } from './usb_host.js';

const ADC_FIRST_PIN = 26; // ADC0 is GPIO26
const ELEMENTS = [Element.OK, Element.OPEN, Element.SHORT];

export class Board {
  /**
   * config: the launcher's (pins, ...); flash: its contents at reset; powerOn, reason, scratch: how
   * the chip reset (chip.js); hooks: {onUsbData(bytes, nowNs), onFlashWrite(offset, bytes)}.
   */
  constructor(config, flash, { powerOn, reason, scratch }, hooks) {
    const pins = config.pins;
    this.pins = pins;
    this.chip = makeChip({
      bootrom: config.bootrom, flash, powerOn, reason, scratch, verbose: config.verbose,
      onFlashWrite: hooks.onFlashWrite,
    });
    const chip = this.chip;
    this.resetCause = null; // 'watchdog' or 'force' once the watchdog resets the chip
    const watchdog = chip.peripherals[0x40058];
    watchdog.onWatchdogTrigger = () => {
      this.resetCause = watchdog.reason & REASON_TIMER ? 'watchdog' : 'force';
      // The chip resets here. rp2040js 1.4.1 would re-arm the expired countdown at the same instant,
      // for ever (its periodic alarm on a decrementing timer at 0): stop it, the new chip has its own.
      watchdog.alarm.enable = false;
      watchdog.timer.enable = false;
    };
    this.converters = pins.RTD_CS.concat(pins.SAFETY_RTD_CS).map(
      (cs, i) => new MAX31865(chip.clock, `rtd${i}@gpio${cs}`));
    const rtdCount = pins.RTD_CS.length;
    this.buses = [
      new SpiBus(chip, pins.SPI_ID, pins.RTD_CS.map((csPin, i) => ({ csPin, device: this.converters[i] }))),
      new SpiBus(chip, pins.SAFETY_SPI_ID,
        pins.SAFETY_RTD_CS.map((csPin, i) => ({ csPin, device: this.converters[rtdCount + i] }))),
    ];
    this.pio = new PioClock(chip, [pins.PUMP_STEP]);
    this.usb = new UsbHost(chip, (bytes) => hooks.onUsbData(bytes, chip.clock.nanos));
    this.heaterHighNs = 0;
    this.heaterSinceNs = chip.clock.nanos;
    this.heaterHigh = false;
    chip.gpio[pins.HEATER].addListener(() => this.heaterChanged());
  }

  get nowNs() {
    return this.chip.clock.nanos;
  }

  pinHigh(pin) {
    const gpio = this.chip.gpio[pin];
    return gpio.outputEnable && gpio.outputValue;
  }

  heaterChanged() {
    const high = this.pinHigh(this.pins.HEATER);
    if (high === this.heaterHigh) return;
    const now = this.nowNs;
    if (this.heaterHigh) this.heaterHighNs += now - this.heaterSinceNs;
    this.heaterHigh = high;
    this.heaterSinceNs = now;
  }

  /** The plant's side of the pins: rtd [[ratio, element]] in probe order, adc {pin: code}, levels {pin: high}. */
  applyInputs({ rtd, adc, levels }) {
    rtd.forEach(([ratio, element], i) => this.converters[i].setInput(ratio, ELEMENTS[element]));
    for (const [pin, code] of Object.entries(adc)) this.chip.adc.channelValues[pin - ADC_FIRST_PIN] = code;
    for (const [pin, high] of Object.entries(levels)) this.chip.gpio[pin].setInputValue(high);
  }

  /** What the board drove since the last call: heater high time, relay, valve, stepper. */
  takeOutputs() {
    const pins = this.pins;
    this.pio.advance();
    const now = this.nowNs;
    if (this.heaterHigh) this.heaterHighNs += now - this.heaterSinceNs;
    this.heaterSinceNs = now;
    const outputs = {
      nowNs: now,
      heaterHighNs: this.heaterHighNs,
      relay: this.pinHigh(pins.HEATER_RELAY),
      bypass: this.pinHigh(pins.BYPASS_VALVE),
      pumpEnabled: !this.pinHigh(pins.PUMP_ENABLE), // the driver's enable is active low
      pumpDir: this.pinHigh(pins.PUMP_DIR),
      steps: this.pio.takeEdges(pins.PUMP_STEP),
      usbOutPackets: this.usb.outPackets,
      usbConnected: this.usb.connected,
      pc: this.chip.core.PC,
      spiModeErrors: this.converters.reduce((sum, c) => sum + c.modeErrors, 0),
      spiContention: this.buses.reduce((sum, b) => sum + b.contention, 0),
    };
    this.heaterHighNs = 0;
    return outputs;
  }

  /**
   * Run the core until the clock reaches targetNs or the watchdog resets the chip. hung: the core is
   * stuck (a loop hang: spinning with interrupts masked), so time and the peripherals go on without it.
   */
  runUntil(targetNs, profiler, hung) {
    const chip = this.chip;
    const core = chip.core;
    const clock = chip.clock;
    const sampling = profiler && profiler.running;
    while (clock.nanos < targetNs && this.resetCause === null) {
      if (hung) {
        const left = targetNs - clock.nanos;
        const toAlarm = clock.nextAlarm ? clock.nanosToNextAlarm : left;
        clock.tick(toAlarm < left ? toAlarm : left);
      } else if (core.waiting) {
        const left = targetNs - clock.nanos;
        const toAlarm = clock.nextAlarm ? clock.nanosToNextAlarm : left;
        clock.tick(toAlarm < left ? toAlarm : left);
        if (sampling) profiler.idleUntil(clock.nanos);
      } else {
        const pc = core.PC;
        const cycles = core.executeInstruction();
        clock.tick(cycles * 8); // 125 MHz
        if (sampling) profiler.busyAt(pc, clock.nanos);
      }
    }
    return this.resetCause;
  }

  /** The watchdog's state a reset keeps: its reason and scratch registers. */
  resetState() {
    const watchdog = this.chip.peripherals[0x40058];
    return {
      powerOn: false,
      reason: this.resetCause === 'watchdog' ? REASON_TIMER : REASON_FORCE,
      scratch: Uint32Array.from(watchdog.scratchData),
    };
  }
}
