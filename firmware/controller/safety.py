"""Absolute limits of the firmware, and the supervisor that watches for every fault the board can see.

The limits are values no message can change (shared/clinical.md, "hard limits"). The supervisor runs
once per control tick, before the outputs are decided, and sets the condition of each alarm rule in
alarms.py; the reactions of active alarms then override the controller in the same tick. None of it
depends on the host being connected.
"""
from array import array

from controller import alarms, probes

# Highest setpoint any plan may ask for: 1 degC above the C-HIPEC target of 43.0 degC.
ABS_MAX_SETPOINT_C = 44.0
# Any fluid probe at or above this cuts the heater at once: normal tissue tolerates 47 degC for 1 h only.
ABS_CUTOFF_C = 45.0
# Highest pump flow: twice the top of the 400-600 mL/min standard, the tubing's safe rating.
ABS_MAX_FLOW_ML_MIN = 1000.0
# Patient core temperature at which heating stops whatever the host's alarm limit says.
ABS_CORE_CRITICAL_C = 39.5
# Heart rate above which the consensus asks to check blood volume and give fluid.
HEART_RATE_ALARM_BPM = 120

# Persistence before a condition counts (ms): long enough to ignore a noisy sample, short against harm.
# Ten consecutive raw samples over the limit: converter noise cannot fake that, a real excursion can.
TEMP_HIGH_MS = 1000
PRESSURE_HIGH_MS = 1000
AIR_MS = 200
RESERVOIR_LOW_MS = 2000
PROBE_DISAGREEMENT_MS = 30000
FLOW_DEVIATION_MS = 5000
# A converter code that has not moved by one step in this long, with fluid moving, is a stuck probe.
PROBE_STUCK_MS = 120000
# Abdominal probes further apart than this measure different things: one is drifting or misplaced.
PROBE_DISAGREEMENT_C = 1.0
# Executed pump steps more than this fraction away from the commanded rate: the motor is stalling.
FLOW_DEVIATION_FRACTION = 0.05
# Heat balance: how far the inflow may sit from what heater power and flow predict, for how long.
HEAT_BALANCE_C = 1.5
HEAT_BALANCE_MS = 60000
# The predicted heater outlet is delayed by the inflow line's transport time before it is compared
# with the inflow probe; the delay line holds one sample a second for up to this many seconds.
DELAY_SLOTS = 120
# While the reservoir temperature moves, the lagged prediction trails it by about this many seconds
# of its slope; the tolerance widens by as much (the first return from the abdomen, a drug addition).
HEAT_BALANCE_SLOPE_S = 30.0
# Smoothing of that slope.
HEAT_BALANCE_SLOPE_TAU_S = 10.0
# The heat balance is only judged once flow has been steady this long (the prediction has settled).
HEAT_BALANCE_SETTLE_MS = 180000
# Flows below this carry too little heat for the balance to mean anything.
HEAT_BALANCE_MIN_FLOW_ML_MIN = 100.0
# Heating watch (after Klipper's verify_heater, sized for a 5 L water circuit): while the heater
# works on a fluid still well below the setpoint, the inflow must gain this much in every window.
HEATING_GAIN_C = 1.0
HEATING_GAIN_WINDOW_MS = 90000
HEATING_BELOW_SETPOINT_C = 2.0
HEATING_MIN_W = 100.0
# The treatment phase may last this much longer than the plan before the operator is told.
TREATMENT_OVERRUN_FACTOR = 1.5
PERFUSATE_J_PER_ML_C = 4.18

CONTROL_PROBES = (probes.INFLOW, probes.RESERVOIR)
MONITOR_PROBES = (probes.OUTFLOW, probes.ABDOMINAL_1, probes.ABDOMINAL_2, probes.ABDOMINAL_3, probes.ABDOMINAL_4)

# Timers, one per persistent condition.
T_TEMP_HIGH = 0
T_TEMP_LOW = 1
T_PRESSURE = 2
T_AIR = 3
T_RESERVOIR = 4
T_DISAGREE = 5
T_FLOW = 6
T_BALANCE = 7
T_STEADY = 8
N_TIMERS = 9


