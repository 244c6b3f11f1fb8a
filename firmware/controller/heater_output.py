"""Heater output stage: the power the controller asks for, as the switch driving the element needs it.

DC heater on hardware PWM: a duty in permille every tick. SSR (mains heater): whole-tick on/off by
time-proportioning over ssr_period_ms; the on-time of each window is fixed at its start and the part a
whole tick cannot express is carried into the next window, so the average power is exact over time.
"""
PWM = 0
SSR = 1
FULL_PM = 1000


class HeaterOutput:
    def __init__(self, config):
        self.config = config
        self.window_ms = 0     # time into the current SSR window
        self.on_ms = 0         # on-time granted to this window
        self.carry_ms = 0      # on-time owed from earlier windows (rounding to whole ticks)

    def reset(self):
        self.window_ms = 0
        self.on_ms = 0
        self.carry_ms = 0

    def duty_pm(self, power_w, dt_ms):
        """Permille to drive this tick for power_w watts."""
        cfg = self.config
        pm = int(power_w * FULL_PM / cfg.heater_rated_w + 0.5)
        if pm > FULL_PM:
            pm = FULL_PM
        elif pm < 0:
            pm = 0
        if cfg.heater_output != SSR:
            return pm
        period_ms = cfg.ssr_period_ms
        if self.window_ms == 0 or self.window_ms >= period_ms:
            self.window_ms = 0
            wanted_ms = period_ms * pm // FULL_PM + self.carry_ms
            self.on_ms = (wanted_ms // dt_ms) * dt_ms
            self.carry_ms = wanted_ms - self.on_ms
        on = self.window_ms < self.on_ms
        self.window_ms += dt_ms
        return FULL_PM if on else 0

    def average_pm(self, duty_pm):
        """What the element is being given on average: the duty itself on PWM; on an SSR, the on-share
        of the current window (the element's lag averages the window, and the whole window is decided
        at its start)."""
        if self.config.heater_output != SSR:
            return duty_pm
        return self.on_ms * FULL_PM // self.config.ssr_period_ms
