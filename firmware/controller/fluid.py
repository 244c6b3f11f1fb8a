"""The perfusate's physics that the controller, the supervisor and the runaway watch all model: its heat
capacity and the heat a flow carries, one step of the heat exchanger as a mixed volume (each model
keeps its own state), the 16-bit hundredths of a degree their delay lines keep temperatures in, and
how fast a reading moves (Rate)."""

# Heat capacity of the perfusate (water-like carrier solutions), J per mL per degC.
PERFUSATE_J_PER_ML_C = 4.18
# Below this flow the circuit is not taken as circulating: the heater's gains are scheduled, the line's
# heat figured at this flow (a stopped pump must not zero the loop or divide by zero), and no transit
# is looked for.
MIN_FLOW_ML_MIN = 50.0


def carried_w_per_c(flow_ml_min):
    """Watts needed per degC of temperature rise of the fluid at this flow."""
    return flow_ml_min * (PERFUSATE_J_PER_ML_C / 60.0)


def centi_c(temp_c):
    """temp_c in hundredths of a degree, held to a 16-bit signed sample ("h" arrays): half the heap of
    floats, and finer than one converter step (0.034 degC)."""
    v = int(temp_c * 100.0 + 0.5)
    return 32767 if v > 32767 else -32768 if v < -32768 else v


def exchanger_step(t_c, inlet_c, flow_ml_min, element_w, volume_ml, cfg, dt_s):
    """The exchanger's mixed volume_ml after dt_s: fed at inlet_c at this flow, heated by element_w,
    losing the configuration's circuit_loss_w_per_c to its room."""
    moved_ml = flow_ml_min * dt_s / 60.0
    t = (t_c * volume_ml + inlet_c * moved_ml) / (volume_ml + moved_ml)
    return t + (element_w - cfg.circuit_loss_w_per_c * (t - cfg.room_temp_c)) * dt_s / (
        PERFUSATE_J_PER_ML_C * volume_ml)


class Rate:
    """How fast a reading moves, degC/s: the reading smoothed over smooth_s (0: taken as read), then its
    change per second smoothed over rate_s. restart() starts it at rest at a reading."""

    def __init__(self, smooth_s, rate_s):
        self.smooth_s = smooth_s
        self.rate_s = rate_s
        self.value_c = 0.0
        self.c_per_s = 0.0
        # The two filters' weights dt / (tau + dt) and the step they are for: worked out afresh, four
        # floats on the heap a tick.
        self.dt_s = -1.0
        self.smooth_weight = 0.0
        self.rate_weight = 0.0

    def restart(self, value_c):
        self.value_c = value_c
        self.c_per_s = 0.0

    def update(self, value_c, dt_s):
        if dt_s != self.dt_s:
            self.dt_s = dt_s
            self.smooth_weight = dt_s / (self.smooth_s + dt_s)
            self.rate_weight = dt_s / (self.rate_s + dt_s)
        if self.smooth_s > 0.0:
            value_c = self.value_c + (value_c - self.value_c) * self.smooth_weight
        self.c_per_s += ((value_c - self.value_c) / dt_s - self.c_per_s) * self.rate_weight
        self.value_c = value_c
        return self.c_per_s
