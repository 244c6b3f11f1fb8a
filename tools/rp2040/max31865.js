// A MAX31865 RTD-to-digital converter as its datasheet (Maxim 19-6478) specifies it, on an SPI bus.
//
// Registers: configuration (00h/80h), RTD MSB/LSB (01h-02h, read only, D0 of the LSB the fault bit),
// high and low fault thresholds (03h-06h/83h-86h, POR FFFFh and 0000h), fault status (07h, read only,
// latched until the configuration's fault-clear bit is written). A transfer is: CS low, an address
// byte (D7 = write), then data bytes with the address incrementing (wrapping 07h -> 00h), CS high.
// Only SPI modes 1 and 3 are understood; in another mode the chip answers garbage (0xFF) and the
// harness counts the misuse.
//
// Conversions run on the chip's emulated clock: continuously every 20 ms (50 Hz filter) or 16.7 ms
// (60 Hz) in auto mode with VBIAS on; a 1-shot (D5, bias on, auto off) starts when CS goes high and
// takes 62.5 ms / 52 ms, its bit self-clearing at the end. Each conversion takes the plant's latest
// resistance ratio (15-bit code) and compares it with the thresholds: RTD >= high sets D7, RTD <= low
// sets D6. An open element converts to full scale, a shorted one to zero. The automatic fault-detection
// cycle (100X010Xb) checks the element with the FORCE- switch, setting D5 for an open element, and
// self-clears D3:D2 after its 100 us delays. Nothing about the analog front end (bias settling,
// the filter's own response, lead resistance) is modelled.

const REG_CONFIG = 0x00;
const REG_RTD_MSB = 0x01;
const REG_RTD_LSB = 0x02;
const REG_HIGH_MSB = 0x03;
const REG_LOW_LSB = 0x06;
const REG_FAULT = 0x07;
const REGISTER_COUNT = 8;
const WRITE = 0x80;

const CFG_VBIAS = 0x80;
const CFG_AUTO = 0x40;
const CFG_ONE_SHOT = 0x20;
const CFG_FAULT_CYCLE = 0x0c;
const CFG_FAULT_CLEAR = 0x02;
const CFG_FILTER_50HZ = 0x01;
const FAULT_CYCLE_AUTOMATIC = 0x04;
const FAULT_CYCLE_MANUAL_START = 0x08;
const FAULT_CYCLE_MANUAL_FINISH = 0x0c;

const FAULT_HIGH = 0x80;
const FAULT_LOW = 0x40;
const FAULT_REFIN_HIGH = 0x20;
const FAULT_STATUS_MASK = 0xfc;

// Datasheet electrical characteristics: conversion times by filter.
const AUTO_CONVERSION_NS = { 50: 20e6, 60: 16.7e6 };
const ONE_SHOT_CONVERSION_NS = { 50: 62.5e6, 60: 52e6 };
// Automatic fault detection: the chip's own delays before its comparisons (datasheet: 100 us each).
const FAULT_CYCLE_NS = 550e3;
export const FULL_SCALE = 0x7fff;

/** What the plant connects to the converter's inputs. */
export const Element = Object.freeze({ OK: 0, OPEN: 1, SHORT: 2 });

export class MAX31865 {
  /** clock: the chip's emulated clock (rp2040js SimulationClock); name: for diagnostics. */
  constructor(clock, name) {
    this.clock = clock;
    this.name = name;
    this.registers = new Uint8Array(REGISTER_COUNT);
    this.registers[REG_HIGH_MSB] = 0xff;
    this.registers[REG_HIGH_MSB + 1] = 0xff;
    this.ratio = 0; // the plant's latest resistance ratio, 15 bits
    this.element = Element.OK;
    this.address = -1; // -1: waiting for the address byte of a transfer
    this.writing = false;
    this.oneShotRequested = false;
    this.modeErrors = 0; // transfers in an SPI mode the chip does not speak
    this.conversions = 0;
    this.conversionAlarm = clock.createAlarm(() => this.finishConversion());
    this.faultCycleAlarm = clock.createAlarm(() => this.finishFaultCycle());
  }

  get config() {
    return this.registers[REG_CONFIG];
  }

  get filterHz() {
    return this.config & CFG_FILTER_50HZ ? 50 : 60;
  }

  /** The plant's input: a 15-bit ratio R_rtd / R_ref and the element's state. */
  setInput(ratio, element) {
    this.ratio = ratio & FULL_SCALE;
    this.element = element;
  }

  // ------------------------------------------------------------ SPI transfer

  select() {
    this.address = -1;
  }

