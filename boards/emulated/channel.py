"""Layout of the side channel between the emulated board (MicroPython) and its plant (CPython).

Once per idle the board writes OUT_WORDS little-endian int32 words (its outputs and the virtual time
it wants to reach) and reads IN_WORDS words back (the time reached and its inputs). This file is
imported by both sides so the layout cannot drift.
"""
# board -> plant
OUT_UNTIL_MS = 0        # virtual time the board wants to idle until
OUT_HEATER_PM = 1       # heater duty, per mille
OUT_PUMP_MSPS = 2       # pump step rate, milli-steps per second
OUT_BYPASS = 3          # 1 = bypass valve open (fluid returns to the reservoir)
OUT_WDT_TIMEOUT_MS = 4  # 0 = watchdog not started
OUT_WDT_FEEDS = 5       # count of watchdog feeds so far
OUT_MODE = 6            # MODE_RUNNING, or MODE_REPL when the firmware hands the link back to the REPL
OUT_HEATER_RELAY = 7    # 1 = the safety relay in series with the heater switch is closed
OUT_WORDS = 8
MODE_RUNNING = 0
MODE_REPL = 1

# plant -> board
IN_NOW_MS = 0           # virtual time reached
IN_RTD = 1              # nine RTD converter codes follow, in probe order
IN_PRESSURE_MMHG = 10
IN_RESERVOIR_LOW = 11
IN_AIR = 12
IN_PUMP_STEPS = 13      # steps the stepper has executed since boot
IN_HANG = 14            # 1 = the fault "firmware loop hang" is active
IN_FLOW_UA = 15         # the flow sensor's loop current in microamperes (-1: none fitted)
IN_HEATER_CURRENT_UA = 16  # the heater current transducer's loop current in microamperes (-1: none fitted)
IN_WORDS = 17
N_RTD = 9
