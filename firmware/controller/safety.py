"""Absolute limits of the firmware: values no message can change, and the checks that cut the heater.

These are the last line of defence and do not depend on the host. (shared/clinical.md, "hard limits")
"""

# Highest setpoint any plan may ask for: 1 degC above the C-HIPEC target of 43.0 degC.
ABS_MAX_SETPOINT_C = 44.0
# Any fluid probe at or above this cuts the heater at once: normal tissue tolerates 47 degC for 1 h only.
ABS_CUTOFF_C = 45.0
# Highest pump flow: twice the top of the 400-600 mL/min standard, the tubing's safe rating.
ABS_MAX_FLOW_ML_MIN = 1000.0

OK = 0
OVER_TEMPERATURE = 1
PROBE_FAILED = 2
FAULT_NAMES = ("none", "over_temperature", "probe_failed")


class Safety:
    def __init__(self):
        self.fault = OK
        self.fault_probe = -1
        self.hottest_c = 0.0

    def check(self, probes, required):
        """Return a fault code for this tick's readings (OK when none). required: probe indices in use."""
        hottest = probes.hottest_c()
        self.hottest_c = hottest
        if hottest >= ABS_CUTOFF_C:
            return OVER_TEMPERATURE
        for i in required:
            if probes.failed[i]:
                self.fault_probe = i
                return PROBE_FAILED
        return OK