  deselect() {
    this.address = -1;
    if (this.oneShotRequested) {
      this.oneShotRequested = false;
      this.conversionAlarm.schedule(ONE_SHOT_CONVERSION_NS[this.filterHz]);
    }
  }

  /** One byte clocked in while selected; returns the byte clocked out. spiMode: 0..3. */
  transfer(byte, spiMode) {
    if (spiMode !== 1 && spiMode !== 3) {
      this.modeErrors++;
      return 0xff;
    }
    if (this.address < 0) {
      this.writing = (byte & WRITE) !== 0;
      this.address = byte & (REGISTER_COUNT - 1);
      return 0x00; // SDO is high impedance during the address byte
    }
    const register = this.address;
    this.address = (this.address + 1) % REGISTER_COUNT;
    if (this.writing) {
      this.writeRegister(register, byte);
      return 0x00;
    }
    return this.registers[register];
  }

  writeRegister(register, value) {
    if (register === REG_CONFIG) {
      this.writeConfig(value);
    } else if (register >= REG_HIGH_MSB && register <= REG_LOW_LSB) {
      this.registers[register] = value;
    } // RTD data and fault status are read only: the write is ignored
  }

  writeConfig(value) {
    const before = this.config;
    if (value & CFG_FAULT_CLEAR && !(value & (CFG_ONE_SHOT | CFG_FAULT_CYCLE))) {
      this.registers[REG_FAULT] = 0;
      this.registers[REG_RTD_LSB] &= ~1;
    }
    // Fault clear and 1-shot self-clear; the fault-cycle bits are the chip's while it runs.
    this.registers[REG_CONFIG] = value & ~(CFG_FAULT_CLEAR | CFG_ONE_SHOT);
    if (value & CFG_ONE_SHOT && value & CFG_VBIAS && !(value & CFG_AUTO)) {
      this.registers[REG_CONFIG] |= CFG_ONE_SHOT;
      this.oneShotRequested = true;
    }
    const cycle = value & CFG_FAULT_CYCLE;
    if (cycle === FAULT_CYCLE_AUTOMATIC || cycle === FAULT_CYCLE_MANUAL_FINISH) {
      this.faultCycleAlarm.schedule(FAULT_CYCLE_NS);
    } else if (cycle !== FAULT_CYCLE_MANUAL_START) {
      this.registers[REG_CONFIG] &= ~CFG_FAULT_CYCLE;
    }
    const autoNow = (this.config & (CFG_AUTO | CFG_VBIAS)) === (CFG_AUTO | CFG_VBIAS);
    const autoBefore = (before & (CFG_AUTO | CFG_VBIAS)) === (CFG_AUTO | CFG_VBIAS);
    if (autoNow && !autoBefore) {
      this.conversionAlarm.schedule(AUTO_CONVERSION_NS[this.filterHz]);
    } else if (!autoNow && autoBefore && !this.oneShotRequested) {
      this.conversionAlarm.cancel();
    }
  }

  // ------------------------------------------------------------ conversions

  converted() {
    if (this.element === Element.OPEN) return FULL_SCALE;
    if (this.element === Element.SHORT) return 0;
    return this.ratio;
  }

  finishConversion() {
    const rtd = this.converted();
    const regs = this.registers;
    const high = ((regs[REG_HIGH_MSB] << 8) | regs[REG_HIGH_MSB + 1]) >> 1;
    const low = ((regs[REG_LOW_LSB - 1] << 8) | regs[REG_LOW_LSB]) >> 1;
    if (rtd >= high) regs[REG_FAULT] |= FAULT_HIGH;
    if (rtd <= low) regs[REG_FAULT] |= FAULT_LOW;
    const faultBit = regs[REG_FAULT] & FAULT_STATUS_MASK ? 1 : 0;
    regs[REG_RTD_MSB] = rtd >> 7;
    regs[REG_RTD_LSB] = ((rtd << 1) & 0xfe) | faultBit;
    this.conversions++;
    regs[REG_CONFIG] &= ~CFG_ONE_SHOT;
    if ((regs[REG_CONFIG] & (CFG_AUTO | CFG_VBIAS)) === (CFG_AUTO | CFG_VBIAS)) {
      this.conversionAlarm.schedule(AUTO_CONVERSION_NS[this.filterHz]);
    }
  }

  finishFaultCycle() {
    if (this.element === Element.OPEN) this.registers[REG_FAULT] |= FAULT_REFIN_HIGH;
    if (this.registers[REG_FAULT] & FAULT_STATUS_MASK) this.registers[REG_RTD_LSB] |= 1;
    this.registers[REG_CONFIG] &= ~CFG_FAULT_CYCLE;
  }
}
