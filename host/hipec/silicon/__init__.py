"""The firmware on emulated RP2040 silicon: MicroPython's real rp2 image running in rp2040js (the Node
harness in tools/rp2040/), the board module boards/rp2040 unchanged, the plant model behind its pins.

- data.py: where the image, the boot ROM and the symbol table are, and the harness's Node program;
- pins.py: the board's pin map, read from boards/rp2040/board.py (its one source);
- filesystem.py: the board's littlefs with the firmware on it, preloaded into the flash;
- pipe.py: the framed pipe to the harness;
- wiring.py: the plant's side of the pins (RTD ratios, the pressure ADC, level and air inputs) and the
  outputs the harness read back, in the plant's terms;
- launcher.py: SiliconMCU, the emulated board as `hipec emulate --mcu rp2040` and the tests run it;
- replies.py: the link's reply times on the chip's clock.
"""
