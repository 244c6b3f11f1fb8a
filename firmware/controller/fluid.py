"""Properties of the perfusate that the controller, the supervisor and the runaway watch all model."""

# Heat capacity of the perfusate (water-like carrier solutions), J per mL per degC.
PERFUSATE_J_PER_ML_C = 4.18
