"""Peristaltic pump: flow in mL/min to a step rate through the tubing calibration, ramps, volume
accounting, the flush after every stop, and the calibration run that measures the tubing's mL per
revolution.

Flush: a stopped pump (a reset or power loss, a pump or line fault, a session at rest) leaves fluid
standing in the heat exchanger, which the element's stored heat, or a switch stuck on, goes on warming
(43.3 to 44.5 degC in a 5 s power loss at 353 W; 50.8 degC in a pump stall at 644 W). When the pump
runs again that slug reaches the inflow first, so after every stop the bypass stays open until the
exchanger and the inflow line have been flushed once over, and for longer while the fluid reaching the
bypass still reads hotter than the patient may get, up to FLUSH_MAX_VOLUMES of them (beyond that it is
not a slug but the circuit's fluid, and the inflow alarms judge it).

Calibration: the pump turns a given number of revolutions into a graduated vessel at CALIBRATION_FLOW;
the operator measures the volume and sends it; the new mL/rev is that volume over the revolutions the
stepper really made (counted steps, so overshoot at the stop does not bias it).

Flow sensor: without one the flow is open loop, as right as the tubing's calibration (a worn tube
delivers less by its wear). Where an inline sensor is fitted (a clamp-on ultrasonic meter on a 4-20 mA
loop), the tubing's real displacement is learnt from it while the flow holds steady: `trim`, the mL a
step really moves over what the calibration says, slowly follows the measured over the commanded flow,
within FLOW_TRIM_MAX; the step rate, the delivered volume and the flow the heater is given all carry it.
A loop current outside the transmitter's range (NAMUR NE 43) is a sensor fault: the trim holds.
"""
from micropython import const
from controller import fields, loop

# Slow enough to collect into a graduated cylinder without splashing, fast enough not to bore.
_CALIBRATION_FLOW_ML_MIN = const(300.0)
# A tubing calibration outside this is a mistake in the measurement, not a tubing.
_MIN_ML_PER_REV = const(1.0)
_MAX_ML_PER_REV = const(50.0)
# Most exchanger-and-line volumes a flush lasts while the fluid still reads hot.
FLUSH_MAX_VOLUMES = 4.0
# The sensed flow's smoothing (an ultrasonic meter's reading jitters by a few mL/min), and how long the
# trim takes to follow it: four times the smoothing, so the loop stays calm, and short enough to have
# learnt the tube early in priming (at 60 s the heat-up was still adapting to it: 0.086 degC of overshoot
# on a tube 4 % off, 0.040 at 20 s).
_FLOW_SMOOTH_S = const(5.0)
_FLOW_TRIM_S = const(20.0)
# The trim learns only a flow that has held its target this long (the sensed flow has caught up).
_FLOW_STEADY_S = const(15.0)
# The largest error of the tubing's calibration the trim corrects: worn or replaced tubes are off by a
# few percent; beyond this it is not the tube (a sensor misclamped, a wrong full scale).
FLOW_TRIM_MAX = 0.15
# Below this the flow carries too little for the sensor's accuracy to say anything.
_FLOW_TRIM_MIN_ML_MIN = const(100.0)


