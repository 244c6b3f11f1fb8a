"""Temperature probes: RTD converter codes to degrees Celsius, per-probe calibration, filtering, plausibility.

Conversion follows IEC 60751 (Callendar-Van Dusen). The filter is a first-order low-pass with time
constant FILTER_TAU_S, so a step in fluid temperature reaches the filtered value with a lag of about
FILTER_TAU_S on top of the probe's own thermal lag.
"""
from micropython import const
import math
from array import array

from controller.errors import CommandError, BAD_FIELD

CVD_A = 3.9083e-3
CVD_B = -5.775e-7
_CVD_C = const(-4.183e-12)  # applies below 0 degC only

# A MAX31865-style converter returns the 15-bit ratio R_rtd / R_ref.
CODE_FULL_SCALE = 32768
# Open circuit drives the ratio to full scale, a short to zero: both are faults, not temperatures.
CODE_OPEN = 32767
CODE_SHORT = 0
# A fluid probe reading outside this range is broken or out of the fluid, not measuring the perfusate.
_PLAUSIBLE_MIN_C = const(2.0)
PLAUSIBLE_MAX_C = 80.0
# Consecutive bad samples before a probe is declared failed (one bad sample is noise, 5 at 10 Hz is not),
# and consecutive good ones before a failed probe counts as working again.
BAD_SAMPLES_TO_FAIL = 5
# Low-pass time constant: removes converter noise, adds about this much lag.
FILTER_TAU_S = 1.0

# Converter channels in board order. A circuit has one to four cavity probes (config abdominal_probes)
# and may lack the redundant inflow or the exchanger-outlet probe (inflow_2_fitted, heater_outlet_fitted):
# the ones not fitted are neither read nor alarmed on.
from controller.tables import (PROBE_NAMES, INFLOW, OUTFLOW, ABDOMINAL_1, ABDOMINAL_2, RESERVOIR,  # noqa: F401
                               ABDOMINAL_3, ABDOMINAL_4, INFLOW_2, HEATER_OUTLET, N_PROBES, ABDOMINAL)
_MAX_ABDOMINAL = const(4)
# Converter reference over the RTD's nominal resistance: above 1.35 the top of the plausible range
# (80 degC, R = 1.31 R0) still reads below full scale; below 6.3 one converter step is 0.05 degC or
# finer at 43 degC, a tenth of the +-0.5 degC alarm band (a PT100 on 430 ohm: 4.3, 0.034 degC per step).
_RREF_PER_R0_MIN = const(1.35)
_RREF_PER_R0_MAX = const(6.3)
# What a resistance beyond the equation's range (R > 7.6 R0) reads as: far above anything plausible.
_BEYOND_RANGE_C = const(10000.0)


def resistance_to_c(r_ohm, r0_ohm):
    """Temperature in degC of a platinum RTD with nominal resistance r0_ohm at 0 degC."""
    ratio = r_ohm / r0_ohm
    if ratio >= 1.0:
        # Above 0 degC the equation is quadratic: R/R0 = 1 + A*T + B*T^2, defined up to its maximum.
        discriminant = CVD_A * CVD_A - 4.0 * CVD_B * (1.0 - ratio)
        if discriminant < 0.0:
            return _BEYOND_RANGE_C
        return (-CVD_A + math.sqrt(discriminant)) / (2.0 * CVD_B)
    t = (ratio - 1.0) / CVD_A
    for _ in range(5):
        f = 1.0 + CVD_A * t + CVD_B * t * t + _CVD_C * (t - 100.0) * t * t * t - ratio
        df = CVD_A + 2.0 * CVD_B * t + _CVD_C * (4.0 * t * t * t - 300.0 * t * t)
        t -= f / df
    return t


def check_converter(r0_ohm, rref_ohm):
    """Refuse a probe and converter pairing that cannot measure the perfusate: the range cut off at the
    top, or too coarse a step for the alarm band. Both settings are checked together."""
    ratio = rref_ohm / r0_ohm
    if not _RREF_PER_R0_MIN <= ratio <= _RREF_PER_R0_MAX:
        step_c = rref_ohm / CODE_FULL_SCALE / (r0_ohm * (CVD_A + 2.0 * CVD_B * 43.0))
        raise CommandError(BAD_FIELD, "rtd_ref_ohm",
                           "rtd_ref_ohm = %s with rtd_r0_ohm = %s: %.3f degC per converter step, full scale at "
                           "%.0f degC; rtd_ref_ohm / rtd_r0_ohm must be %s..%s" % (
                               rref_ohm, r0_ohm, step_c, resistance_to_c(rref_ohm, r0_ohm), _RREF_PER_R0_MIN,
                               _RREF_PER_R0_MAX))


def code_to_c(code, r0_ohm, rref_ohm):
    return resistance_to_c(code * rref_ohm / CODE_FULL_SCALE, r0_ohm)


# Above 0 degC, T = -A / 2B + sqrt(A^2 - 4B + 4B R/R0) / 2B (Probes.convert): the parts that do not
# depend on the converter, as constants folded into the code (module globals cost the heap the board has
# not got to spare); tests/firmware/fw_probes.py checks the conversion against the full equation.
_ZERO_C = const(3383.809523809524)  # -CVD_A / (2 CVD_B)
_PER_ROOT_C = const(-865800.8658008658)  # 1 / (2 CVD_B)
_ROOT_0 = const(1.758480889e-05)  # CVD_A^2 - 4 CVD_B


