"""Boot entry of the controller: hand the board HAL to the controller and run it until the host asks
for the REPL (enter_repl), which then gets the link back.

On a real board enter_repl resets with a maintenance flag set (an armed RP2040 watchdog cannot be
stopped); on that boot the outputs stay off, and neither the watchdog nor the loop start, so the REPL is
the host's (hipec flash uses it). Whatever escapes, even a failed import on a board short of memory,
turns the heater off and is reported through the board; the watchdog then resets the board into a safe
state.
"""
import board

hal = board.Board()
if not hal.maintenance_boot():
    try:
        from controller import app

        app.run(hal)  # returns only when the host asked for the REPL, outputs already safe
        hal.enter_repl()
    except BaseException as exc:
        hal.heater_set(0)
        hal.heater_enable(False)
        hal.report_crash(exc)
        raise
    finally:
        hal.heater_set(0)
        hal.heater_enable(False)
