// One boot of the emulated RP2040: rp2040js with the B1 boot ROM mapped at 0, MicroPython's image and the
// board's filesystem in flash, the chip-reset register the boot ROM and pico-sdk read, and the core
// started at the flash's second-stage boot loader.
//
// The boot ROM's own flash probing is skipped (rp2040js's SSI does not answer it as a flash chip does):
// the core starts at boot2 (0x10000000) with the ROM's stack, as the ROM would jump there, and boot2
// reaches MicroPython's reset handler. A reset is a new chip: RAM and every peripheral start from their
// reset state; the flash, the watchdog's scratch registers and its reason register are carried over.

import { BasePeripheral, ConsoleLogger, LogLevel, RP2040 } from 'rp2040js';

import { patchFlashRoutines } from './rom.js';

export const FLASH_BYTES = 2 * 1024 * 1024; // the Pico's W25Q16JV
const FLASH_BASE = 0x10000000;
const BOOT2_STACK = 0x20042000; // the stack pointer the ROM hands boot2
const UF2_MAGIC = 0x0a324655;
const UF2_BLOCK = 512;
const UF2_HEADER = 32;
const VREG_AND_CHIP_RESET = 0x40064;
const CHIP_RESET_HAD_POR = 1 << 8;
const CHIP_RESET_PSM_RESTART_FLAG = 1 << 24;
// The watchdog's reason register bits.
export const REASON_TIMER = 1 << 0;
export const REASON_FORCE = 1 << 1;

/** The chip's voltage regulator and reset register: rp2040js leaves it unimplemented (reading all ones,
 * which the boot ROM takes for a debugger's rescue request and halts). */
class VregAndChipReset extends BasePeripheral {
  constructor(chip, name, powerOn) {
    super(chip, name);
    this.vreg = 0xb1; // 1.10 V, enabled (reset value)
    this.bod = 0x91; // brown-out detection at 0.86 V (reset value)
    this.chipReset = powerOn ? CHIP_RESET_HAD_POR : 0; // a watchdog reset sets none of the HAD_ bits
  }

  readUint32(offset) {
    if (offset === 0) return this.vreg;
    if (offset === 4) return this.bod;
    if (offset === 8) return this.chipReset;
    return super.readUint32(offset);
  }

  writeUint32(offset, value) {
    if (offset === 0) this.vreg = value;
    else if (offset === 4) this.bod = value;
    else if (offset === 8) this.chipReset &= ~(value & CHIP_RESET_PSM_RESTART_FLAG);
    else super.writeUint32(offset, value);
  }
}

/** The flash image of a .uf2 file (family-tagged 512-byte blocks, each with its target address). */
export function flashFromUf2(uf2, flash) {
  for (let offset = 0; offset + UF2_BLOCK <= uf2.length; offset += UF2_BLOCK) {
    const view = new DataView(uf2.buffer, uf2.byteOffset + offset, UF2_BLOCK);
    if (view.getUint32(0, true) !== UF2_MAGIC) throw new Error(`not a UF2 block at byte ${offset}`);
    const address = view.getUint32(12, true);
    const size = view.getUint32(16, true);
    flash.set(uf2.subarray(offset + UF2_HEADER, offset + UF2_HEADER + size), address - FLASH_BASE);
  }
}

/**
 * A chip at reset. bootrom: the ROM image (Uint8Array); flash: the flash's contents (FLASH_BYTES,
 * copied in); powerOn: a power-on reset (else a watchdog reset); reason, scratch: the watchdog's
 * reason bits and scratch registers; onFlashWrite(offset, bytes): told of every erase and program.
 */
export function makeChip({ bootrom, flash, powerOn, reason, scratch, onFlashWrite, verbose }) {
  const chip = new RP2040();
  chip.logger = new ConsoleLogger(verbose ? LogLevel.Warn : LogLevel.Error);
  chip.loadBootrom(new Uint32Array(bootrom.buffer, bootrom.byteOffset, bootrom.length / 4));
  chip.flash.set(flash);
  chip.peripherals[VREG_AND_CHIP_RESET] = new VregAndChipReset(chip, 'VREG_AND_CHIP_RESET', powerOn);
  const watchdog = chip.peripherals[0x40058];
  watchdog.reason = reason;
  watchdog.scratchData.set(scratch);
  patchFlashRoutines(chip, onFlashWrite);
  chip.core.SP = BOOT2_STACK;
  chip.core.PC = FLASH_BASE;
  return chip;
}
