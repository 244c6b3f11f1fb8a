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
from micropython import const
import math
from array import array

from controller import probes, settings
from controller.errors import CommandError
from controller.fluid import PERFUSATE_J_PER_ML_C

IDLE = 0
RUNNING = 1
DONE = 2
FAILED = 3
_STATE_NAMES = const(("idle", "running", "done", "failed"))

MAX_CYCLES = 8
# The first cycle is the approach to the limit cycle, not the limit cycle: it is not measured.
_SETTLE_CYCLES = const(1)
# Farther than this from the setpoint, the experiment is disturbing more than it measures: stop it.
_ABORT_DEVIATION_C = const(0.45)
# No oscillation within this long means the relay amplitude cannot move the inflow through the hysteresis.
_MAX_DURATION_MS = const(30 * 60 * 1000)
# Probe noise switches a relay whose hysteresis is within the filtered reading's noise: the experiment then
# measures the noise, not the circuit (0.15 degC of noise identified a 9 s period against 80 s). The
# hysteresis is widened to this many standard deviations of the filtered inflow's noise, measured from the
# raw reading's tick-to-tick changes over the experiment's first _NOISE_MS, during which the relay holds.
HYSTERESIS_NOISE_SIGMAS = 3.0
_NOISE_MS = const(10000)
# Where the noise widened the hysteresis, the limit cycle's peaks are read through a further smoothing of
# this long: the noise's own extremes would otherwise add about three of its standard deviations to the
# amplitude (0.1 degC at 0.15 degC of probe noise: a lag read 30 % short), while the smoothing takes 3 % of
# an 80 s cycle's amplitude.
_PEAK_SMOOTH_S = const(3.0)
# The limit cycle's periods agree within this ratio, longest to shortest; beyond, something else than the
# circuit (noise, a disturbance) timed the switches.
_MAX_PERIOD_RATIO = const(1.5)


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
        self.switch_ms = array("i", [0] * (MAX_CYCLES + _SETTLE_CYCLES + 1))
        self.switches = 0
        self.max_c = -1000.0
        self.min_c = 1000.0
        self.flow_ml_min = 0.0
        self.raw_c = -1000.0  # the last raw reading (-1000: none yet)
        self.raw_step_sq = 0.0  # sum of squares of the raw reading's tick-to-tick changes, degC^2
        self.raw_steps = 0
        self.peak_alpha = 1.0  # the smoothing the peaks are read through (1: none)
        self.peak_c = 0.0
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
        self.raw_c = -1000.0
        self.raw_step_sq = 0.0
        self.raw_steps = 0
        self.peak_alpha = 1.0
        self.peak_c = setpoint_c
        self.result = None

    def cancel(self, why):
        if self.state == RUNNING:
            self.state = FAILED
            self.message = why

    def update(self, measured_c, raw_c, base_w, flow_ml_min, dt_ms):
        """Heater power for this tick while running, from the filtered inflow (measured_c) and its raw
        reading."""
        self.elapsed_ms += dt_ms
        self.flow_ml_min = flow_ml_min
        if self.elapsed_ms <= _NOISE_MS:
            self._measure_noise(raw_c, dt_ms)
            return base_w + self.amplitude_w
        sp = self.setpoint_c
        if measured_c > sp + _ABORT_DEVIATION_C or measured_c < sp - _ABORT_DEVIATION_C:
            self.state = FAILED
            self.message = "inflow left the setpoint by more than 0.45 degC: use a smaller amplitude_w"
            return base_w
        if self.elapsed_ms > _MAX_DURATION_MS:
            self.state = FAILED
            self.message = "no limit cycle within 30 min: use a larger amplitude_w"
            return base_w
        self.peak_c += (measured_c - self.peak_c) * self.peak_alpha
        if self.switches > _SETTLE_CYCLES:
            if self.peak_c > self.max_c:
                self.max_c = self.peak_c
            if self.peak_c < self.min_c:
                self.min_c = self.peak_c
        if self.high and measured_c > sp + self.hysteresis_c:
            self.high = False
            self.switch_ms[self.switches] = self.elapsed_ms
            self.switches += 1
            if self.switches > _SETTLE_CYCLES + self.cycles:
                self.state = DONE
        elif not self.high and measured_c < sp - self.hysteresis_c:
            self.high = True
        return base_w + self.amplitude_w if self.high else base_w - self.amplitude_w

    def _measure_noise(self, raw_c, dt_ms):
        """One tick of the noise measurement; at its end, the hysteresis held above what the raw inflow's
        noise leaves in the filtered reading the relay switches on."""
        if self.raw_c > -1000.0:
            step = raw_c - self.raw_c
            self.raw_step_sq += step * step
            self.raw_steps += 1
        self.raw_c = raw_c
        if self.elapsed_ms + dt_ms > _NOISE_MS and self.raw_steps > 0:
            # White noise of variance s^2 changes by 2 s^2 a tick; the probe filter (alpha) keeps
            # alpha / (2 - alpha) of its variance.
            dt_s = dt_ms / 1000.0
            alpha = dt_s / (probes.FILTER_TAU_S + dt_s)
            noise_c = math.sqrt(self.raw_step_sq / self.raw_steps * 0.5 * alpha / (2.0 - alpha))
            if HYSTERESIS_NOISE_SIGMAS * noise_c > self.hysteresis_c:
                self.hysteresis_c = HYSTERESIS_NOISE_SIGMAS * noise_c
                self.peak_alpha = dt_s / (_PEAK_SMOOTH_S + dt_s)

    def _reject(self, message):
        self.state = FAILED
        self.message = message
        return None

    def finish(self, gain_ref_flow_ml_min):
        """Derive the model and settings from a finished experiment (allocates: call outside the tick)."""
        cfg = self.config
        first = _SETTLE_CYCLES
        last = self.switches - 1
        pu_s = (self.switch_ms[last] - self.switch_ms[first]) / 1000.0 / (last - first)
        shortest_ms = longest_ms = self.switch_ms[first + 1] - self.switch_ms[first]
        for k in range(first + 1, last):
            period_ms = self.switch_ms[k + 1] - self.switch_ms[k]
            shortest_ms = period_ms if period_ms < shortest_ms else shortest_ms
            longest_ms = period_ms if period_ms > longest_ms else longest_ms
        if longest_ms > _MAX_PERIOD_RATIO * shortest_ms:
            return self._reject("cycle periods of %.0f to %.0f s disagree: noise or a disturbance timed the relay; "
                                "use a larger hysteresis_c" % (shortest_ms / 1000.0, longest_ms / 1000.0))
        a = (self.max_c - self.min_c) / 2.0
        eps = self.hysteresis_c
        if a <= eps * 1.05:
            return self._reject("oscillation too small against the hysteresis: use a larger amplitude_w")
        flow = self.flow_ml_min
        gain = 60.0 / (flow * PERFUSATE_J_PER_ML_C)  # degC per W
        kd = gain * self.amplitude_w
        if kd <= a:
            return self._reject("oscillation larger than the circuit's steady gain allows: not a heater-to-inflow loop")
        # Exact limit cycle of a first-order-plus-dead-time loop under a relay with hysteresis eps:
        # peak a = Kd - (Kd - eps) e^(-L/T), half period Pu/2 = L + T ln((Kd + a) / (Kd - eps)).
        ratio = math.log((kd - eps) / (kd - a))  # L / T
        lag_s = pu_s / (2.0 * (ratio + math.log((kd + a) / (kd - eps))))
        dead_s = ratio * lag_s
        # The ultimate gain for the textbook rules (describing function): 4d / (pi a).
        ku = 4.0 * self.amplitude_w / (math.pi * a)
        scale = flow / gain_ref_flow_ml_min
        small_lags_s = cfg.heater_response_s + cfg.probe_tau_s + probes.FILTER_TAU_S
        if dead_s < small_lags_s:
            return self._reject("identified dead time %.1f s is shorter than the element, probe and filter lags "
                                "alone (%.1f s): not this circuit; nothing stored" % (dead_s, small_lags_s))
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
            "state": _STATE_NAMES[self.state],
            "message": self.message,
            "cycles_done": self.switches - _SETTLE_CYCLES if self.switches > _SETTLE_CYCLES else 0,
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
