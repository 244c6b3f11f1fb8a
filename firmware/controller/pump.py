"""Peristaltic pump: flow in mL/min to a step rate through the tubing calibration, ramps, volume accounting."""


class Pump:
    def __init__(self, board, config):
        self.board = board
        self.config = config
        self.target_ml_min = 0.0
        self.flow_ml_min = 0.0
        self.steps_at_start = board.pump_steps()

    def set_flow(self, flow_ml_min):
        self.target_ml_min = flow_ml_min

    def steps_per_s(self, flow_ml_min):
        cfg = self.config
        return flow_ml_min / 60.0 / cfg.pump_ml_per_rev * cfg.pump_steps_per_rev

    def delivered_ml(self):
        cfg = self.config
        steps = self.board.pump_steps() - self.steps_at_start
        return steps * cfg.pump_ml_per_rev / cfg.pump_steps_per_rev

    def tick(self, dt_s):
        """Move the commanded flow toward the target at the acceleration limit and drive the stepper."""
        step = self.config.pump_accel_ml_min_per_s * dt_s
        diff = self.target_ml_min - self.flow_ml_min
        if diff > step:
            self.flow_ml_min += step
        elif diff < -step:
            self.flow_ml_min -= step
        else:
            self.flow_ml_min = self.target_ml_min
        self.board.pump_set(int(self.steps_per_s(self.flow_ml_min) * 1000.0))
