# The flush (pump.py): after every stop of the pump the bypass stays open until the heat exchanger and
# the inflow line have been flushed, longer while the fluid reaching the bypass reads hot; the inflow
# alarm judges only fluid that goes to the patient; the predictor starts from the exchanger's outlet.
import gc

from controller import app, heater, probes, session, tables
from controller.config import Config
from controller.pump import FLUSH_MAX_VOLUMES
from fakeboard import FakeBoard, code_for_c
from livehost import flush, live


def start(temp_c=43.0):
    board = FakeBoard(temp_c)
    ctl = app.Controller(board, ring_records=25)
    ctl.config.prime_stable_s = 0
    board.send([2, 1, "start", {}])
    ctl.link.service()
    board.replies()
    return board, ctl


def ask(board, ctl, msg):
    board.send(msg)
    ctl.link.service()
    return board.replies()


def flush_volume_ml(ctl):
    return ctl.config.heater_volume_ml + ctl.config.inflow_line_ml


def test_the_bypass_stays_open_until_the_exchanger_and_line_are_flushed_once():
    board, ctl = start()
    ticks = 0
    while board.bypass_open:
        board.run(ctl, 1)
        ticks += 1
        assert ticks < 2000
    # Closed by the first tick after the flush ended, in band: HEATING.
    moved_ml = ctl.pump.flushed_ml
    assert flush_volume_ml(ctl) <= moved_ml < flush_volume_ml(ctl) + 500.0 / 600.0 + 0.01, moved_ml
    assert ctl.session.phase == session.HEATING and not ctl.pump.flushing


def test_a_line_found_longer_than_configured_is_flushed_over_as_it_is():
    """The probes showed a 0.55 L inflow line where 0.15 L is configured (line_delay.py): the slug
    after a stop fills all of it, so all of it goes to the reservoir; a line found shorter is still
    flushed as configured."""
    for learnt_ml, flushed_ml in ((550.0, 550.0), (50.0, Config().inflow_line_ml)):
        board, ctl = start()
        ctl.line.learnt_ml = learnt_ml
        ticks = 0
        while board.bypass_open:
            live(board, ctl, 1)
            ticks += 1
            assert ticks < 2000
        moved_ml = ctl.pump.flushed_ml
        least_ml = ctl.config.heater_volume_ml + flushed_ml
        assert least_ml <= moved_ml < least_ml + 500.0 / 600.0 + 0.01, (learnt_ml, moved_ml)
        board = ctl = None
        gc.collect()  # one controller's buffers at a time fit the RP2040-sized heap


def stall_and_resume(board, ctl, outlet_c, inflow_c):
    """HEATING, then the pump stopped by air in the line with the exchanger left hot, the air cleared,
    acknowledged and resumed."""
    flush(board, ctl)
    board.run(ctl, 5)
    assert ctl.session.phase == session.HEATING and not board.bypass_open
    board.air = True
    board.run(ctl, 5)
    assert ctl.session.phase == session.FAULT and board.pump_msps == 0 and ctl.pump.flushing
    board.codes[probes.HEATER_OUTLET] = code_for_c(outlet_c)
    board.codes[probes.INFLOW] = board.codes[probes.INFLOW_2] = code_for_c(inflow_c)
    # The fake board has no physics: the runaway watch is told the slug formed as its model would have.
    ctl.supervisor.runaway.restart(outlet_c, 0.0)
    board.air = False
    board.run(ctl, 3)
    ask(board, ctl, [2, 50, "ack_alarm", {"alarm": "all"}])
    (resumed,) = ask(board, ctl, [2, 51, "resume", {}])
    assert resumed[2] == "ok", resumed


def test_a_hot_slug_after_a_stop_goes_to_the_reservoir_without_an_inflow_alarm():
    board, ctl = start()
    stall_and_resume(board, ctl, outlet_c=44.6, inflow_c=43.8)  # both above what the patient may get
    filled_from_ml = ctl.patient_start_ml
    delivered_ml = ctl.pump.delivered_ml()
    while ctl.pump.flushed_ml < 2 * flush_volume_ml(ctl):
        if ctl.pump.flushed_ml > ctl.config.heater_volume_ml:
            # The slug has left the exchanger (the line still holds it): the outlet reads the fluid
            # that replaced it. Left at the slug's reading with the heater off, which the predictor
            # sees, the outlet would be hotter than the runaway watch's model explains.
            board.codes[probes.HEATER_OUTLET] = code_for_c(43.3)
        live(board, ctl, 1)
        assert board.bypass_open and ctl.session.phase == session.HEATING
        assert not ctl.alarms.active[tables.TEMP_HIGH]
    # What went to the reservoir is not counted as filling the abdomen.
    moved_ml = ctl.pump.delivered_ml() - delivered_ml
    assert abs((ctl.patient_start_ml - filled_from_ml) - moved_ml) < 10.0, (ctl.patient_start_ml, moved_ml)
    board.codes[probes.HEATER_OUTLET] = code_for_c(43.3)  # the slug has passed
    board.codes[probes.INFLOW] = board.codes[probes.INFLOW_2] = code_for_c(43.0)
    board.run(ctl, 2)
    assert not board.bypass_open and not ctl.pump.flushing