class Pump:
    def __init__(self, board, config):
        self.board = board
        self.config = config
        self.target_ml_min = 0.0
        self.flow_ml_min = 0.0
        self.msps = 0  # the step rate for the interlock to write, milli-steps per second
        self.slew_ml_min_per_s = config.pump_accel_ml_min_per_s
        self.counted_steps = board.pump_steps()  # executed steps already counted into delivered_total_ml
        self.delivered_total_ml = 0.0
        self.flushing = True  # the pump has not run since boot
        self.flushed_ml = 0.0
        self.calibrating = False
        self.calibration_start_steps = 0
        self.calibration_target_steps = 0
        self.calibration_revolutions = 0.0
        self.trim = 1.0  # mL a step really moves over the calibration's, learnt from the flow sensor
        self.sensed_ml_min = -1.0  # the flow sensor's smoothed reading (-1: none fitted or failed)
        self.steady_s = 0.0  # how long the flow has held its target

    def set_flow(self, flow_ml_min):
        """Starting and stopping ramp at the acceleration limit; a change of a running flow ramps at the
        gentler flow_change rate, which the heater and the lines can follow without leaving the band."""
        if flow_ml_min != self.target_ml_min:
            cfg = self.config
            if flow_ml_min > 0.0 and self.target_ml_min > 0.0:
                self.slew_ml_min_per_s = cfg.flow_change_ml_min_per_s
            else:
                self.slew_ml_min_per_s = cfg.pump_accel_ml_min_per_s
            self.target_ml_min = flow_ml_min

    def steps_per_s(self, flow_ml_min):
        cfg = self.config
        return flow_ml_min / 60.0 / (cfg.pump_ml_per_rev * self.trim) * cfg.pump_steps_per_rev

    def delivered_ml(self):
        """Volume pumped since boot: executed steps, each at the displacement of its time (the trim moves)."""
        cfg = self.config
        steps = self.board.pump_steps()
        self.delivered_total_ml += (steps - self.counted_steps) * cfg.pump_ml_per_rev * self.trim / cfg.pump_steps_per_rev
        self.counted_steps = steps
        return self.delivered_total_ml

    def restart_count(self):
        """A new session counts its delivered volume from zero."""
        self.counted_steps = self.board.pump_steps()
        self.delivered_total_ml = 0.0

    def sense(self, loop_ma, dt_s):
        """One tick of the flow sensor's loop current (mA); learns the trim while the flow holds steady."""
        full_share = loop.share(loop_ma)
        if full_share < 0.0:
            self.sensed_ml_min = -1.0
            return
        sensed = full_share * self.config.flow_sensor_full_scale_ml_min
        if self.sensed_ml_min < 0.0:
            self.sensed_ml_min = sensed
        self.sensed_ml_min += (sensed - self.sensed_ml_min) * dt_s / (_FLOW_SMOOTH_S + dt_s)
        flow = self.flow_ml_min
        self.steady_s = self.steady_s + dt_s if flow == self.target_ml_min and flow > 0.0 else 0.0
        if self.steady_s < _FLOW_STEADY_S or flow < _FLOW_TRIM_MIN_ML_MIN:
            return
        trim = self.trim * (1.0 + (self.sensed_ml_min / flow - 1.0) * dt_s / (_FLOW_TRIM_S + dt_s))
        if trim > 1.0 + FLOW_TRIM_MAX:
            trim = 1.0 + FLOW_TRIM_MAX
        elif trim < 1.0 - FLOW_TRIM_MAX:
            trim = 1.0 - FLOW_TRIM_MAX
        self.trim = trim

    def tick(self, dt_s):
        """Move the commanded flow toward the target at the acceleration limit; set the step rate."""
        step = self.slew_ml_min_per_s * dt_s
        diff = self.target_ml_min - self.flow_ml_min
        if diff > step:
            self.flow_ml_min += step
        elif diff < -step:
            self.flow_ml_min -= step
        else:
            self.flow_ml_min = self.target_ml_min
        self.msps = int(self.steps_per_s(self.flow_ml_min) * 1000.0)

    def flush(self, volume_ml, hot, dt_s):
        """One tick of the flush, with the exchanger-and-line volume and whether the fluid reaching the
        bypass reads too hot for the patient; returns the volume it sent to the reservoir (mL)."""
        flow = self.flow_ml_min
        if flow <= 0.0:
            self.flushing = True
            self.flushed_ml = 0.0
            return 0.0
        if not self.flushing:
            return 0.0
        moved_ml = flow * dt_s / 60.0
        self.flushed_ml += moved_ml
        if self.flushed_ml >= volume_ml * FLUSH_MAX_VOLUMES or (self.flushed_ml >= volume_ml and not hot):
            self.flushing = False
        return moved_ml

    def stop(self):
        """Stop at once, without the ramp: the fault is in the pump or the line."""
        self.target_ml_min = 0.0
        self.flow_ml_min = 0.0
        self.msps = 0

    # ------------------------------------------------------------ calibration

    def start_calibration(self, revolutions):
        steps = self.board.pump_steps()
        self.calibration_start_steps = steps
        self.calibration_target_steps = steps + revolutions * self.config.pump_steps_per_rev
        self.calibration_revolutions = 0.0
        self.calibrating = True

    def calibration_tick(self, allowed):
        """Flow for this tick of a calibration run; stops at the target or when no longer allowed."""
        steps = self.board.pump_steps()
        if not allowed or steps >= self.calibration_target_steps:
            self.calibrating = False
            self.flow_ml_min = 0.0  # stop at once: every step past the target is measured anyway
            self.calibration_revolutions = (steps - self.calibration_start_steps) / self.config.pump_steps_per_rev
            return 0.0
        return _CALIBRATION_FLOW_ML_MIN

    def finish_calibration(self, measured_ml):
        ml_per_rev = measured_ml / self.calibration_revolutions
        fields.number("measured_ml / revolutions", ml_per_rev, _MIN_ML_PER_REV, _MAX_ML_PER_REV, "mL/rev")
        self.config.pump_ml_per_rev = ml_per_rev
        self.trim = 1.0  # a tube just measured: the sensor's correction starts again
        self.calibration_revolutions = 0.0

    def calibration_status(self):
        done = self.board.pump_steps() - self.calibration_start_steps
        return {
            "running": self.calibrating,
            "revolutions_done": done / self.config.pump_steps_per_rev if self.calibrating
            else self.calibration_revolutions,
            "ml_per_rev": self.config.pump_ml_per_rev,
        }
