"""An emulated MicroPython board at its REPL, on a pseudo-terminal, for testing deployment with the
real mpremote: the raw REPL (Ctrl-A banner, code ended by Ctrl-D answered "OK", output and error
each closed by 0x04, the '>' prompt), raw-paste mode with its flow-control window, soft reset (Ctrl-D on
an empty raw REPL) and hard reset (machine.reset()). Code runs in the micropython binary
(boards/repl_device/driver.py), whose working directory is the board's filesystem: a folder here.
"""
from __future__ import annotations

import os
import pty
import subprocess
import threading
import tty
from pathlib import Path

from hipec import REPO_ROOT
from hipec.emulator.mcu import DEFAULT_HEAP_KIB, micropython_binary

# The interpreter side, MicroPython code (boards/repl_device/driver.py).
DRIVER = REPO_ROOT / "boards" / "repl_device" / "driver.py"
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n>"
FRIENDLY_BANNER = b"\r\nMicroPython (emulated board at its REPL)\r\nType \"help()\" for more information.\r\n>>> "
RAW_PASTE_WINDOW = 128
RESET_EXIT = 77


class ReplDevice:
    def __init__(self, folder: Path, port_link: Path | None = None, heap_kib: int = DEFAULT_HEAP_KIB):
        self.folder = Path(folder)
        self.port_link = port_link
        self.heap_kib = heap_kib
        self.soft_resets = 0
        self.hard_resets = 0
        self.device = ""
        self._master = -1
        self._slave = -1
        self._proc: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="repl-device", daemon=True)

    def start(self) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        self.device = os.ttyname(self._slave)
        if self.port_link is not None:
            if self.port_link.is_symlink() or self.port_link.exists():
                self.port_link.unlink()
            self.port_link.symlink_to(self.device)
        self._boot()
        self._thread.start()
        return self.device

    def stop(self) -> None:
        self._stop.set()
        self._kill()
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
        self._thread.join(timeout=5)

    # ------------------------------------------------------------ the interpreter

    def _boot(self) -> None:
        self._kill()
        self._proc = subprocess.Popen([micropython_binary(), "-X", f"heapsize={self.heap_kib}K", str(DRIVER)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      cwd=self.folder)

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def _execute(self, code: bytes) -> None:
        """Run one block and relay its output and error, each closed by 0x04, as the raw REPL does."""
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(len(code).to_bytes(4, "big") + code)
        proc.stdin.flush()
        markers = 0
        while markers < 2:
            byte = proc.stdout.read(1)
            if not byte:  # the interpreter ended: machine.reset(), or it died
                self.hard_resets += 1
                self._boot()
                return
            if byte == b"\x04":
                markers += 1
            self._write(byte)
        self._write(b">")

    # ------------------------------------------------------------ the serial line

    def _write(self, data: bytes) -> None:
        try:
            os.write(self._master, data)
        except OSError:
            pass

    def _read(self) -> bytes:
        try:
            return os.read(self._master, 4096)
        except OSError:
            return b""

    def _serve(self) -> None:
        raw = False
        paste = False
        code = bytearray()
        pending = bytearray()  # bytes received but not yet looked at
        granted = 0  # raw-paste bytes received since the last window was granted
        while not self._stop.is_set():
            if not pending:
                data = self._read()
                if not data:
                    if self._stop.is_set():
                        return
                    continue
                pending.extend(data)
            byte = pending[0]
            del pending[0]
            if paste:
                if byte == 0x04:  # end of the pasted code: acknowledge, run it
                    paste = False
                    self._write(b"\x04")
                    self._execute(bytes(code))
                    code.clear()
                    continue
                code.append(byte)
                granted += 1
                if granted >= RAW_PASTE_WINDOW:
                    granted -= RAW_PASTE_WINDOW
                    self._write(b"\x01")  # room for another window
                continue
            if byte == 0x03:  # Ctrl-C: nothing runs between blocks; drop a half-sent block
                code.clear()
                continue
            if byte == 0x01:  # Ctrl-A: raw REPL
                raw = True
                code.clear()
                self._write(RAW_BANNER)
                continue
            if byte == 0x02:  # Ctrl-B: friendly REPL
                raw = False
                code.clear()
                self._write(FRIENDLY_BANNER)
                continue
            if not raw:
                continue  # the friendly REPL's line editing is not emulated
            if byte == 0x05 and pending[:2] == b"A\x01":  # raw-paste request
                del pending[:2]
                paste = True
                granted = 0
                code.clear()
                self._write(b"R\x01" + RAW_PASTE_WINDOW.to_bytes(2, "little"))
                continue
            if byte == 0x04:
                if not code:  # Ctrl-D on an empty raw REPL: soft reset
                    self.soft_resets += 1
                    self._boot()
                    self._write(b"OK\r\nMPY: soft reboot\r\n" + RAW_BANNER)
                    continue
                self._write(b"OK")
                self._execute(bytes(code))
                code.clear()
                continue
            code.append(byte)
