# The interlock: whatever control asks for, the active alarms' reactions win at the outputs. Every
# combination of reactions and requested outputs, exhaustively.
from controller import interlock
from controller.tables import HEATER_OFF, PUMP_STOP, BYPASS
from fakeboard import FakeBoard


def test_every_reaction_overrides_every_request():
    board = FakeBoard()
    asked = interlock.Outputs()
    cases = 0
    for reactions in range(8):
        for heater_pm in (0, 1, 500, 1000):
            for relay in (False, True):
                for pump_msps in (0, 26667):
                    for bypass in (False, True):
                        asked.heater_pm, asked.heater_relay = heater_pm, relay
                        asked.pump_msps, asked.bypass_open = pump_msps, bypass
                        interlock.drive(board, asked, reactions)
                        cases += 1
                        if reactions & HEATER_OFF:
                            assert board.heater_pm == 0 and not board.heater_relay
                        else:
                            assert board.heater_pm == heater_pm and board.heater_relay == relay
                        assert board.pump_msps == (0 if reactions & PUMP_STOP else pump_msps)
                        assert board.bypass_open == (bypass or (reactions & BYPASS) != 0)
    assert cases == 8 * 4 * 2 * 2 * 2


def test_safe_is_every_output_at_rest():
    board = FakeBoard()
    asked = interlock.Outputs()
    asked.heater_pm, asked.heater_relay, asked.pump_msps, asked.bypass_open = 800, True, 5000, False
    interlock.drive(board, asked, 0)
    interlock.safe(board, asked)
    assert (board.heater_pm, board.heater_relay, board.pump_msps, board.bypass_open) == (0, False, 0, True)
    assert (asked.heater_pm, asked.heater_relay, asked.pump_msps, asked.bypass_open) == (0, False, 0, True)
