"""Absolute limits of the firmware, and the supervisor that judges every alarm condition the board can see.

The limits are values no message can change (the clinical standard's "hard limits"). The supervisor
runs once per control tick, before the outputs are decided, on a small record of inputs (inputs.Inputs)
the controller fills; it sets each rule's raw condition in alarms.py, which applies the rule table's
persistence and latching, and interlock.py applies the reactions to the outputs in the same tick. None
of it depends on the host being connected.
"""
from micropython import const
from array import array

from controller import probes
from controller.balance import HeatBalance
from controller.heater_current import HeaterCurrentWatch
from controller.runaway import RunawayWatch
from controller.stuck import StuckProbes
from controller.tables import (OVER_TEMPERATURE, TEMP_HIGH, TEMP_LOW, CONTROL_PROBE_FAILED,
                               MONITOR_PROBE_FAILED, PROBE_DISAGREEMENT, HEAT_BALANCE, PRESSURE_HIGH,
                               AIR_IN_LINE, RESERVOIR_LOW, FLOW_DEVIATION, LINK_LOST, HOST_ABSENT,
                               TREATMENT_OVERRUN, CORE_TEMP_HIGH, CORE_TEMP_CRITICAL, HEART_RATE_HIGH,
                               WATCHDOG_RESET, INFLOW_DISAGREEMENT, HEATER_RUNAWAY, NO_PROGRESS,
                               HEATER_SWITCH_FAILED, HEATER_CURRENT_LOST, VITALS_MAX_AGE_MS)

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

# Persistence before a condition counts is the rule table's (tables.ALARM_RULES): long enough to ignore
# a noisy sample, short against harm (temp_high: ten consecutive raw samples over the limit).
# Abdominal probes further apart than this measure different things: one is drifting or misplaced.
_PROBE_DISAGREEMENT_C = const(1.0)
# The two inflow probes read the same fluid. Further apart than this one is wrong: with the higher
# governing the limits, a probe reading low by less lets the fluid reach at most the highest setpoint
# plus this (44.5 degC), whatever the alarm band; twelve standard deviations of the filtered difference
# at the noisiest converter the plant model allows.
_INFLOW_DISAGREEMENT_C = const(0.5)
# Executed pump steps more than this fraction away from the commanded rate: the motor is stalling.
_FLOW_DEVIATION_FRACTION = const(0.05)
# Heat balance (balance.py): how long the inflow may sit off the prediction.
_HEAT_BALANCE_MS = const(60000)
# The heat balance is only judged once flow has been steady this long (the prediction has settled).
_HEAT_BALANCE_SETTLE_MS = const(180000)
# Flows below this carry too little heat for the balance to mean anything.
_HEAT_BALANCE_MIN_FLOW_ML_MIN = const(100.0)
# Heating watch (after Klipper's verify_heater): while the heater works on a fluid still well below the
# setpoint, the inflow must gain this much in every window. The window covers the slowest circuit the plant
# model documents that can reach the target: a 1 L exchanger, a 0.6 L inflow line at 400 mL/min, a 60 s
# element, a 10 s probe and a lossy exchanger, heated at the outlet cap, gains its first degree (or comes
# within 2 degC of the target) 267 s after the heater starts. 90 s, sized for the reference circuit,
# faulted slow circuits that were heating normally (the plant campaign's seed 10: 0.56 L line, 33 s
# element).
_HEATING_GAIN_C = const(1.0)
HEATING_GAIN_WINDOW_MS = 300000
_HEATING_BELOW_SETPOINT_C = const(2.0)
_HEATING_MIN_W = const(100.0)
# The treatment phase may last this much longer than the plan before the operator is told.
_TREATMENT_OVERRUN_FACTOR = const(1.5)
# Progress watch: heating up (PRIMING, HEATING) and out of band, the controlled temperature must come
# this much closer to the target in every window. The weakest heater the plant model allows (300 W) lifts
# 6 L by 7 degC in ten minutes: a heat-up that works gains far more, and the last 0.2 degC into the band
# takes well under ten minutes; an asymptote short of the target (a weak heater, a cold room, a cavity the
# capped inflow cannot lift) does not.
_PROGRESS_MIN_C = const(0.2)
_PROGRESS_WINDOW_MS = const(600000)
# The band ends the watch once held this long (twice priming's default hold): a noisy value stalled at
# its edge only touches it (the plant campaign's seed 32 sat 2 h in PRIMING with no alarm). Priming has
# a bound of its own besides (_progress): its hold (prime_stable_s, up to 600 s) may be longer than this.
_PROGRESS_BAND_MS = const(60000)