class Supervisor:
    def __init__(self, config, alarm_state):
        self.config = config
        self.alarms = alarm_state
        self.timer_ms = array("i", [0] * N_TIMERS)
        self.last_code = array("H", [0] * probes.N_PROBES)
        self.unchanged_ms = array("i", [0] * probes.N_PROBES)
        self.predicted_outlet_c = 0.0
        self.predicted_valid = False
        self.reservoir_prev_c = 0.0
        self.reservoir_slope_c_per_s = 0.0
        self.gain_from_c = 0.0
        self.gain_window_ms = -1  # -1: not heating up, no window running
        self.delay_line = array("f", [0.0] * DELAY_SLOTS)
        self.delay_index = 0
        self.delay_ms = 0
        self.residual_c = 0.0
        self.residual_max_c = 0.0
        self.last_steps = 0
        self.core_temp_c = 0.0  # 0 = not entered
        self.heart_rate_bpm = 0
        self.reset_by_watchdog = False

    def _persist(self, timer, active, dt_ms, needed_ms):
        """Count how long a condition has held; True once it has held needed_ms."""
        if not active:
            self.timer_ms[timer] = 0
            return False
        if self.timer_ms[timer] < needed_ms:
            self.timer_ms[timer] += dt_ms
        return self.timer_ms[timer] >= needed_ms

    def _set(self, alarm, active, value):
        a = self.alarms
        a.condition[alarm] = 1 if active else 0
        if active:
            a.value[alarm] = value

    def check(self, ctl, dt_ms):
        """Evaluate every alarm condition for this tick from the controller's fresh readings."""
        cfg = self.config
        p = ctl.probes
        board = ctl.board
        setpoint = ctl.setpoint_c
        circulating = ctl.pump.flow_ml_min > 0.0

        # Absolute limit: the raw (unfiltered) reading of any probe, so detection adds no filter lag.
        hottest = p.hottest_c()
        self._set(alarms.OVER_TEMPERATURE, hottest >= ABS_CUTOFF_C, hottest)

        inflow = p.temp_c[probes.INFLOW]
        inflow_ok = p.valid[probes.INFLOW]
        # Too hot is judged on the raw reading (no filter lag): a heater switch failed closed
        # shows first here, and every tenth of a second counts.
        raw_inflow = p.raw_c[probes.INFLOW]
        # In a cascade the inflow setpoint moves and the line delays the inflow behind it: the inflow is
        # judged against the absolute setpoint limit instead, and the cavity against the target.
        inflow_limit = ABS_MAX_SETPOINT_C if ctl.cascade_active else setpoint
        high = setpoint > 0.0 and inflow_ok and raw_inflow > inflow_limit + cfg.alarm_band_c
        if ctl.cascade_active and setpoint > 0.0 and ctl.controlled_c > ctl.target_c + cfg.alarm_band_c:
            high = True
        self._set(alarms.TEMP_HIGH, self._persist(T_TEMP_HIGH, high, dt_ms, TEMP_HIGH_MS), raw_inflow)
        # Too cold is judged on the controlled point (the cavity in a cascade): the treatment is not working.
        controlled = ctl.controlled_c
        low = ctl.session_in_treatment() and inflow_ok and controlled < ctl.target_c - cfg.alarm_band_c
        self._set(alarms.TEMP_LOW, self._persist(T_TEMP_LOW, low, dt_ms, cfg.temp_low_delay_s * 1000),
                  controlled)

        # Probes: failed (open, short, implausible) or stuck (code frozen while the fluid moves).
        for i in range(probes.N_PROBES):
            code = p.codes[i]
            if code != self.last_code[i] or not circulating:
                self.last_code[i] = code
                self.unchanged_ms[i] = 0
            elif self.unchanged_ms[i] < PROBE_STUCK_MS:
                self.unchanged_ms[i] += dt_ms
        control_bad = -1
        for i in CONTROL_PROBES:
            if p.failed[i] or self.unchanged_ms[i] >= PROBE_STUCK_MS:
                control_bad = i
        self._set(alarms.CONTROL_PROBE_FAILED, control_bad >= 0, control_bad)
        monitor_bad = -1
        for i in MONITOR_PROBES:
            if p.fitted[i] and (p.failed[i] or self.unchanged_ms[i] >= PROBE_STUCK_MS):
                monitor_bad = i
        self._set(alarms.MONITOR_PROBE_FAILED, monitor_bad >= 0, monitor_bad)
        # The cavity probes that read: their spread (a probe out of the fluid, or a cold region).
        high = -1000.0
        low = 1000.0
        for i in probes.ABDOMINAL:
            if p.valid[i]:
                t = p.temp_c[i]
                if t > high:
                    high = t
                if t < low:
                    low = t
        spread = high - low if high >= low else 0.0
        apart = ctl.perfusing() and spread > PROBE_DISAGREEMENT_C
        self._set(alarms.PROBE_DISAGREEMENT, self._persist(T_DISAGREE, apart, dt_ms, PROBE_DISAGREEMENT_MS),
                  spread)

        self._heat_balance(ctl, dt_ms)

        # Lines and pump.
        pressure = board.pressure_mmhg()
        self._set(alarms.PRESSURE_HIGH,
                  self._persist(T_PRESSURE, pressure >= cfg.pressure_high_mmhg, dt_ms, PRESSURE_HIGH_MS),
                  pressure)
        self._set(alarms.AIR_IN_LINE, self._persist(T_AIR, board.air_in_line(), dt_ms, AIR_MS), 1)
        self._set(alarms.RESERVOIR_LOW,
                  self._persist(T_RESERVOIR, board.reservoir_low(), dt_ms, RESERVOIR_LOW_MS), 1)
        steps = board.pump_steps()
        executed = (steps - self.last_steps) * 1000.0 / dt_ms
        self.last_steps = steps
        # The steps since the last tick were made at the rate the pump was given in the last tick.
        commanded = ctl.pump.steps_per_s(ctl.pump.flow_ml_min)
        off = commanded > 0.0 and (executed - commanded > commanded * FLOW_DEVIATION_FRACTION
                                   or commanded - executed > commanded * FLOW_DEVIATION_FRACTION)
        self._set(alarms.FLOW_DEVIATION, self._persist(T_FLOW, off, dt_ms, FLOW_DEVIATION_MS), executed)

        # Host and session.
        running = ctl.session_running()
        silent_ms = ctl.link_silent_ms()
        self._set(alarms.LINK_LOST, running and not ctl.link_ok, silent_ms)
        self._set(alarms.HOST_ABSENT, running and silent_ms >= cfg.link_grace_s * 1000, silent_ms)
        self._set(alarms.TREATMENT_OVERRUN,
                  ctl.treatment_phase_ms() > ctl.plan.duration_min * 60000.0 * TREATMENT_OVERRUN_FACTOR,
                  ctl.treatment_phase_ms() / 1000)
        core = self.core_temp_c
        self._set(alarms.CORE_TEMP_HIGH, core >= cfg.core_alarm_c, core)
        self._set(alarms.CORE_TEMP_CRITICAL, core >= ABS_CORE_CRITICAL_C, core)
        self._set(alarms.HEART_RATE_HIGH, self.heart_rate_bpm > HEART_RATE_ALARM_BPM, self.heart_rate_bpm)
        self._set(alarms.WATCHDOG_RESET, self.reset_by_watchdog, 1)

    def _heat_balance(self, ctl, dt_ms):
        """Does the inflow sit where heater power and flow put it? Catches a drifting or dislodged
        inflow probe, a heater stuck on and a dead heater, all of which the controller would hide."""
        p = ctl.probes
        flow = ctl.pump.flow_ml_min
        usable = (flow >= HEAT_BALANCE_MIN_FLOW_ML_MIN and p.valid[probes.INFLOW] and p.valid[probes.RESERVOIR])
        steady = self._persist(T_STEADY, usable and flow == ctl.pump.target_ml_min, dt_ms,
                               HEAT_BALANCE_SETTLE_MS)
        if not usable:
            self.predicted_valid = False
            self._persist(T_BALANCE, False, dt_ms, HEAT_BALANCE_MS)
            stalled = p.valid[probes.INFLOW] and self._heating_stalled(ctl, dt_ms)
            self._set(alarms.HEAT_BALANCE, stalled, p.temp_c[probes.INFLOW])
            return
        reservoir = p.temp_c[probes.RESERVOIR]
        cfg = self.config
        # What reaches the inflow probe: heater power less what the heater and line lose to the room.
        net_w = ctl.heater_w - cfg.circuit_loss_w_per_c * (reservoir - cfg.room_temp_c)
        target = reservoir + net_w / (flow * PERFUSATE_J_PER_ML_C / 60.0)
        dt_s = dt_ms / 1000.0
        if not self.predicted_valid:
            self.predicted_outlet_c = p.temp_c[probes.INFLOW]
            self.reservoir_prev_c = reservoir
            self.reservoir_slope_c_per_s = 0.0
            for i in range(DELAY_SLOTS):
                self.delay_line[i] = self.predicted_outlet_c
            self.predicted_valid = True
        lag_s = cfg.heater_lag_s
        self.predicted_outlet_c += (target - self.predicted_outlet_c) * dt_s / (lag_s + dt_s)
        self.delay_ms += dt_ms
        if self.delay_ms >= 1000:
            self.delay_ms -= 1000
            self.delay_index = (self.delay_index + 1) % DELAY_SLOTS
            self.delay_line[self.delay_index] = self.predicted_outlet_c
        delay_s = int(cfg.inflow_line_ml * 60.0 / flow + 0.5)
        if delay_s >= DELAY_SLOTS:
            delay_s = DELAY_SLOTS - 1
        predicted_inflow = self.delay_line[(self.delay_index - delay_s) % DELAY_SLOTS]
        raw_slope = (reservoir - self.reservoir_prev_c) / dt_s
        self.reservoir_prev_c = reservoir
        self.reservoir_slope_c_per_s += (raw_slope - self.reservoir_slope_c_per_s) * dt_s / (
            HEAT_BALANCE_SLOPE_TAU_S + dt_s)
        slope = self.reservoir_slope_c_per_s
        tolerance = HEAT_BALANCE_C + HEAT_BALANCE_SLOPE_S * (slope if slope > 0.0 else -slope)
        residual = p.temp_c[probes.INFLOW] - predicted_inflow
        self.residual_c = residual
        if steady:
            # The figure to watch: how much of its tolerance the balance used (1.0 = at the limit).
            used = (residual if residual > 0.0 else -residual) / tolerance
            if used > self.residual_max_c:
                self.residual_max_c = used
        off = steady and (residual > tolerance or residual < -tolerance)
        balance_off = self._persist(T_BALANCE, off, dt_ms, HEAT_BALANCE_MS)
        self._set(alarms.HEAT_BALANCE, balance_off or self._heating_stalled(ctl, dt_ms), residual)

    def _heating_stalled(self, ctl, dt_ms):
        """Heater working, fluid far below the setpoint, inflow not rising: a probe out of the fluid or
        a heater that heats nothing. Catches it long before the heat balance has a steady flow."""
        inflow = ctl.probes.temp_c[probes.INFLOW]
        heating_up = ctl.heater_w >= HEATING_MIN_W and inflow < ctl.setpoint_c - HEATING_BELOW_SETPOINT_C
        if not heating_up:
            self.gain_window_ms = -1
            return False
        if self.gain_window_ms < 0 or inflow >= self.gain_from_c + HEATING_GAIN_C:
            self.gain_from_c = inflow
            self.gain_window_ms = 0
            return False
        self.gain_window_ms += dt_ms
        return self.gain_window_ms >= HEATING_GAIN_WINDOW_MS
