"""The perfusion controller: everything that runs on the board above the board HAL."""
