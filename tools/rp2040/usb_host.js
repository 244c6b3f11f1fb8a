// The bedside computer's side of the USB cable: a CDC ACM host that enumerates the board's TinyUSB
// device (rp2040js's USBCDC does the enumeration), then carries bytes both ways.
//
// rp2040js's own host answers every OUT transfer the device arms at once, with an empty packet when it
// has nothing: the device re-arms 10 us later, an interrupt storm (about 172,000 interrupts in a short
// run) that a real host does not cause (it NAKs until it has data). Here an armed OUT transfer is held
// until the host has bytes, as a NAK would hold it. Bytes wait in an unbounded queue (a real host's
// tty buffer), so a large write is not cut at rp2040js's 512-byte FIFO.

import { USBCDC } from 'rp2040js';

// Full-speed bulk endpoints carry at most this much per packet.
const MAX_PACKET = 64;

export class UsbHost {
  /** chip: the RP2040; onData(bytes): what the device sent the host. */
  constructor(chip, onData) {
    this.usb = chip.usbCtrl;
    this.queue = [];
    this.queued = 0;
    this.heldRead = null; // [endpoint, size] of an OUT transfer the device armed while we had nothing
    this.connected = false;
    this.outPackets = 0;
    this.cdc = new USBCDC(this.usb);
    this.cdc.onDeviceConnected = () => {
      this.connected = true;
      this.flush();
    };
    this.cdc.onSerialData = onData;
    this.usb.onEndpointRead = (endpoint, size) => {
      if (endpoint !== this.cdc.outEndpoint) return;
      this.heldRead = [endpoint, size];
      this.flush();
    };
  }

  /** Bytes from the host for the device. */
  write(bytes) {
    if (!bytes.length) return;
    this.queue.push(bytes);
    this.queued += bytes.length;
    this.flush();
  }

  flush() {
    if (!this.heldRead || !this.queued || !this.connected) return;
    const [endpoint, size] = this.heldRead;
    this.heldRead = null;
    const packet = new Uint8Array(Math.min(size, MAX_PACKET, this.queued));
    let filled = 0;
    while (filled < packet.length) {
      const head = this.queue[0];
      const take = Math.min(head.length, packet.length - filled);
      packet.set(head.subarray(0, take), filled);
      filled += take;
      if (take === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(take);
    }
    this.queued -= filled;
    this.outPackets++;
    this.usb.endpointReadDone(endpoint, packet);
  }
}
