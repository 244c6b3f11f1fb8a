"""Relay-feedback autotune on the running circuit (Astrom-Hagglund), and the settings it derives.

While PRIMING (fluid circulating through the bypass, no patient), the heater is driven at the steady
feed-forward power plus or minus a relay amplitude d, switching when the measured inflow crosses the
setpoint (with a small hysteresis eps). The loop settles into a limit cycle of period Pu and amplitude a;
Ku = 4d / (pi a) is the ultimate gain the textbook tuning rules use.

The steady gain from heater power to inflow temperature is known from physics, K = 1/(flow * c_p), so
one relay experiment fixes a first-order-plus-dead-time model, from the exact limit cycle of such a loop
(not the describing-function approximation, which reads the lag 20 % short): the peak is
a = Kd - (Kd - eps) e^(-L/T) and the half period Pu/2 = L + T ln((Kd + a) / (Kd - eps)). From it:
- the Smith predictor's model: heat exchanger volume = T * flow, inflow line volume = the dead time
  left after the element, probe and filter lags, times the flow;
- the in-band PI on the prediction: SIMC with a closed-loop time of 4 L (the predictor removes the
  delay only as well as its model matches the line: the loop is kept slower than the mismatch), ti = T;
- a plain PID on the probe for controllers without feed-forward or predictor: Tyreus-Luyben from Ku, Pu.
Gains are stored at the reference flow (the controller rescales them with flow).
"""
import math
from array import array

from controller import probes, settings
from controller.errors import CommandError
from controller.fluid import PERFUSATE_J_PER_ML_C

IDLE = 0
RUNNING = 1
DONE = 2
FAILED = 3
STATE_NAMES = ("idle", "running", "done", "failed")

MAX_CYCLES = 8
# The first cycle is the approach to the limit cycle, not the limit cycle: it is not measured.
SETTLE_CYCLES = 1
# Farther than this from the setpoint, the experiment is disturbing more than it measures: stop it.
ABORT_DEVIATION_C = 0.45
# No oscillation within this long means the relay amplitude cannot move the inflow through the hysteresis.
MAX_DURATION_MS = 30 * 60 * 1000


