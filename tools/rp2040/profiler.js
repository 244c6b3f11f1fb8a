// A sampling profiler by function: the program counter is sampled every period of busy chip time (the
// core not waiting in WFE/WFI), and the samples are named with the firmware's symbol table (the image's
// .syms file: `address name`, sorted) and the boot ROM's tables (its flash and soft-float routines).

import { readFileSync } from 'fs';

export class Symbols {
  /** symsPath: the image's symbol file; rom: [[address, name]] of the boot ROM's entry points. */
  constructor(symsPath, rom) {
    const entries = [...rom];
    if (symsPath) {
      for (const line of readFileSync(symsPath, 'latin1').split('\n')) {
        const [address, name] = line.trim().split(/\s+/);
        // An entry without a name still ends the function before it: its span is named by address.
        if (address) entries.push([parseInt(address, 16), name || `unnamed@${address}`]);
      }
    }
    entries.sort((a, b) => a[0] - b[0]);
    this.addresses = Float64Array.from(entries, (entry) => entry[0]);
    this.names = entries.map((entry) => entry[1]);
  }

  /** The function holding address: the last symbol at or below it. */
  name(address) {
    let low = 0;
    let high = this.addresses.length - 1;
    if (high < 0 || address < this.addresses[0]) return `?${address.toString(16)}`;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.addresses[mid] <= address) low = mid;
      else high = mid - 1;
    }
    return this.names[low];
  }
}

export class Profiler {
  constructor(periodNs) {
    this.periodNs = periodNs;
    this.samples = new Map(); // program counter -> samples
    this.busy = 0;
    this.idle = 0;
    this.nextNs = 0;
    this.running = false;
  }

  start(nowNs) {
    this.samples.clear();
    this.busy = 0;
    this.idle = 0;
    this.nextNs = nowNs + this.periodNs;
    this.running = true;
  }

  /** The core executed an instruction at pc and the clock reached nowNs. */
  busyAt(pc, nowNs) {
    while (nowNs >= this.nextNs) {
      this.samples.set(pc, (this.samples.get(pc) || 0) + 1);
      this.busy++;
      this.nextNs += this.periodNs;
    }
  }

  /** The core waited until nowNs. */
  idleUntil(nowNs) {
    while (nowNs >= this.nextNs) {
      this.idle++;
      this.nextNs += this.periodNs;
    }
  }

  /** The samples by function, most first: {periodNs, busy, idle, functions: [[name, samples]]}. */
  report(symbols) {
    this.running = false;
    const byName = new Map();
    for (const [pc, count] of this.samples) {
      const name = symbols.name(pc);
      byName.set(name, (byName.get(name) || 0) + count);
    }
    const functions = [...byName.entries()].sort((a, b) => b[1] - a[1]);
    return { periodNs: this.periodNs, busy: this.busy, idle: this.idle, functions };
  }
}
