// The harness's pipe to the launcher (host/hipec/silicon/pipe.py): messages of one type byte, a 32-bit
// little-endian length and the payload, on stdin and stdout. USB bytes travel raw; everything else is
// JSON.

export const USB = 0x55; // 'U': bytes on the USB cable (to the device, or from it with the chip's time)
export const EXCHANGE = 0x58; // 'X': the board's outputs at the end of a slice
export const INPUTS = 0x49; // 'I': the plant's inputs and the next slice's end
export const EVENT = 0x45; // 'E': a reset, a profile, a diagnostic

export class Pipe {
  constructor(input, output) {
    this.output = output;
    this.buffer = Buffer.alloc(0);
    this.waiting = null; // resolve() of the pending nextInputs()
    this.inputs = [];
    this.onUsb = () => {};
    this.closed = false;
    input.on('data', (chunk) => this.received(chunk));
    input.on('end', () => {
      this.closed = true;
      if (this.waiting) this.waiting(null);
    });
  }

  received(chunk) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.buffer.length >= 5) {
      const length = this.buffer.readUInt32LE(1);
      if (this.buffer.length < 5 + length) break;
      const type = this.buffer[0];
      const payload = this.buffer.subarray(5, 5 + length);
      this.buffer = this.buffer.subarray(5 + length);
      if (type === USB) {
        this.onUsb(new Uint8Array(payload));
      } else if (type === INPUTS) {
        const message = JSON.parse(payload.toString('utf8'));
        if (this.waiting) {
          const resolve = this.waiting;
          this.waiting = null;
          resolve(message);
        } else {
          this.inputs.push(message);
        }
      }
    }
  }

  /** The launcher's next INPUTS message (null once it has closed the pipe). */
  nextInputs() {
    if (this.inputs.length) return Promise.resolve(this.inputs.shift());
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  send(type, payload) {
    const header = Buffer.alloc(5);
    header[0] = type;
    header.writeUInt32LE(payload.length, 1);
    this.output.write(Buffer.concat([header, payload]));
  }

  sendJson(type, object) {
    this.send(type, Buffer.from(JSON.stringify(object), 'utf8'));
  }

  /** USB bytes from the device, stamped with the chip's time (ns, as a float64 before the bytes). */
  sendUsb(bytes, nowNs) {
    const payload = Buffer.alloc(8 + bytes.length);
    payload.writeDoubleLE(nowNs, 0);
    payload.set(bytes, 8);
    this.send(USB, payload);
  }
}