def _converted_c(code, root_per_code):
    """The temperature of a converter code above 0 degC (Probes.convert's constants): the quadratic's root
    in four operations, so nine probes a tick leave 36 floats on the heap, not 120. Where the root does not
    exist (R > 7.6 R0) the reading is far above anything plausible."""
    square = _ROOT_0 + root_per_code * code
    if square <= 0.0:
        return _BEYOND_RANGE_C
    return _ZERO_C + _PER_ROOT_C * math.sqrt(square)


class Probes:
    """The bank of fluid probes: raw codes in, calibrated and filtered temperatures out."""

    def __init__(self, config):
        self.config = config
        self.codes = array("H", [0] * N_PROBES)
        self.temp_c = array("f", [0.0] * N_PROBES)
        self.raw_c = array("f", [0.0] * N_PROBES)
        self.bad_count = array("H", [0] * N_PROBES)
        self.good_count = array("H", [0] * N_PROBES)  # consecutive good samples of a failed probe
        self.valid = bytearray(N_PROBES)
        self.failed = bytearray(N_PROBES)
        self.primed = bytearray(N_PROBES)
        self.fitted = bytearray(N_PROBES)
        self.fitted_as = -1  # the configuration self.fitted was made from (fitting_key)
        self.fit()
        # The conversion's constants (convert), the probes whose calibration is not the identity (a bit
        # each: the rest take no arithmetic for it), and the configuration's revision they were made from.
        self.root_per_code = 0.0
        self.calibrated = 0
        self.converted_as = -1
        self.convert()

    def fitting_key(self):
        cfg = self.config
        return cfg.abdominal_probes | cfg.inflow_2_fitted << 3 | cfg.heater_outlet_fitted << 4

    def fit(self):
        """Which channels carry a probe: the fluid probes, the first abdominal_probes cavity ones, and
        the redundant inflow and exchanger-outlet probes where the configuration says so."""
        cfg = self.config
        for i in range(N_PROBES):
            self.fitted[i] = 1
        unfitted = [ABDOMINAL[n] for n in range(cfg.abdominal_probes, _MAX_ABDOMINAL)]
        if not cfg.inflow_2_fitted:
            unfitted.append(INFLOW_2)
        if not cfg.heater_outlet_fitted:
            unfitted.append(HEATER_OUTLET)
        for i in unfitted:
            self.fitted[i] = 0
            self.valid[i] = 0
            self.failed[i] = 0
            self.bad_count[i] = 0
            self.good_count[i] = 0
            self.primed[i] = 0
        self.fitted_as = self.fitting_key()

    def convert(self):
        """Above 0 degC the converter's code c gives R/R0 = c * rref / (32768 r0) = 1 + A T + B T^2, so
        T = -A / 2B + sqrt(A^2 - 4B + 4B rref c / (32768 r0)) / 2B. Below 0 degC nothing is plausible: the
        quadratic stands there too."""
        cfg = self.config
        self.root_per_code = 4.0 * CVD_B * cfg.rtd_ref_ohm / (CODE_FULL_SCALE * cfg.rtd_r0_ohm)
        self.calibrated = 0
        for i in range(N_PROBES):
            if cfg.probe_gain[i] != 1.0 or cfg.probe_offset_c[i] != 0.0:
                self.calibrated |= 1 << i
        self.converted_as = cfg.revision

    def update(self, dt_s):
        """Convert self.codes (filled by the board) into temperatures."""
        cfg = self.config
        if self.fitting_key() != self.fitted_as:
            self.fit()
        if cfg.revision != self.converted_as:
            self.convert()
        alpha = dt_s / (FILTER_TAU_S + dt_s)
        root_per_code = self.root_per_code
        for i in range(N_PROBES):
            if not self.fitted[i]:
                continue
            code = self.codes[i]
            ok = CODE_SHORT < code < CODE_OPEN
            if ok:
                t = _converted_c(code, root_per_code)
                if self.calibrated >> i & 1:
                    t = t * cfg.probe_gain[i] + cfg.probe_offset_c[i]
                ok = _PLAUSIBLE_MIN_C <= t <= PLAUSIBLE_MAX_C
            if not ok:
                self.valid[i] = 0
                self.good_count[i] = 0
                if self.bad_count[i] < BAD_SAMPLES_TO_FAIL:
                    self.bad_count[i] += 1
                if self.bad_count[i] >= BAD_SAMPLES_TO_FAIL:
                    self.failed[i] = 1
                continue
            self.bad_count[i] = 0
            if self.failed[i]:
                # A failure follows the probe: it ends after as many good samples as it took to begin
                # (a bad calibration corrected, a connector reseated); the alarm stays latched until
                # acknowledged.
                self.good_count[i] += 1
                if self.good_count[i] >= BAD_SAMPLES_TO_FAIL:
                    self.failed[i] = 0
                    self.good_count[i] = 0
            self.valid[i] = 1
            self.raw_c[i] = t
            if self.primed[i]:
                self.temp_c[i] += alpha * (t - self.temp_c[i])
            else:
                self.temp_c[i] = t
                self.primed[i] = 1

    def cavity_c(self):
        """Mean of the abdominal probes that read, or 0.0 if none does."""
        total = 0.0
        n = 0
        for i in ABDOMINAL:
            if self.fitted[i] and self.valid[i] and not self.failed[i]:
                total += self.temp_c[i]
                n += 1
        return total / n if n else 0.0

    def hottest_c(self):
        """Highest raw reading among probes that gave a valid sample (for absolute limits, unfiltered)."""
        hottest = -1000.0
        for i in range(N_PROBES):
            if self.valid[i] and self.raw_c[i] > hottest:
                hottest = self.raw_c[i]
        return hottest
