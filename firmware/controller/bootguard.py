"""The boot-loop guard: counts consecutive watchdog resets in non-volatile memory and, after
SAFE_MODE_AFTER_RESETS of them, boots the board into safe mode, so that no stored value (a setting that
crashes the loop, a calibration that hangs a driver) can keep a board resetting for ever.

In safe mode the stored settings are not applied (the board runs on its defaults), every output is held
off by the interlock, and nothing that drives an output is accepted (start, the pump calibration);
the board still answers the host, reports `safe_mode` in hello and status, and takes new settings. Only
the host ends it (leave_safe_mode), after which the stored settings are loaded again. A crash that
escapes the loop counts too: main.py re-raises it and the armed watchdog resets the board.

A boot that runs STABLE_RUN_MS without a reset clears the count, so resets spread over days never add
up to safe mode; a power-on neither counts nor clears (a board power-cycled out of a loop stays safe).
"""
# Three watchdog resets in a row: one is a fault the alarm reports, two may be chance, three is a loop.
SAFE_MODE_AFTER_RESETS = 3
# A boot this long without a reset is healthy (30 loop-timeouts of the watchdog): the count restarts.
STABLE_RUN_MS = 60000


class BootGuard:
    def __init__(self, board):
        self.board = board
        count = board.reset_count_read()
        if board.reset_cause() == "watchdog":
            count += 1
            board.reset_count_write(count)
        self.resets = count  # consecutive watchdog resets up to this boot
        self.safe_mode = count >= SAFE_MODE_AFTER_RESETS
        self._stable = count == 0

    def report(self):
        """What hello and status say of safe mode: None, or why the board is in it."""
        if not self.safe_mode:
            return None
        return {"resets": self.resets, "after": SAFE_MODE_AFTER_RESETS}

    def tick(self, uptime_ms):
        """Called every tick: once this boot has run long enough outside safe mode, the count restarts."""
        if self._stable or self.safe_mode or uptime_ms < STABLE_RUN_MS:
            return
        self._restart_count()

    def leave(self):
        """The host ends safe mode; the count restarts from zero."""
        self.safe_mode = False
        self._restart_count()

    def _restart_count(self):
        self._stable = True
        self.resets = 0
        self.board.reset_count_write(0)
