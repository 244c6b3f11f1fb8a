"""The perfusate's physics that the controller, the supervisor and the runaway watch all model: its heat
capacity, and one step of the heat exchanger as a mixed volume (each model keeps its own state)."""

# Heat capacity of the perfusate (water-like carrier solutions), J per mL per degC.
PERFUSATE_J_PER_ML_C = 4.18


def exchanger_step(t_c, inlet_c, flow_ml_min, element_w, cfg, dt_s):
    """The exchanger's mixed volume after dt_s: fed at inlet_c at this flow, heated by element_w, losing
    circuit_loss_w_per_c to the room (sizes from the configuration cfg)."""
    volume_ml = cfg.heater_volume_ml
    moved_ml = flow_ml_min * dt_s / 60.0
    t = (t_c * volume_ml + inlet_c * moved_ml) / (volume_ml + moved_ml)
    return t + (element_w - cfg.circuit_loss_w_per_c * (t - cfg.room_temp_c)) * dt_s / (
        PERFUSATE_J_PER_ML_C * volume_ml)
