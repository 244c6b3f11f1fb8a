"""Board configuration: calibrations, gains and limits the host may change within the absolute limits.

Defaults describe the reference build: PT100 probes on MAX31865 converters with a 430 ohm reference,
a 1500 W heater, a stepper peristaltic pump with 3200 microsteps per revolution and ~10 mL/rev tubing.
"""
from array import array

from controller import probes


class Config:
    def __init__(self):
        self.rtd_r0_ohm = 100.0
        self.rtd_ref_ohm = 430.0
        self.probe_offset_c = array("f", [0.0] * probes.N_PROBES)
        self.probe_gain = array("f", [1.0] * probes.N_PROBES)
        # Heater rated power: the feed-forward and the gains are in watts, the output is a duty.
        self.heater_rated_w = 1500.0
        # PI gains at the reference flow (SIMC rules on the heater-to-inflow response: gain
        # 1/(flow*c_p), lag ~30 s, dead time ~26 s at 500 mL/min); both are rescaled with flow.
        self.kp_w_per_c = 20.0
        self.ti_s = 30.0
        self.gain_ref_flow_ml_min = 500.0
        # The integrator only acts this close to the setpoint: far from it the feed-forward leads.
        self.integral_band_c = 1.0
        self.pump_ml_per_rev = 10.0
        self.pump_steps_per_rev = 3200
        # Pump acceleration limit: avoids pressure spikes in the lines when flow changes.
        self.pump_accel_ml_min_per_s = 200.0
        # Extracorporeal volume (reservoir floor, heater, lines) not sent into the abdomen.
        self.circuit_prime_l = 1.5
        # Flow while priming and cooling in the extracorporeal loop and while draining.
        self.drain_s = 420
        self.cooldown_end_c = 40.0
        self.cooldown_max_s = 300
        # Inflow must stay in band this long before the abdomen is filled.
        self.prime_stable_s = 30
        self.band_c = 0.1