def test_a_flush_ends_after_its_most_volumes_and_the_inflow_alarm_judges_again():
    board, ctl = start()
    stall_and_resume(board, ctl, outlet_c=43.3, inflow_c=43.8)  # the circuit itself too hot, not a slug
    flush(board, ctl)
    assert ctl.pump.flushed_ml >= FLUSH_MAX_VOLUMES * flush_volume_ml(ctl)
    live(board, ctl, 15)
    assert ctl.alarms.active[tables.TEMP_HIGH] and ctl.session.phase == session.FAULT and board.bypass_open


def test_priming_judges_no_inflow_alarm_the_bypass_sends_the_fluid_back():
    board, ctl = start(44.0)  # above the target's band: the inflow alarm would have held 1 s
    board.run(ctl, 30)
    assert ctl.session.phase == session.PRIMING and board.bypass_open
    assert not ctl.alarms.active[tables.TEMP_HIGH]
    board.codes[probes.HEATER_OUTLET] = code_for_c(45.2)  # the circuit's absolute limit still holds
    board.run(ctl, 1)
    assert ctl.alarms.active[tables.OVER_TEMPERATURE] and ctl.session.phase == session.FAULT


def test_the_predictor_starts_from_what_the_exchanger_outlet_reads():
    """A warm restart: the reservoir has cooled to 34 degC, the fluid standing in the exchanger is at
    44.5 degC. Taken as cold as the reservoir, the exchanger would be heated at the cap."""
    cfg = Config()
    cold = heater.HeaterController(cfg)
    warm = heater.HeaterController(cfg)
    cold.update(43.0, 42.8, 34.0, 500.0, 0.1)
    warm.update(43.0, 42.8, 34.0, 500.0, 0.1, 44.5)
    cap_w = cold.cap_w(34.0, 500.0)
    assert cold.predicted_c < 34.5 and cold.demand_w == cap_w
    assert warm.predicted_c > 44.0 and warm.demand_w < 0.75 * cap_w


def at_rest_with_outlet(outlet_c):
    board = FakeBoard(43.0)
    ctl = app.Controller(board, ring_records=25)
    board.codes[probes.HEATER_OUTLET] = code_for_c(outlet_c)
    board.run(ctl, 2)
    return board, ctl


def test_start_waits_while_the_fluid_standing_in_the_exchanger_reads_above_the_highest_setpoint():
    """A power loss in treatment leaves the exchanger's fluid warming from the element's stored heat:
    pumped while it warms, the slug would pass the outlet probe at the cut-off."""
    board, ctl = at_rest_with_outlet(44.3)
    (refused,) = ask(board, ctl, [2, 1, "start", {}])
    assert refused[2] == "error" and refused[3]["code"] == "not_ready", refused
    assert refused[3]["field"] == "heater_outlet" and "44.3 degC" in refused[3]["message"], refused
    assert ctl.session.phase == session.IDLE and board.pump_msps == 0
    board.codes[probes.HEATER_OUTLET] = code_for_c(43.9)
    board.run(ctl, 1)
    (started,) = ask(board, ctl, [2, 2, "start", {}])
    assert started[2] == "ok" and ctl.session.phase == session.PRIMING, started


def test_start_is_refused_while_an_alarm_that_holds_sessions_is_active_until_acknowledged():
    board, ctl = at_rest_with_outlet(45.2)  # the slug's peak: over_temperature raises (and latches) at rest
    assert ctl.alarms.active[tables.OVER_TEMPERATURE]
    board.codes[probes.HEATER_OUTLET] = code_for_c(43.5)
    board.run(ctl, 2)
    (refused,) = ask(board, ctl, [2, 1, "start", {}])
    assert refused[2] == "error" and refused[3]["code"] == "bad_state", refused
    assert "over_temperature" in refused[3]["message"] and ctl.session.phase == session.IDLE, refused
    ask(board, ctl, [2, 2, "ack_alarm", {"alarm": "over_temperature"}])
    board.run(ctl, 1)
    (started,) = ask(board, ctl, [2, 3, "start", {}])
    assert started[2] == "ok" and ctl.session.phase == session.PRIMING, started
