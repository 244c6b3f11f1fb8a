"""Heater current watch: the current the element draws against the drive its switch was given.

A switch failed closed (a welded SSR, a shorted MOSFET) passes current whatever its drive. The probes see
it once the element has heated the fluid: seconds at the exchanger outlet, more on a noisy converter, and
in priming the exchanger's own warming hides it. A current transducer on the element's supply (an
averaging Hall-effect or current-transformer transducer with a 4-20 mA output, what industrial heater
controllers use for their "SSR failure" alarm) sees it the moment the drive falls: the element draws more
current than the drive explains, whatever the probes' noise, the flow or the phase.

The transducer averages (its response, _HEATER_CURRENT_FALL_S) and a switch opens at its next zero
crossing, so the current the drive explains rises at once with the drive and falls with that response.
The element's real current may differ from its nameplate (heater_rated_w over heater_supply_v) by the
tolerance of both, which HEATER_CURRENT_MARGIN covers: a switch stuck on is seen whenever the drive is
below about half of full power, which is where it does harm (at full drive it adds nothing).

The other way, an element driven that draws (almost) no current is an open element, a blown fuse or
a tripped thermal cut-out, or a transducer that has failed; and a loop outside 3.6-21 mA is a failed
transducer or wiring (loop.py). Either way the protection above is gone, or the heat is: a technical alarm.
Judged only while the safety relay is closed (with it open nothing can conduct).
"""
from micropython import const
from controller import loop

# Current beyond the drive's, as a share of the element's rated current, that counts as a switch failed
# closed: the element's and the supply's tolerance (a heater 25 % stronger than its nameplate draws 0.25
# more at full drive) and the transducer's accuracy (a few % of its full scale).
HEATER_CURRENT_MARGIN = 0.3
# The transducer's averaging: a drive that fell is still seen for this long (time constant, s); a
# transducer answering within 0.3 s to 90 % (docs/hardware.md) stays inside it.
_HEATER_CURRENT_FALL_S = const(0.3)
# Averaged over _HEATER_CURRENT_MEAN_S (a few SSR windows), a drive of at least _HEATER_CURRENT_MIN_DRIVE
# of full power must draw at least _HEATER_CURRENT_MIN_SHARE of the current it explains: an element that
# draws less heats nothing (an element off its nameplate by a quarter draws three quarters of it).
_HEATER_CURRENT_MEAN_S = const(5.0)
_HEATER_CURRENT_MIN_DRIVE = const(0.15)
_HEATER_CURRENT_MIN_SHARE = const(0.3)


class HeaterCurrentWatch:
    """Preallocated; update() once a tick, before the outputs are decided."""

    def __init__(self, config):
        self.config = config
        self.expected_share = 0.0  # current the drive explains, share of the rated current
        self.mean_drive = 0.0      # the drive, averaged over _HEATER_CURRENT_MEAN_S (share of full power)
        self.mean_drawn = 0.0      # the current drawn, likewise (share of the rated current)
        self.current_a = -1.0      # this tick's current, A (-1: loop failed, or none fitted)
        self.excess_share = 0.0    # current beyond the drive's, share of the rated current
        self.lost = False          # no current while driven, or a failed loop

    def reset(self):
        self.expected_share = 0.0
        self.mean_drive = 0.0
        self.mean_drawn = 0.0
        self.excess_share = 0.0
        self.lost = False

    def read(self, loop_ma):
        """The transducer's reading in A (-1.0 for a failed loop, or none fitted: loop_ma -1)."""
        full_share = loop.share(loop_ma)
        self.current_a = -1.0 if full_share < 0.0 else full_share * self.config.heater_current_full_scale_a
        return self.current_a

    def update(self, loop_ma, drive_share, dt_ms):
        """One tick with the transducer's loop current (mA) and the drive of the last tick (share of full
        power, 0.0 with the relay open); True while the element draws current its drive does not explain.
        Sets `lost` while the element draws none though driven, or the loop has failed."""
        cfg = self.config
        dt_s = dt_ms / 1000.0
        expected = self.expected_share
        expected += (drive_share - expected) * dt_s / (_HEATER_CURRENT_FALL_S + dt_s)
        if expected < drive_share:
            expected = drive_share
        self.expected_share = expected
        mean = dt_s / (_HEATER_CURRENT_MEAN_S + dt_s)
        self.mean_drive += (drive_share - self.mean_drive) * mean
        if self.read(loop_ma) < 0.0:
            self.excess_share = 0.0
            self.lost = True
            return False
        drawn = self.current_a * cfg.heater_supply_v / cfg.heater_rated_w
        self.excess_share = drawn - expected
        self.mean_drawn += (drawn - self.mean_drawn) * mean
        self.lost = (self.mean_drive >= _HEATER_CURRENT_MIN_DRIVE
                     and self.mean_drawn < _HEATER_CURRENT_MIN_SHARE * self.mean_drive)
        return self.excess_share > HEATER_CURRENT_MARGIN
