"""The one writer of the heater switch, the heater's safety relay, the pump and the bypass valve.

Control says what it wants of the outputs (Outputs); drive() applies the reactions of the active alarms
on top of that and writes the board, so no caller can forget a reaction: an alarm that turns the
heater off turns it off here whatever control asked (as Klipper enforces a heater's max_duration in
the pin driver rather than in each caller). safe() is every output at rest. firmware/main.py's crash
path writes the heater off by itself too, since it runs when the controller itself has failed.
"""
from controller.tables import HEATER_OFF, PUMP_STOP, BYPASS


class Outputs:
    """What control asks of the outputs this tick; preallocated, overwritten in place."""

    def __init__(self):
        self.heater_pm = 0          # switch duty, per mille
        self.heater_relay = False   # the safety relay in series with the switch: closed lets it heat
        self.pump_msps = 0          # pump step rate, milli-steps per second
        self.bypass_open = True     # fluid returns to the reservoir instead of the patient
        self.written_pm = 0         # (set by drive) the duty that reached the element: 0 with the relay open

    def rest(self):
        self.heater_pm = 0
        self.heater_relay = False
        self.pump_msps = 0
        self.bypass_open = True


def drive(board, asked, reactions):
    """Write the outputs control asked for, overridden by the reactions of the active alarms."""
    heater_pm = asked.heater_pm
    relay = asked.heater_relay
    if reactions & HEATER_OFF:
        heater_pm = 0
        relay = False  # the relay in series: cuts even a switch that failed closed
    board.heater_enable(relay)
    board.heater_set(heater_pm)
    asked.written_pm = heater_pm if relay else 0
    board.pump_set(0 if reactions & PUMP_STOP else asked.pump_msps)
    board.bypass_set(asked.bypass_open or (reactions & BYPASS) != 0)


def safe(board, asked):
    """Every output at rest: heater off and its relay open, pump stopped, bypass open."""
    asked.rest()
    drive(board, asked, 0)
