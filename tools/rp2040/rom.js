// The RP2040 boot ROM as the firmware sees it: its function and soft-float tables (for the profiler's
// names), and the two flash routines the emulator cannot run as silicon does.
//
// rp2040js models the XIP flash as read-only memory: the ROM's flash_range_erase and
// flash_range_program would talk to an SSI that does not answer as a NOR flash does, and the bytes would
// be lost. Each of the two routines is replaced by a BKPT whose handler does what a W25Q16JV (the Pico's
// flash) does: erase sets whole 4 KiB sectors to 0xFF, programming can only clear bits (new = old AND
// data). Each one costs the chip the datasheet's typical time, so a settings write takes as long as
// on a board.

// ROM table codes: two ASCII characters, first in the low byte.
const code = (text) => text.charCodeAt(0) | (text.charCodeAt(1) << 8);
const FUNCTION_TABLE_POINTER = 0x14;
const DATA_TABLE_POINTER = 0x16;
const FLASH_RANGE_ERASE = code('RE');
const FLASH_RANGE_PROGRAM = code('RP');
const SOFT_FLOAT_TABLE = code('SF');
const BKPT_ERASE = 0xf0;
const BKPT_PROGRAM = 0xf1;

// W25Q16JV typical timings (datasheet, AC characteristics): what the ROM's busy-wait on the status
// register would cost the core.
export const SECTOR_ERASE_NS = 45e6; // 4 KiB sector erase, tSE typical 45 ms
export const BLOCK_ERASE_NS = 150e6; // 64 KiB block erase, tBE2 typical 150 ms
export const PAGE_PROGRAM_NS = 0.4e6; // one 256-byte page, tPP typical 0.4 ms
const SECTOR_BYTES = 4096;
const BLOCK_BYTES = 65536;
const PAGE_BYTES = 256;

// The soft-float table's entries in order (pico-sdk pico/bootrom/sf_table.h), for naming ROM samples.
const SOFT_FLOAT_NAMES = [
  'fadd', 'fsub', 'fmul', 'fdiv', 'fcmp_fast', 'fcmp_fast_flags', 'fsqrt', 'float2int', 'float2fix',
  'float2uint', 'float2ufix', 'int2float', 'fix2float', 'uint2float', 'ufix2float', 'fcos', 'fsin', 'ftan',
  'fsincos', 'fexp', 'fln', 'fcmp', 'fatan2', 'int642float', 'fix642float', 'uint642float',
  'ufix642float', 'float2int64', 'float2fix64', 'float2uint64', 'float2ufix64', 'float2double',
];

const romHalf = (rom, address) => (address & 2 ? rom[address >> 2] >>> 16 : rom[address >> 2] & 0xffff);

function setRomHalf(rom, address, value) {
  const word = rom[address >> 2];
  rom[address >> 2] = address & 2 ? (word & 0xffff) | (value << 16) : (word & 0xffff0000) | value;
}

/** Walk a ROM table of (code, pointer) half-word pairs ending with code 0. */
function romTable(rom, tableAddress) {
  const entries = new Map();
  for (let at = tableAddress; ; at += 4) {
    const entryCode = romHalf(rom, at);
    if (!entryCode) return entries;
    entries.set(entryCode, romHalf(rom, at + 2));
  }
}

/** The ROM's named entry points, [address, name] sorted by address (for naming profiler samples). */
export function romSymbols(rom) {
  const names = new Map();
  for (const [entryCode, pointer] of romTable(rom, romHalf(rom, FUNCTION_TABLE_POINTER))) {
    const name = String.fromCharCode(entryCode & 0xff, entryCode >> 8);
    names.set(pointer & ~1, `rom_func_${name}`);
  }
  const softFloat = romTable(rom, romHalf(rom, DATA_TABLE_POINTER)).get(SOFT_FLOAT_TABLE);
  if (softFloat !== undefined) {
    SOFT_FLOAT_NAMES.forEach((name, i) => {
      const word = rom[(softFloat >> 2) + i];
      if (word && word < 0x4000) names.set(word & ~1, `rom_${name}`);
    });
  }
  return [...names.entries()].sort((a, b) => a[0] - b[0]);
}

/**
 * Replace the ROM's flash_range_erase and flash_range_program with breakpoints served by the harness.
 * chip: the RP2040; onFlashWrite(offset, bytes) is told of every change (the harness keeps the flash
 * across resets).
 */
export function patchFlashRoutines(chip, onFlashWrite) {
  const rom = chip.bootrom;
  const functions = romTable(rom, romHalf(rom, FUNCTION_TABLE_POINTER));
  setRomHalf(rom, functions.get(FLASH_RANGE_ERASE) & ~1, 0xbe00 | BKPT_ERASE);
  setRomHalf(rom, functions.get(FLASH_RANGE_PROGRAM) & ~1, 0xbe00 | BKPT_PROGRAM);
  chip.onBreak = (imm) => {
    const core = chip.core;
    const [r0, r1, r2] = core.registers;
    let busyNs;
    if (imm === BKPT_ERASE) {
      busyNs = eraseRange(chip.flash, r0 >>> 0, r1 >>> 0);
      onFlashWrite(r0 >>> 0, r1 >>> 0);
    } else if (imm === BKPT_PROGRAM) {
      busyNs = programRange(chip, r0 >>> 0, r1 >>> 0, r2 >>> 0);
      onFlashWrite(r0 >>> 0, r2 >>> 0);
    } else {
      throw new Error(`breakpoint ${imm} at ${core.PC.toString(16)}: the firmware hit a BKPT`);
    }
    core.PC = core.LR & ~1; // return from the routine
    chip.clock.tick(busyNs); // the core waits on the flash's busy bit this long
  };
}

/** Erase count bytes from offset (whole sectors, as the ROM requires); the typical time it takes. */
function eraseRange(flash, offset, count) {
  let busyNs = 0;
  for (let at = offset; at < offset + count;) {
    const whole = at % BLOCK_BYTES === 0 && offset + count - at >= BLOCK_BYTES;
    const size = whole ? BLOCK_BYTES : SECTOR_BYTES;
    flash.fill(0xff, at, at + size);
    busyNs += whole ? BLOCK_ERASE_NS : SECTOR_ERASE_NS;
    at += size;
  }
  return busyNs;
}

/** Program count bytes from RAM at source into the flash at offset: NOR programming clears bits only. */
function programRange(chip, offset, source, count) {
  const flash = chip.flash;
  for (let i = 0; i < count; i++) {
    flash[offset + i] &= chip.readUint8(source + i);
  }
  return Math.ceil(count / PAGE_BYTES) * PAGE_PROGRAM_NS;
}
