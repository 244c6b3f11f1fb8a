"""Session phases and the transitions between them.

IDLE -> PRIMING (pre-heat in the extracorporeal loop, abdomen bypassed) -> HEATING (fill and perfuse
the abdomen until the target is reached) -> TREATMENT (the timer counts only while in band) ->
COOLDOWN (heater off, circulation continues) -> DRAIN -> COMPLETE. PAUSED, ABORTED and FAULT can be
entered from the running phases. A command is accepted only in the phases tables.REQUESTS lists for it.

Every change of phase is queued with its time and, for FAULT, the alarm behind it, so that each one
becomes a state event even when several happen between two ticks (commands sent back to back) or a
command's phase is left again by the next tick.
"""
from micropython import const
from array import array

from controller.errors import CommandError, BAD_STATE
from controller.tables import (IDLE, PRIMING, HEATING, TREATMENT, COOLDOWN, DRAIN, COMPLETE, PAUSED,  # noqa: F401
                               ABORTED, FAULT, PHASE_NAMES, RUNNING, HEATED, PERFUSING, AT_REST, REQUESTS)

# Priming's hold (prime_stable_s) counts the time in band net of this many times the time out of it. A noisy
# converter's reading leaves the band a tick now and then at a steady inflow, and a hold restarted by each
# such tick never ended at 300 s (campaign plant 21, 0.19 degC of noise; no alarm said so); a value out of
# band one tick in 6 or more often is wandering about the band and never counts up (the progress watch
# then says so). At 1 the default 30 s hold ended minutes earlier on noisy plants than it had, and three
# of the campaign's 73 reachable plants went over 0.10 degC at the cold return; at 20 a 300 s hold left
# nine of them raising no_progress in priming and one in it for good; at 5 one (benchmarks.md).
_OUT_OF_BAND_COST = const(5)

# Phase changes waiting to become events: more than one request's worth between two ticks. Beyond it
# the oldest are still counted (changes_dropped), never silently lost.
_CHANGE_QUEUE = const(16)


def require(request, phase, allowed=None):
    """Refuse a request in a phase tables.REQUESTS (or allowed) does not list, naming where it is allowed."""
    if allowed is None:
        allowed = REQUESTS[request]
    if phase not in allowed:
        raise CommandError(BAD_STATE, "type", "%s is not allowed in %s; allowed in: %s" % (
            request, PHASE_NAMES[phase], ", ".join(PHASE_NAMES[p] for p in allowed)))


class Session:
    def __init__(self):
        self.phase = IDLE
        self.phase_since_ms = 0
        self.resume_to = IDLE  # where resume returns from PAUSED or FAULT
        # An alarm paused the session with the heater off (host_absent): PAUSED holds it off until resume.
        self.heat_held = False
        self.treatment_ms = 0
        self.target_reached = False
        self.in_band_ms = 0  # PRIMING: time in band, net of _OUT_OF_BAND_COST times the time out of it
        self.queue_phase = bytearray(_CHANGE_QUEUE)
        self.queue_fault = bytearray(_CHANGE_QUEUE)  # the alarm behind a FAULT + 1 (0: none)
        self.queue_ms = array("i", [0] * _CHANGE_QUEUE)
        self.queued = 0
        self.changes_dropped = 0

    def enter(self, phase, now_ms, fault_alarm=-1):
        if phase != self.phase:
            self.phase = phase
            self.phase_since_ms = now_ms
            if self.queued >= _CHANGE_QUEUE:
                self.changes_dropped += 1
                return
            n = self.queued
            self.queue_phase[n] = phase
            self.queue_fault[n] = fault_alarm + 1
            self.queue_ms[n] = now_ms
            self.queued = n + 1

    def hold(self, phase, now_ms, fault_alarm=-1):
        """Enter PAUSED or FAULT, remembering the phase a later resume returns to."""
        if self.phase != PAUSED and self.phase != FAULT:
            self.resume_to = self.phase
        self.enter(phase, now_ms, fault_alarm)

    def command(self, name, now_ms):
        """Apply an operator command; refuses it with a clear error in the wrong phase."""
        require(name, self.phase)
        if name == "start" or name == "resume":
            self.heat_held = False
        if name == "start":
            self.treatment_ms = 0
            self.target_reached = False
            self.in_band_ms = 0
            self.enter(PRIMING, now_ms)
        elif name == "pause":
            self.hold(PAUSED, now_ms)
        elif name == "resume":
            self.enter(self.resume_to, now_ms)
        elif name == "stop":
            self.enter(COOLDOWN, now_ms)
        elif name == "abort":
            self.enter(ABORTED, now_ms)
        elif name == "reset":
            self.enter(IDLE, now_ms)

    def advance(self, now_ms, dt_ms, in_band, filled, cooled, ticks_diff, cfg, duration_ms):
        """The automatic transitions, evaluated once per control tick."""
        phase = self.phase
        if phase == PRIMING:
            # The time in band net of _OUT_OF_BAND_COST times the time out of it (see there).
            if in_band:
                self.in_band_ms += dt_ms
            else:
                cost = _OUT_OF_BAND_COST * dt_ms
                self.in_band_ms = self.in_band_ms - cost if self.in_band_ms > cost else 0
            if in_band and self.in_band_ms >= cfg.prime_stable_s * 1000:
                self.enter(HEATING, now_ms)
        elif phase == HEATING:
            if in_band and filled:
                self.target_reached = True
                self.enter(TREATMENT, now_ms)
        elif phase == TREATMENT:
            if in_band:
                self.treatment_ms += dt_ms
            if self.treatment_ms >= duration_ms:
                self.enter(COOLDOWN, now_ms)
        elif phase == COOLDOWN:
            if cooled or ticks_diff(now_ms, self.phase_since_ms) >= cfg.cooldown_max_s * 1000:
                self.enter(DRAIN, now_ms)
        elif phase == DRAIN:
            if ticks_diff(now_ms, self.phase_since_ms) >= cfg.drain_s * 1000:
                self.enter(COMPLETE, now_ms)
