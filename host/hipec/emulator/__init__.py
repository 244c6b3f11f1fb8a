"""The emulated controller board: the real firmware on the MicroPython interpreter, driving a plant model."""