class RelayTune:
    def __init__(self, config):
        self.config = config
        self.state = IDLE
        self.message = ""
        self.setpoint_c = 0.0
        self.amplitude_w = 0.0
        self.hysteresis_c = 0.0
        self.cycles = 0
        self.high = True
        self.elapsed_ms = 0
        # Times of the high -> low switches, one per cycle.
        self.switch_ms = array("i", [0] * (MAX_CYCLES + SETTLE_CYCLES + 1))
        self.switches = 0
        self.max_c = -1000.0
        self.min_c = 1000.0
        self.flow_ml_min = 0.0
        self.result = None

    def start(self, setpoint_c, amplitude_w, cycles, hysteresis_c):
        self.state = RUNNING
        self.message = ""
        self.setpoint_c = setpoint_c
        self.amplitude_w = amplitude_w
        self.cycles = cycles
        self.hysteresis_c = hysteresis_c
        self.high = True
        self.elapsed_ms = 0
        self.switches = 0
        self.max_c = -1000.0
        self.min_c = 1000.0
        self.result = None

    def cancel(self, why):
        if self.state == RUNNING:
            self.state = FAILED
            self.message = why

    def update(self, measured_c, base_w, flow_ml_min, dt_ms):
        """Heater power for this tick while running; no allocation."""
        self.elapsed_ms += dt_ms
        self.flow_ml_min = flow_ml_min
        sp = self.setpoint_c
        if measured_c > sp + ABORT_DEVIATION_C or measured_c < sp - ABORT_DEVIATION_C:
            self.state = FAILED
            self.message = "inflow left the setpoint by more than 0.45 degC: use a smaller amplitude_w"
            return base_w
        if self.elapsed_ms > MAX_DURATION_MS:
            self.state = FAILED
            self.message = "no limit cycle within 30 min: use a larger amplitude_w"
            return base_w
        if self.switches > SETTLE_CYCLES:
            if measured_c > self.max_c:
                self.max_c = measured_c
            if measured_c < self.min_c:
                self.min_c = measured_c
        if self.high and measured_c > sp + self.hysteresis_c:
            self.high = False
            self.switch_ms[self.switches] = self.elapsed_ms
            self.switches += 1
            if self.switches > SETTLE_CYCLES + self.cycles:
                self.state = DONE
        elif not self.high and measured_c < sp - self.hysteresis_c:
            self.high = True
        return base_w + self.amplitude_w if self.high else base_w - self.amplitude_w

    def finish(self, gain_ref_flow_ml_min):
        """Derive the model and settings from a finished experiment (allocates: call outside the tick)."""
        cfg = self.config
        first = SETTLE_CYCLES
        last = self.switches - 1
        pu_s = (self.switch_ms[last] - self.switch_ms[first]) / 1000.0 / (last - first)
        a = (self.max_c - self.min_c) / 2.0
        eps = self.hysteresis_c
        if a <= eps * 1.05:
            self.state = FAILED
            self.message = "oscillation too small against the hysteresis: use a larger amplitude_w"
            return None
        flow = self.flow_ml_min
        gain = 60.0 / (flow * PERFUSATE_J_PER_ML_C)  # degC per W
        kd = gain * self.amplitude_w
        if kd <= a:
            self.state = FAILED
            self.message = "oscillation larger than the circuit's steady gain allows: not a heater-to-inflow loop"
            return None
        # Exact limit cycle of a first-order-plus-dead-time loop under a relay with hysteresis eps:
        # peak a = Kd - (Kd - eps) e^(-L/T), half period Pu/2 = L + T ln((Kd + a) / (Kd - eps)).
        ratio = math.log((kd - eps) / (kd - a))  # L / T
        lag_s = pu_s / (2.0 * (ratio + math.log((kd + a) / (kd - eps))))
        dead_s = ratio * lag_s
        # The ultimate gain for the textbook rules (describing function): 4d / (pi a).
        ku = 4.0 * self.amplitude_w / (math.pi * a)
        scale = flow / gain_ref_flow_ml_min
        small_lags_s = cfg.heater_response_s + cfg.probe_tau_s + probes.FILTER_TAU_S
        line_ml = (dead_s - small_lags_s) * flow / 60.0
        kp = lag_s / (gain * 4.0 * dead_s) if lag_s > 0.0 else 0.5 / gain
        ti = lag_s if lag_s > 1.0 else 1.0
        self.result = {
            "ku_w_per_c": ku,
            "pu_s": pu_s,
            "amplitude_c": a,
            "flow_ml_min": flow,
            "gain_c_per_w": gain,
            "lag_s": lag_s,
            "dead_time_s": dead_s,
            # Stored at the reference flow: the controller multiplies kp by flow/ref and divides ti by it.
            "proposed": {
                "kp_w_per_c": kp / scale,
                "ti_s": ti * scale,
                "heater_volume_ml": lag_s * flow / 60.0,
                "inflow_line_ml": line_ml if line_ml > 10.0 else 10.0,
            },
            "pid": {"kp_w_per_c": ku / 2.2, "ti_s": 2.2 * pu_s, "td_s": pu_s / 6.3},
        }
        return self.result

    def status(self):
        return {
            "state": STATE_NAMES[self.state],
            "message": self.message,
            "cycles_done": self.switches - SETTLE_CYCLES if self.switches > SETTLE_CYCLES else 0,
            "cycles": self.cycles,
            "elapsed_s": self.elapsed_ms // 1000,
            "result": self.result,
        }


def take_result(ctl):
    """Store the settings the controller's finished relay experiment derived; the loop restarts on them.
    Settings the configuration refuses leave the experiment FAILED with the reason."""
    tuner = ctl.tuner
    result = tuner.finish(ctl.config.gain_ref_flow_ml_min)
    if result is None:
        return
    try:
        ctl.config.apply(result["proposed"])
    except CommandError as exc:
        tuner.state = FAILED
        tuner.message = "derived settings refused: " + exc.message
        return
    settings.store(ctl)
    ctl.heater.reset()
