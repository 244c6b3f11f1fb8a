"""What the supervisor judges besides the probes (Inputs), and how the controller fills it at the start of
each tick (sense): this tick's readings of the board's sensors, the previous tick's decisions."""
from micropython import const
from controller import autotune, session
from controller.tables import HEATER_OFF

# The host is considered gone after this long without a valid request (it heartbeats every 1 s).
_LINK_TIMEOUT_MS = const(5000)


class Inputs:
    """Everything the supervisor judges besides the probes, filled by the controller at the start of
    each tick (sense). Fields marked (last tick) are what control decided in the previous
    tick: this tick's decisions come after supervision on purpose, so that an alarm's reactions
    override them. Preallocated once; the controller overwrites the fields in place."""

    def __init__(self):
        self.setpoint_c = 0.0          # (last tick) the inflow setpoint, 0.0 when not heating
        self.target_c = 0.0            # (last tick) the plan's target while heating, else 0.0
        self.controlled_c = 0.0        # (last tick) the temperature judged against the target
        self.cascade_active = False    # (last tick) the cascade holds the cavity
        self.filling = False           # (last tick) a cascade plan's abdomen fills, the inflow held at the target
        self.heater_w = 0.0            # (last tick) heater power control demanded, W
        self.heater_written_w = 0.0    # (last tick) power the switch was driven with (0 with the relay open), W
        self.heater_enabled = False    # (last tick) the safety relay in series with the switch was closed
        self.heater_current_ma = -1.0  # this tick's heater current transducer loop, mA (-1.0: none fitted)
        self.cutout_holding = False    # this tick: the board's cut-out holds the heater off (cutout.py)
        self.flow_ml_min = 0.0         # (last tick) flow the pump was commanded, mL/min
        self.target_flow_ml_min = 0.0  # (last tick) flow the pump ramps to, mL/min
        self.steps_per_s = 0.0         # (last tick) step rate commanded, steps/s
        self.perfusing = False         # (last tick) bypass closed and the pump turning
        self.outflowing = False        # (last tick) perfusing a filled abdomen: fluid leaves it by the outflow
        self.to_patient = False        # (last tick) the phase sends fluid to the patient and no flush holds it back
        self.running = False           # a session runs or is paused (phase before this tick's holds)
        self.in_treatment = False      # the phase is TREATMENT
        self.heating_up = False        # the phase is PRIMING or HEATING
        self.in_band = False           # (last tick) the controlled value was in the band
        self.treatment_phase_ms = 0    # time in the TREATMENT phase so far, in band or not
        self.duration_ms = 0.0         # the plan's treatment duration
        self.link_ok = False           # a request arrived within the link timeout
        self.link_silent_ms = 0        # since the last well-formed request (or boot)
        self.pressure_mmhg = 0         # this tick's line pressure
        self.air_in_line = False       # this tick's air detector
        self.reservoir_low = False     # this tick's level switch
        self.pump_steps = 0            # steps the stepper executed since boot, read this tick
        self.core_temp_c = 0.0         # patient core as the host entered it (0.0 = not entered)
        self.heart_rate_bpm = 0        # heart rate as entered (0 = not entered)
        self.core_age_ms = 0           # since the core temperature was entered
        self.heart_rate_age_ms = 0     # since the heart rate was entered
        self.reset_by_watchdog = False  # this boot follows a watchdog reset not yet acknowledged


def sense(ctl, dt_s):
    """Read the probes and fill the supervisor's inputs: this tick's readings, last tick's decisions."""
    board = ctl.board
    inp = ctl.inputs
    pump = ctl.pump
    silent_ms = ctl.link_silent_ms()
    ctl.link_ok = silent_ms < _LINK_TIMEOUT_MS
    board.read_rtd(ctl.probes.codes)
    ctl.probes.update(dt_s)
    inp.setpoint_c = ctl.setpoint_c
    inp.target_c = ctl.target_c
    inp.controlled_c = ctl.controlled_c
    inp.cascade_active = ctl.cascade_active
    inp.filling = ctl.filling
    inp.heater_w = ctl.heater_w
    inp.heater_written_w = ctl.asked.written_pm * ctl.config.heater_rated_w / 1000.0
    # (the cut-out holds the relay open whatever was asked: nothing can conduct then)
    inp.cutout_holding = board.cutout.holding()
    inp.heater_enabled = ctl.asked.heater_relay and not ctl.alarms.reactions & HEATER_OFF \
        and not board.cutout.tripped
    inp.heater_current_ma = board.heater_current_ma() if ctl.config.heater_current_fitted else -1.0
    inp.flow_ml_min = pump.flow_ml_min
    inp.target_flow_ml_min = pump.target_ml_min
    inp.steps_per_s = pump.steps_per_s(pump.flow_ml_min)
    inp.perfusing = not ctl.bypass_open and pump.flow_ml_min > 0.0
    inp.outflowing = inp.perfusing and ctl.abdomen_filled
    inp.to_patient = ctl.perfusing_phase(ctl.session.phase) and not pump.flushing
    inp.running = ctl.session_running()
    inp.in_treatment = ctl.session.phase == session.TREATMENT
    # (the autotune holds the inflow off the band on purpose: no progress is asked of it meanwhile)
    inp.heating_up = (ctl.session.phase == session.PRIMING or ctl.session.phase == session.HEATING) \
        and ctl.tuner.state != autotune.RUNNING
    inp.in_band = ctl.in_band
    inp.treatment_phase_ms = ctl.treatment_phase_ms()
    inp.duration_ms = ctl.plan.duration_min * 60000.0
    inp.link_ok = ctl.link_ok
    inp.link_silent_ms = silent_ms
    inp.pressure_mmhg = board.pressure_mmhg()
    inp.air_in_line = board.air_in_line()
    inp.reservoir_low = board.reservoir_low()
    inp.pump_steps = board.pump_steps()
