// The PIO state machines run on the chip's clock, at the rate their clock dividers set.
//
// rp2040js steps every PIO state machine once per host event-loop turn (setTimeout), ignoring the
// clock divider and the instructions' delay cycles: a step generator's timing means nothing there. Here
// its run loop is switched off and the harness steps each enabled state machine itself, at each
// exchange with the plant, for exactly the state-machine cycles the elapsed chip time holds (clk_sys /
// (INT + FRAC/256)), counting an instruction's delay cycles (and a stalled cycle) as the machine's own
// cycle counter does. Rising edges of the watched pins are counted as they happen, so the pump's steps
// are counted from its STEP pin.

// IO_BANK0 function select of PIO0 (PIO1 is the next one).
const PIO0_FUNCTION = 6;

export class PioClock {
  /** chip: the RP2040; watchedPins: GPIO numbers whose rising edges are counted. */
  constructor(chip, watchedPins) {
    this.chip = chip;
    this.edges = new Map(watchedPins.map((pin) => [pin, 0]));
    this.lastNs = chip.clock.nanos;
    this.owed = [new Float64Array(4), new Float64Array(4)]; // fractional cycles carried over
    for (const pio of chip.pio) {
      pio.run = () => {}; // the harness clocks it (below), never the host's event loop
      pio.stopped = true;
    }
  }

  /** Run every enabled state machine up to the chip's present time. */
  advance() {
    const chip = this.chip;
    const now = chip.clock.nanos;
    const elapsedNs = now - this.lastNs;
    this.lastNs = now;
    if (elapsedNs <= 0) return;
    for (let p = 0; p < chip.pio.length; p++) {
      const pio = chip.pio[p];
      for (let m = 0; m < 4; m++) {
        const machine = pio.machines[m];
        if (!machine.enabled) {
          this.owed[p][m] = 0;
          continue;
        }
        const divider = machine.clockDivInt === 0 ? 65536 : machine.clockDivInt + machine.clockDivFrac / 256;
        const due = this.owed[p][m] + (elapsedNs * chip.clkSys) / 1e9 / divider;
        const whole = Math.floor(due);
        this.owed[p][m] = due - whole;
        this.runMachine(pio, machine, whole);
      }
      pio.checkChangedPins();
    }
  }

  runMachine(pio, machine, cycles) {
    // Only a pin whose function is this PIO block carries its output to the pad.
    const watched = [...this.edges.keys()].filter((pin) => this.chip.gpio[pin].functionSelect === PIO0_FUNCTION + pio.index);
    let values = pio.pinValues;
    let done = 0;
    while (done < cycles) {
      const before = machine.cycles;
      machine.step();
      const spent = machine.cycles - before;
      done += spent > 0 ? spent : 1; // a stalled cycle is a cycle too
      const now = pio.pinValues;
      if (now !== values) {
        const rising = now & ~values;
        for (const pin of watched) {
          if (rising & (1 << pin)) this.edges.set(pin, this.edges.get(pin) + 1);
        }
        values = now;
      }
    }
  }

  /** Rising edges of pin counted so far, and reset the count. */
  takeEdges(pin) {
    const count = this.edges.get(pin);
    this.edges.set(pin, 0);
    return count;
  }
}
