// An SPI bus of the board: one of the chip's SPI controllers, the devices on it, and the GPIO
// chip-selects that choose one. A byte takes its time on the wire (data bits / SCLK), so a driver's
// busy-wait for the controller costs the cycles it costs on silicon; rp2040js alone answers at once.

const SSPCR0_SPO = 1 << 6;
const SSPCR0_SPH = 1 << 7;

export class SpiBus {
  /**
   * chip: the RP2040; controller: its index (0 or 1); devices: [{csPin, device}] where device has
   * select(), deselect() and transfer(byte, spiMode).
   */
  constructor(chip, controller, devices) {
    this.spi = chip.spi[controller];
    this.devices = devices;
    this.selected = null;
    this.contention = 0; // bytes clocked with more than one chip-select low
    this.pending = 0;
    this.clock = chip.clock;
    this.byteAlarm = chip.clock.createAlarm(() => this.spi.completeTransmit(this.pending));
    for (const entry of devices) {
      const pin = chip.gpio[entry.csPin];
      entry.low = false;
      pin.addListener(() => this.chipSelectChanged(entry, pin));
    }
    this.spi.onTransmit = (value) => this.transmit(value);
  }

  chipSelectChanged(entry, pin) {
    const low = pin.outputEnable && !pin.outputValue;
    if (low === entry.low) return;
    entry.low = low;
    if (low) entry.device.select();
    else entry.device.deselect();
  }

  get spiMode() {
    const control = this.spi.control0;
    return (control & SSPCR0_SPO ? 2 : 0) | (control & SSPCR0_SPH ? 1 : 0);
  }

  transmit(value) {
    const low = this.devices.filter((entry) => entry.low);
    if (low.length > 1) this.contention++;
    // Nobody selected: MISO floats; the board has no pull resistor on it, read as zero.
    this.pending = low.length === 1 ? low[0].device.transfer(value, this.spiMode) : 0;
    const hz = this.spi.clockFrequency;
    const ns = hz > 0 ? (this.spi.dataBits * 1e9) / hz : 0;
    this.byteAlarm.schedule(ns);
  }
}
