"""MAX31865 RTD-to-digital converter on SPI: one chip per probe, each with its own chip-select.

Continuous conversion with the bias on, so a read returns the latest 15-bit ratio R_rtd / R_ref without
waiting; the mains filter (50 or 60 Hz) is set in the configuration register. A conversion that the
chip flags as a fault (RTD open, short, out of its thresholds) is returned as the open or short code
the controller recognises, and the fault status is read and cleared so the next conversion is clean.
Buffers are allocated once: a read allocates nothing.
"""
from micropython import const

_REG_CONFIG = const(0x00)
_REG_RTD_MSB = const(0x01)
_REG_FAULT = const(0x07)
_WRITE = const(0x80)
_BIAS_ON = const(0x80)
_AUTO_CONVERT = const(0x40)
_THREE_WIRE = const(0x10)
_FAULT_CLEAR = const(0x02)
_FILTER_50HZ = const(0x01)
# Fault status bits: RTD high threshold or REFIN- > 0.85 VBIAS (open); low threshold or RTDIN- < 0.85
# VBIAS with FORCE- open (short or missing RTD); other bits: over/under-voltage.
_FAULT_HIGH = const(0x80)
_FAULT_REFIN_HIGH = const(0x20)
CODE_OPEN = const(32767)
CODE_SHORT = const(0)


class MAX31865:
    def __init__(self, spi, cs, three_wire=False, mains_hz=50):
        self.spi = spi
        self.cs = cs
        self.cs.value(1)
        self.config = _BIAS_ON | _AUTO_CONVERT
        if three_wire:
            self.config |= _THREE_WIRE
        if mains_hz == 50:
            self.config |= _FILTER_50HZ
        self.tx = bytearray(3)
        self.rx = bytearray(3)
        # Views made once: slicing in each transfer would allocate.
        self.tx_views = (None, memoryview(self.tx)[:2], memoryview(self.tx)[:3])
        self.rx_views = (None, memoryview(self.rx)[:2], memoryview(self.rx)[:3])
        self.faults = 0  # conversions flagged by the chip since boot
        self._write(_REG_CONFIG, self.config | _FAULT_CLEAR)

    def _write(self, register, value):
        self.tx[0] = register | _WRITE
        self.tx[1] = value
        self.cs.value(0)
        self.spi.write(self.tx_views[1])
        self.cs.value(1)

    def _read(self, register, count):
        tx = self.tx
        tx[0] = register
        tx[1] = 0
        tx[2] = 0
        self.cs.value(0)
        self.spi.write_readinto(self.tx_views[count], self.rx_views[count])
        self.cs.value(1)

    def read_code(self):
        """The latest conversion as a 15-bit code, or CODE_OPEN / CODE_SHORT for a flagged fault."""
        self._read(_REG_RTD_MSB, 2)
        raw = (self.rx[1] << 8) | self.rx[2]
        if not raw & 1:
            return raw >> 1
        self.faults += 1
        self._read(_REG_FAULT, 1)
        status = self.rx[1]
        self._write(_REG_CONFIG, self.config | _FAULT_CLEAR)
        if status & (_FAULT_HIGH | _FAULT_REFIN_HIGH):
            return CODE_OPEN
        return CODE_SHORT
