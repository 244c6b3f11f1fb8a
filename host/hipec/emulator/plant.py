"""Lumped thermal and hydraulic model of the HIPEC circuit and the patient, with its sensors and faults.

Circuit: reservoir -> pump -> heater/heat exchanger -> inflow line -> bypass valve -> (abdomen ->
outflow line ->) reservoir. With the bypass open the heated fluid returns to the reservoir
(pre-heating, draining); closed, it fills and perfuses the abdomen, which overflows into the outflow
line once full. Lines are chains of well-mixed segments, so their transport delay follows the flow.
The patient core is a large heat capacity warmed by the cavity and regulated toward its basal
temperature. Every node mixes incoming fluid by mass (unconditionally stable at any time step) and
loses heat to the room through its own conductance.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from hipec.emulator.params import PlantParams
from hipec.tables import PROBE_NAMES

# Volumetric heat capacity of saline/glucose perfusate, J/(L*degC).
RHO_C_J_PER_L_C = 4180.0
# Longest internal integration step; the firmware ticks at 100 ms.
MAX_STEP_S = 0.1
CVD_A = 3.9083e-3
CVD_B = -5.775e-7
RTD_FULL_SCALE = 32768
RTD_OPEN_CODE = 32767
RTD_SHORT_CODE = 0
PRESSURE_MAX_MMHG = 750.0
# An abdomen holding less than this is "empty": the cavity probes then read tissue, not fluid.
ABDOMEN_WET_L = 0.05
# The converters' noise is drawn once per control tick of plant time (the firmware samples its probes
# once a tick), from the seed and the tick's number alone: a reading is the same however many times,
# and whenever in wall time, the board asks for it, so a rerun of one seed sees the same noise.
NOISE_PERIOD_US = 100_000
# The tick's number is added below the seed's bits: 2**40 ticks of 100 ms are some 3,500 years.
NOISE_SLOT_BITS = 40

# The probes in the board's converter order: the RTD codes the board reads follow it.
PROBES = PROBE_NAMES
PROBE_INDEX = {name: i for i, name in enumerate(PROBES)}
# A noise tick's draws: one per probe for its converter, one per probe for interference, then the flow
# sensor's and the heater current transducer's.
FLOW_NOISE = 2 * len(PROBES)
CURRENT_NOISE = FLOW_NOISE + 1
# The heater current transducer's averaging (time constant, s): an averaging 4-20 mA transducer answers
# within a few hundred milliseconds.
CURRENT_SENSOR_TAU_S = 0.1


@dataclass
class ProbeFault:
    open: bool = False
    short: bool = False
    stuck_code: int | None = None
    offset_c: float = 0.0
    drift_c_per_s: float = 0.0
    extra_noise_c: float = 0.0  # interference on top of the converter's own noise (a noise burst)


@dataclass
class Faults:
    probes: dict[str, ProbeFault] = field(default_factory=lambda: {p: ProbeFault() for p in PROBES})
    heater_stuck_on: bool = False
    heater_dead: bool = False
    pump_stall: bool = False
    air_in_line: bool = False
    reservoir_low: bool = False


class Plant:
    def __init__(self, params: PlantParams):
        p = params
        self.p = p
        self.faults = Faults()
        self.elapsed_us = 0  # plant time, whole microseconds: the noise's clock
        self._noise_slot = -1
        self._noise: list[float] = []  # this tick's standard normal draws: converter, then interference
        start = p.perfusate_start_c
        self.heater_w = 0.0  # heat the element delivers into the fluid (lagged)
        self.heater_current_a = 0.0  # the element's current as the transducer averages it
        self.t_hx = start
        n = p.line_segments
        self.line_in = [start] * n
        self.line_out = [start] * n
        self.v_abdomen_l = 0.0
        self.t_abdomen = p.core_start_c
        self.t_core = p.core_start_c
        circuit_l = p.heater_volume_l + p.line_in_volume_l + p.line_out_volume_l
        self.v_reservoir_l = p.perfusate_l - circuit_l
        self.t_reservoir = start
        self.flow_ml_min = 0.0
        self.pressure_mmhg = p.line_base_mmhg
        self.pump_steps = 0.0
        self.delivered_ml = 0.0
        self.probe_c = {name: self._true(name) for name in PROBES}

    # ------------------------------------------------------------ model

    def _true(self, name: str) -> float:
        if name == "inflow":
            return self.line_in[-1]
        if name == "inflow_2":  # beside the inflow probe, on its own converter
            return self.line_in[-1] + self.p.inflow_2_offset_c
        if name == "heater_outlet":
            return self.t_hx
        if name == "outflow":
            return self.line_out[0]
        if name == "reservoir":
            return self.t_reservoir
        wet = self.v_abdomen_l >= ABDOMEN_WET_L
        t = self.t_abdomen if wet else self.t_core
        if wet:
            if name == "abdominal_2":
                t += self.p.abdominal_2_offset_c
            elif name == "abdominal_3":
                t += self.p.abdominal_3_offset_c
            elif name == "abdominal_4":
                t += self.p.abdominal_4_offset_c
        return t

    def true_temps(self) -> dict[str, float]:
        return {name: self._true(name) for name in PROBES}

    def step(self, dt_s: float, heater_pm: int, pump_msps: int, bypass_open: bool,
             heater_relay: bool = True) -> None:
        """Advance the model by dt_s seconds with the given outputs, in stable sub-steps."""
        self.elapsed_us += int(round(dt_s * 1e6))
        while dt_s > 1e-9:
            h = MAX_STEP_S if dt_s > MAX_STEP_S else dt_s
            self._step(h, heater_pm, pump_msps, bypass_open, heater_relay)
            dt_s -= h

    def _step(self, dt: float, heater_pm: int, pump_msps: int, bypass_open: bool, heater_relay: bool) -> None:
        p = self.p
        f = self.faults
        # Heater element: first-order lag toward the power the switch and the relay in series let
        # through. A switch stuck on conducts whatever its duty; the relay still cuts it.
        duty = 1.0 if f.heater_stuck_on else max(0, min(1000, heater_pm)) / 1000.0
        if f.heater_dead or not heater_relay:
            duty = 0.0
        self.heater_w += (duty * p.heater_max_w - self.heater_w) * (1.0 - math.exp(-dt / p.heater_tau_s))
        # The current is electrical: no thermal lag, only the transducer's averaging.
        self.heater_current_a += (duty * p.heater_max_w / p.heater_supply_v - self.heater_current_a) * (
            1.0 - math.exp(-dt / CURRENT_SENSOR_TAU_S))

        # Pump: steps always turn the rotor; fluid moves only if the line is open and there is fluid.
        steps_per_s = pump_msps / 1000.0
        self.pump_steps += steps_per_s * dt
        flow_ml_s = steps_per_s / p.pump_steps_per_rev * p.pump_ml_per_rev
        if f.pump_stall and flow_ml_s > 0:
            self.pressure_mmhg = min(PRESSURE_MAX_MMHG, self.pressure_mmhg + p.occlusion_rise_mmhg_s * dt)
            flow_ml_s = 0.0
        else:
            self.pressure_mmhg = p.line_base_mmhg + p.line_resistance_mmhg_per_ml_min * flow_ml_s * 60.0
        if self.v_reservoir_l <= 0.0:
            flow_ml_s = 0.0  # pumping air
        self.flow_ml_min = flow_ml_s * 60.0
        q = flow_ml_s * dt / 1000.0  # litres moved this step
        q = min(q, max(0.0, self.v_reservoir_l))
        self.delivered_ml += q * 1000.0

        # Heat exchanger: heated (less its loss), then mixed with q litres from the reservoir; what
        # leaves into the inflow line is the mixed volume as it is after the step, as in the lines.
        self.t_hx += (self.heater_w - p.heater_loss_w_per_c * (self.t_hx - p.room_temp_c)) * dt / (
            RHO_C_J_PER_L_C * p.heater_volume_l)
        self.t_hx = _mix(self.t_hx, p.heater_volume_l, self.t_reservoir, q)
        line_out_of_inflow = self._advect(self.line_in, p.line_in_volume_l, self.t_hx, q, dt)

        # Bypass valve: back to the reservoir, or into the abdomen.
        returned = [(q, line_out_of_inflow)] if bypass_open else []
        if not bypass_open:
            if self.v_abdomen_l < ABDOMEN_WET_L:
                self.t_abdomen = line_out_of_inflow
            self.t_abdomen = _mix(self.t_abdomen, self.v_abdomen_l, line_out_of_inflow, q)
            self.v_abdomen_l += q
        # Outflow: overflow of a full abdomen while perfusing; drainage while bypassed.
        if bypass_open:
            out_q = min(self.v_abdomen_l, p.drain_ml_min / 60000.0 * dt)
        else:
            out_q = max(0.0, self.v_abdomen_l - p.abdomen_capacity_l)
        self.v_abdomen_l -= out_q
        t_out_abdomen = self.t_abdomen
        returned.append((out_q, self._advect(self.line_out, p.line_out_volume_l, t_out_abdomen, out_q, dt)))

        # Abdomen and patient exchange heat; the body regulates the core toward basal.
        contact = min(1.0, self.v_abdomen_l / p.abdomen_capacity_l)
        uptake_w = p.patient_uptake_w_per_c * contact * (self.t_abdomen - self.t_core)
        if self.v_abdomen_l >= ABDOMEN_WET_L:
            loss_w = uptake_w + p.abdomen_room_loss_w_per_c * contact * (self.t_abdomen - p.room_temp_c)
            self.t_abdomen -= loss_w * dt / (RHO_C_J_PER_L_C * self.v_abdomen_l)
        regulation_w = p.core_regulation_w_per_c * (self.t_core - p.core_basal_c)
        self.t_core += (uptake_w - regulation_w) * dt / (p.core_capacity_kj_per_c * 1000.0)

        # Reservoir: loses what the pump took, gains what returned.
        self.v_reservoir_l -= q
        for vol, temp in returned:
            self.t_reservoir = _mix(self.t_reservoir, self.v_reservoir_l, temp, vol)
            self.v_reservoir_l += vol
        if self.v_reservoir_l > 1e-6:
            self.t_reservoir -= p.reservoir_loss_w_per_c * (self.t_reservoir - p.room_temp_c) * dt / (
                RHO_C_J_PER_L_C * self.v_reservoir_l)

        # Probes: first-order lag toward the fluid at their site; drift accumulates.
        k = 1.0 - math.exp(-dt / p.probe_tau_s)
        for name in PROBES:
            self.probe_c[name] += (self._true(name) - self.probe_c[name]) * k
            pf = f.probes[name]
            pf.offset_c += pf.drift_c_per_s * dt

    def _advect(self, seg: list[float], volume_l: float, t_in: float, q: float, dt: float) -> float:
        """Push q litres at t_in into a line of mixed segments; return the temperature leaving it.

        Each segment first loses its share of the line's heat to the room, then takes in q litres from
        the segment before it as that segment is *after* this step (implicit upwind: a chain of mixed
        volumes integrated backward in time). So the mean transport delay is exactly the line volume
        over the flow, whatever the segment count and the step, heat is conserved, and the spread of
        the delay is the tanks-in-series one, (V/F)/sqrt(segments), plus sqrt((V/F) x dt) of the
        step (docs/plant-model.md). Taking the upstream segment as it was *before* the step instead
        moved fluid at most one segment per step and added a step per segment to the delay.
        """
        p = self.p
        n = len(seg)
        v_seg = volume_l / n
        loss = p.line_loss_w_per_c / n * dt / (RHO_C_J_PER_L_C * v_seg)
        room = p.room_temp_c
        upstream = t_in
        for i in range(n):
            t = seg[i]
            t -= (t - room) * loss
            if q > 0.0:
                t = (t * v_seg + upstream * q) / (v_seg + q)
            seg[i] = t
            upstream = t
        return upstream

    def add_fluid(self, volume_l: float, temp_c: float) -> None:
        """An addition into the reservoir (a drug in its carrier, a top-up)."""
        self.t_reservoir = _mix(self.t_reservoir, self.v_reservoir_l, temp_c, volume_l)
        self.v_reservoir_l += volume_l

    # ------------------------------------------------------------ sensors

    def rtd_code(self, name: str) -> int:
        pf = self.faults.probes[name]
        if pf.open:
            return RTD_OPEN_CODE
        if pf.short:
            return RTD_SHORT_CODE
        if pf.stuck_code is not None:
            return pf.stuck_code
        noise = self._tick_noise()
        i = PROBE_INDEX[name]
        t = self.probe_c[name] + pf.offset_c + noise[i] * self.p.probe_noise_c
        if pf.extra_noise_c > 0.0:
            t += noise[len(PROBES) + i] * pf.extra_noise_c
        r = self.p.probe_r0_ohm * (1.0 + CVD_A * t + CVD_B * t * t)
        code = int(round(r / self.p.rtd_ref_ohm * RTD_FULL_SCALE))
        return max(1, min(RTD_OPEN_CODE - 1, code))

    def _tick_noise(self) -> list[float]:
        """The standard normal draws of the current noise tick: one per probe for its converter, one
        per probe for interference (a probe_noise fault), the flow sensor's (FLOW_NOISE) and the heater
        current transducer's (CURRENT_NOISE), from the seed and the tick's number."""
        slot = self.elapsed_us // NOISE_PERIOD_US
        if slot != self._noise_slot:
            rng = random.Random((self.p.seed << NOISE_SLOT_BITS) + slot)
            self._noise = [rng.gauss(0.0, 1.0) for _ in range(CURRENT_NOISE + 1)]
            self._noise_slot = slot
        return self._noise

    def flow_sensor_ma(self) -> float:
        """The inline flow sensor's loop current: 4 mA at no flow, 20 mA at its full scale, with its noise,
        held within what a transmitter drives (3.8-20.5 mA, NAMUR NE 43); -1.0 where none is fitted."""
        p = self.p
        if not p.flow_sensor:
            return -1.0
        flow = self.flow_ml_min + self._tick_noise()[FLOW_NOISE] * p.flow_sensor_noise_ml_min
        return _transmitter_ma(flow / p.flow_sensor_full_scale_ml_min)

    def heater_current_ma(self) -> float:
        """The heater current transducer's loop current: 4 mA at no current, 20 mA at its full scale, with
        its noise, held within what a transmitter drives; -1.0 where none is fitted."""
        p = self.p
        if not p.heater_current_sensor:
            return -1.0
        current_a = self.heater_current_a + self._tick_noise()[CURRENT_NOISE] * p.heater_current_noise_a
        return _transmitter_ma(current_a / p.heater_current_full_scale_a)

    def reservoir_low(self) -> bool:
        return self.faults.reservoir_low or self.v_reservoir_l < self.p.reservoir_low_l

    def air_in_line(self) -> bool:
        return self.faults.air_in_line or self.v_reservoir_l <= 0.0


def _transmitter_ma(share: float) -> float:
    """A 4-20 mA transmitter's loop current for a reading of this share of its full scale, held within
    what it can drive (3.8-20.5 mA, NAMUR NE 43)."""
    return max(3.8, min(20.5, 4.0 + 16.0 * share))


def _mix(t: float, v: float, t_in: float, v_in: float) -> float:
    total = v + v_in
    if total <= 0.0:
        return t
    return (t * v + t_in * v_in) / total