# Probes without which the heater may not run: control's (inflow, reservoir) and the safety channel's
# (the redundant inflow, the exchanger outlet) where fitted.
CONTROL_PROBES = (probes.INFLOW, probes.RESERVOIR, probes.INFLOW_2, probes.HEATER_OUTLET)
MONITOR_PROBES = (probes.OUTFLOW, probes.ABDOMINAL_1, probes.ABDOMINAL_2, probes.ABDOMINAL_3, probes.ABDOMINAL_4)

# The heat balance's own windows (its rule has no persistence of its own).
_T_BALANCE = const(0)
_T_STEADY = const(1)
_N_TIMERS = const(2)


class Supervisor:
    def __init__(self, config, alarm_state):
        self.config = config
        self.alarms = alarm_state
        self.timer_ms = array("i", [0] * _N_TIMERS)
        self.stuck = StuckProbes()
        self.gain_from_c = 0.0
        self.gain_window_ms = -1  # -1: not heating up, no window running
        self.last_steps = 0
        self.progress_best_c = -1.0  # closest the controlled value came to the target (-1: no window)
        self.progress_ms = 0         # since it last came _PROGRESS_MIN_C closer
        self.progress_band_ms = 0    # in band without a break
        self.priming_band_ms = 0     # priming since the controlled value first came into band
        self.runaway = RunawayWatch(config)
        self.current = HeaterCurrentWatch(config)
        self.balance = HeatBalance(config)

    def _persist(self, timer, active, dt_ms, needed_ms):
        """Count how long a condition has held; True once it has held needed_ms."""
        if not active:
            self.timer_ms[timer] = 0
            return False
        if self.timer_ms[timer] < needed_ms:
            self.timer_ms[timer] += dt_ms
        return self.timer_ms[timer] >= needed_ms

    def check(self, p, inp, dt_ms):
        """Set every rule's raw condition for this tick from the probes p and the inputs record."""
        cfg = self.config
        a = self.alarms
        setpoint = inp.setpoint_c
        circulating = inp.flow_ml_min > 0.0

        # Absolute limit: the raw (unfiltered) reading of any probe, so detection adds no filter lag; and
        # whenever the independent cut-out holds the heater off (it trips at the code just below the limit,
        # so a reading of 44.99 degC can trip it: held off with no alarm, a session stalled in silence).
        hottest = p.hottest_c()
        a.set(OVER_TEMPERATURE, hottest >= ABS_CUTOFF_C or inp.cutout_holding, hottest)

        inflow_ok = p.valid[probes.INFLOW]
        # Too hot is judged on the raw reading (no filter lag), of the higher of the two inflow probes:
        # a probe reading low never hides hot fluid.
        raw_inflow = p.raw_c[probes.INFLOW]
        if p.valid[probes.INFLOW_2] and (p.raw_c[probes.INFLOW_2] > raw_inflow or not inflow_ok):
            raw_inflow = p.raw_c[probes.INFLOW_2]
            inflow_ok = True
        # In a cascade the inflow setpoint moves and the line delays the inflow behind it: the inflow is
        # judged against the absolute setpoint limit instead, and the cavity against the target. Fluid
        # the phase or a flush sends to the reservoir (priming, a slug after a stop) reaches no patient:
        # there the absolute limit and the runaway watch guard the circuit.
        inflow_limit = ABS_MAX_SETPOINT_C if inp.cascade_active else setpoint
        high = setpoint > 0.0 and inp.to_patient and inflow_ok and raw_inflow > inflow_limit + cfg.alarm_band_c
        if inp.cascade_active and setpoint > 0.0 and inp.controlled_c > inp.target_c + cfg.alarm_band_c:
            high = True
        a.set(TEMP_HIGH, high, raw_inflow)
        # Too cold is judged on the controlled point (the cavity in a cascade): the treatment is not working.
        controlled = inp.controlled_c
        a.set(TEMP_LOW, inp.in_treatment and inflow_ok and controlled < inp.target_c - cfg.alarm_band_c,
              controlled)

        # Probes: failed (open, short, implausible) or stuck (code frozen while the fluid moves, stuck.py).
        # The cavity's fluid moves only while the abdomen is perfused: with the bypass open (priming, a
        # flush) a quiet converter in a still cavity keeps its code (campaign seed 10 faulted so).
        self.stuck.update(p, circulating, inp.perfusing, inp.outflowing, self.runaway, dt_ms)
        control_bad = -1
        for i in CONTROL_PROBES:
            if p.fitted[i] and (p.failed[i] or self.stuck.stuck(i)):
                control_bad = i
        a.set(CONTROL_PROBE_FAILED, control_bad >= 0, control_bad)
        monitor_bad = -1
        for i in MONITOR_PROBES:
            if p.fitted[i] and (p.failed[i] or self.stuck.stuck(i)):
                monitor_bad = i
        a.set(MONITOR_PROBE_FAILED, monitor_bad >= 0, monitor_bad)
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
        a.set(PROBE_DISAGREEMENT, inp.perfusing and spread > _PROBE_DISAGREEMENT_C, spread)
        apart = 0.0
        if p.valid[probes.INFLOW] and p.valid[probes.INFLOW_2]:
            apart = p.temp_c[probes.INFLOW] - p.temp_c[probes.INFLOW_2]
        a.set(INFLOW_DISAGREEMENT, apart > _INFLOW_DISAGREEMENT_C or apart < -_INFLOW_DISAGREEMENT_C, apart)
        self._runaway(p, inp, dt_ms)
        self._heater_current(inp, dt_ms)

        self._heat_balance(p, inp, dt_ms)
        self._progress(inp, dt_ms)

        # Lines and pump.
        pressure = inp.pressure_mmhg
        a.set(PRESSURE_HIGH, pressure >= cfg.pressure_high_mmhg, pressure)
        a.set(AIR_IN_LINE, inp.air_in_line, 1)
        a.set(RESERVOIR_LOW, inp.reservoir_low, 1)
        steps = inp.pump_steps
        executed = (steps - self.last_steps) * 1000.0 / dt_ms
        self.last_steps = steps
        # The steps since the last tick were made at the rate the pump was given in the last tick.
        commanded = inp.steps_per_s
        off = commanded > 0.0 and (executed - commanded > commanded * _FLOW_DEVIATION_FRACTION
                                   or commanded - executed > commanded * _FLOW_DEVIATION_FRACTION)
        a.set(FLOW_DEVIATION, off, executed)

        # Host and session.
        running = inp.running
        silent_ms = inp.link_silent_ms
        a.set(LINK_LOST, running and not inp.link_ok, silent_ms)
        a.set(HOST_ABSENT, running and silent_ms >= cfg.link_grace_s * 1000, silent_ms)
        a.set(TREATMENT_OVERRUN, inp.treatment_phase_ms > inp.duration_ms * _TREATMENT_OVERRUN_FACTOR,
              inp.treatment_phase_ms / 1000)
        self._age_vitals(inp, dt_ms)
        core = inp.core_temp_c
        a.set(CORE_TEMP_HIGH, core >= cfg.core_alarm_c, core)
        a.set(CORE_TEMP_CRITICAL, core >= ABS_CORE_CRITICAL_C, core)
        a.set(HEART_RATE_HIGH, inp.heart_rate_bpm > HEART_RATE_ALARM_BPM, inp.heart_rate_bpm)
        a.set(WATCHDOG_RESET, inp.reset_by_watchdog, 1)

    def _age_vitals(self, inp, dt_ms):
        """A hand-entered value older than VITALS_MAX_AGE_MS is no longer the patient's: held no more."""
        if inp.core_temp_c:
            inp.core_age_ms += dt_ms
            if inp.core_age_ms > VITALS_MAX_AGE_MS:
                inp.core_temp_c = 0.0
        if inp.heart_rate_bpm:
            inp.heart_rate_age_ms += dt_ms
            if inp.heart_rate_age_ms > VITALS_MAX_AGE_MS:
                inp.heart_rate_bpm = 0

    def _progress(self, inp, dt_ms):
        """Heating up out of band, the controlled value must keep coming closer to the target; the value
        sent is how far from it (degC, negative below). Not while a cascade's abdomen fills: the cavity
        probes read the first fluid to reach them, then cool with the patient, while the heater holds
        the inflow at the target; the cavity's approach is judged from the moment the cascade acts."""
        off = inp.controlled_c - inp.target_c
        # Priming (the bypass open) that has come into band must then hold it for prime_stable_s: one still
        # priming a window after that (a value in and out of the band) is stalled however close it is.
        if inp.heating_up and not inp.perfusing and (inp.in_band or self.priming_band_ms):
            self.priming_band_ms += dt_ms
            if self.priming_band_ms > self.config.prime_stable_s * 1000 + _PROGRESS_WINDOW_MS:
                self.alarms.set(NO_PROGRESS, True, off)
                return
        else:
            self.priming_band_ms = 0
        # In band the watch waits; only held there (_PROGRESS_BAND_MS) does it start again: a value
        # stalled at the band's edge, in and out of it with the probe's noise, is still a stall.
        self.progress_band_ms = self.progress_band_ms + dt_ms if inp.in_band else 0
        if not inp.heating_up or inp.target_c <= 0.0 or inp.filling or self.progress_band_ms >= _PROGRESS_BAND_MS:
            self.progress_best_c = -1.0
            self.alarms.set(NO_PROGRESS, False, off)
            return
        if inp.in_band:
            return
        distance = off if off > 0.0 else -off
        if self.progress_best_c < 0.0 or distance <= self.progress_best_c - _PROGRESS_MIN_C:
            self.progress_best_c = distance
            self.progress_ms = 0
        elif self.progress_ms < _PROGRESS_WINDOW_MS:
            self.progress_ms += dt_ms
        self.alarms.set(NO_PROGRESS, self.progress_ms >= _PROGRESS_WINDOW_MS, off)

    def _runaway(self, p, inp, dt_ms):
        """The exchanger outlet against what the power driven explains (runaway.py)."""
        watch = self.runaway
        # With the relay open not even a switch failed closed can heat: the watch judges from the moment
        # heating is enabled (and waits its settling time then, not from boot: a session started late
        # after boot begins heating with the model's lags unsettled).
        if not (inp.heater_enabled and p.valid[probes.HEATER_OUTLET] and p.valid[probes.RESERVOIR]):
            watch.stop()
            self.alarms.set(HEATER_RUNAWAY, False, 0.0)
            return
        running_away = watch.update(p.raw_c[probes.HEATER_OUTLET], p.temp_c[probes.RESERVOIR], inp.flow_ml_min,
                                    inp.heater_written_w, dt_ms / 1000.0, inp.to_patient)
        self.alarms.set(HEATER_RUNAWAY, running_away, watch.excess_c)

    def _heater_current(self, inp, dt_ms):
        """The element's current against its drive (heater_current.py), where a transducer is fitted."""
        watch = self.current
        if not (self.config.heater_current_fitted and inp.heater_enabled):
            watch.read(inp.heater_current_ma)  # for diagnostics: the current with the relay open
            watch.reset()
            self.alarms.set(HEATER_SWITCH_FAILED, False, 0.0)
            self.alarms.set(HEATER_CURRENT_LOST, False, 0.0)
            return
        failed = watch.update(inp.heater_current_ma, inp.heater_written_w / self.config.heater_rated_w, dt_ms)
        self.alarms.set(HEATER_SWITCH_FAILED, failed, watch.current_a)
        self.alarms.set(HEATER_CURRENT_LOST, watch.lost, watch.current_a)

    def _heat_balance(self, p, inp, dt_ms):
        """The inflow against heater power, flow and the reservoir (balance.py); while heating up, the
        heating watch besides (it needs no steady flow)."""
        flow = inp.flow_ml_min
        balance = self.balance
        if not inp.running:
            balance.forget()
        usable = (flow >= _HEAT_BALANCE_MIN_FLOW_ML_MIN and p.valid[probes.INFLOW] and p.valid[probes.RESERVOIR])
        steady = self._persist(_T_STEADY, usable and flow == inp.target_flow_ml_min, dt_ms,
                               _HEAT_BALANCE_SETTLE_MS)
        if not usable:
            balance.stop()
            self._persist(_T_BALANCE, False, dt_ms, _HEAT_BALANCE_MS)
            stalled = p.valid[probes.INFLOW] and self._heating_stalled(p, inp, dt_ms)
            self.alarms.set(HEAT_BALANCE, stalled, p.temp_c[probes.INFLOW])
            return
        # Judged while heating: with the heater off (cooling down, paused, held) what an element and an
        # exchanger slower than configured still give counts as a surplus, and no heat is being added
        # that a wrong reading could hide (campaign seed 24 faulted in DRAIN, 4.6 degC over a prediction
        # that had cooled with a 38 s element).
        off = balance.update(p.temp_c[probes.INFLOW], p.temp_c[probes.RESERVOIR], inp.heater_w, flow,
                             inp.setpoint_c, steady and inp.setpoint_c > 0.0, dt_ms)
        balance_off = self._persist(_T_BALANCE, off, dt_ms, _HEAT_BALANCE_MS)
        stalled = not balance.learnt() and self._heating_stalled(p, inp, dt_ms)
        self.alarms.set(HEAT_BALANCE, balance_off or stalled, balance.residual_c)

    def _heating_stalled(self, p, inp, dt_ms):
        """Heater working, fluid far below the setpoint, inflow not rising: a probe out of the fluid or
        a heater that heats nothing. Catches it long before the heat balance has a steady flow."""
        inflow = p.temp_c[probes.INFLOW]
        heating_up = inp.heater_w >= _HEATING_MIN_W and inflow < inp.setpoint_c - _HEATING_BELOW_SETPOINT_C
        if not heating_up:
            self.gain_window_ms = -1
            return False
        if self.gain_window_ms < 0 or inflow >= self.gain_from_c + _HEATING_GAIN_C:
            self.gain_from_c = inflow
            self.gain_window_ms = 0
            return False
        self.gain_window_ms += dt_ms
        return self.gain_window_ms >= HEATING_GAIN_WINDOW_MS
