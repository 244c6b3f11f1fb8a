// The emulated RP2040 as a process: `node harness.js CONFIG.json`, driven by the launcher over stdin and
// stdout (pipe.js). It runs the chip in slices of emulated time whose ends the launcher sets; after each
// slice it reports what the board drove and waits for the plant's inputs for the next one, so the plant
// advances on the chip's clock. USB bytes from the launcher reach the device at the next slice start.
//
// CONFIG: {bootrom, image (.uf2), filesystem: {path, offset}, syms, pins, profilePeriodNs, verbose}.

import { readFileSync, writeFileSync } from 'fs';

import { Board } from './board.js';
import { FLASH_BYTES, flashFromUf2 } from './chip.js';
import { EVENT, EXCHANGE, Pipe } from './pipe.js';
import { Profiler, Symbols } from './profiler.js';
import { romSymbols } from './rom.js';

// The profiler's default sampling period: 10 us of busy chip time (1,250 cycles).
const PROFILE_PERIOD_NS = 10e3;

function loadFlash(config) {
  const flash = new Uint8Array(FLASH_BYTES).fill(0xff);
  flashFromUf2(readFileSync(config.image), flash);
  if (config.filesystem) flash.set(readFileSync(config.filesystem.path), config.filesystem.offset);
  return flash;
}

async function main() {
  const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  config.bootrom = readFileSync(config.bootrom);
  const pipe = new Pipe(process.stdin, process.stdout);
  let flash = loadFlash(config);
  const profiler = new Profiler(config.profilePeriodNs || PROFILE_PERIOD_NS);
  const symbols = new Symbols(config.syms, romSymbols(new Uint32Array(config.bootrom.buffer,
    config.bootrom.byteOffset, config.bootrom.length / 4)));
  const hooks = {
    onUsbData: (bytes, nowNs) => pipe.sendUsb(bytes, nowNs),
    onFlashWrite: () => {},
  };
  let reset = { powerOn: true, reason: 0, scratch: new Uint32Array(8) };
  let board = new Board(config, flash, reset, hooks);
  let bootNs = 0; // chip time is kept across resets: the plant's clock does not restart
  pipe.onUsb = (bytes) => board.usb.write(bytes);
  pipe.sendJson(EVENT, { event: 'boot', cause: 'power_on', atNs: 0 });
  for (;;) {
    const inputs = await pipe.nextInputs();
    if (inputs === null || inputs.stop) break;
    if (inputs.profile === 'start') profiler.start(board.nowNs);
    if (inputs.profile === 'stop') pipe.sendJson(EVENT, { event: 'profile', ...profiler.report(symbols) });
    if (inputs.powerCycleNs !== undefined) board.resetCause = 'power';
    if (board.resetCause === null) {
      board.applyInputs(inputs);
      board.runUntil(inputs.untilNs - bootNs, profiler, inputs.hang === true);
    }
    if (board.resetCause !== null) {
      const cause = board.resetCause;
      const atNs = bootNs + board.nowNs;
      flash = board.chip.flash.slice(0, FLASH_BYTES);
      reset = cause === 'power' ? { powerOn: true, reason: 0, scratch: new Uint32Array(8) } : board.resetState();
      bootNs = atNs + (cause === 'power' ? inputs.powerCycleNs : 0); // the board without power
      board = new Board(config, flash, reset, hooks);
      board.applyInputs(inputs);
      pipe.sendJson(EVENT, { event: 'boot', cause, atNs });
    }
    const outputs = board.takeOutputs();
    outputs.nowNs += bootNs;
    pipe.sendJson(EXCHANGE, outputs);
  }
  if (config.saveFlash) writeFileSync(config.saveFlash, board.chip.flash.subarray(0, FLASH_BYTES));
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
