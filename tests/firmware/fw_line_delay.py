# The inflow line's transport delay learnt from the exchanger-outlet and inflow readings (line_delay.py).
import math

from controller import line_delay
from controller.line_delay import LineDelay

DT_S = 0.1


class Noise:
    """A repeatable noise of about sigma (a linear congruential generator: the same on every
    interpreter, with no dependence on the random module)."""

    def __init__(self, sigma_c, seed=12345):
        self.sigma_c = sigma_c
        self.state = seed

    def next(self):
        total = 0.0
        for _ in range(4):
            self.state = (self.state * 1103515245 + 12345) & 0x7FFFFFFF
            total += self.state / 2147483647.0 - 0.5
        return total * self.sigma_c * 1.7320508


def heat_up(delay_s, flow_ml_min=500.0, seconds=300.0, noise_c=0.02, loss_c=0.25, start_s=20.0, line=None,
            outlet=None):
    """An outlet heating from 37 towards 43 degC after start_s; the inflow reads it delay_s later, less the
    line's loss, both with the converter's noise. Returns the learner."""
    line = line if line is not None else LineDelay()
    noise = Noise(noise_c)
    outlet = outlet if outlet is not None else (
        lambda t: 37.0 + 6.0 * (1.0 - math.exp(-(t - start_s) / 60.0)) if t > start_s else 37.0)
    for i in range(int(seconds / DT_S)):
        t = i * DT_S
        line.update(outlet(t) + noise.next(), outlet(t - delay_s) - loss_c + noise.next(), flow_ml_min, DT_S)
    return line


def test_the_delay_is_found_on_every_line_the_plant_model_documents():
    # 4 s (a compact unit) to 82 s (0.55 L at 400 mL/min) and 110 s, near the longest candidate.
    for delay_s in (4.0, 18.0, 36.0, 82.0, 110.0):
        line = heat_up(delay_s)
        assert line.known(), delay_s
        assert abs(line.delay_s - delay_s) <= 1.0, (delay_s, line.delay_s)
        assert abs(line.learnt_ml - delay_s * 500.0 / 60.0) <= 500.0 / 60.0, (delay_s, line.learnt_ml)


def test_it_is_found_through_the_noisiest_converter():
    # 0.2 degC per raw sample is about 0.05 in the 1 s filtered reading the controller is given.
    line = heat_up(36.0, noise_c=0.05)
    assert line.known()
    assert abs(line.delay_s - 36.0) <= 2.0, line.delay_s


def test_a_steady_circuit_teaches_nothing():
    # Readings that only carry noise (a settled treatment, a circuit not yet heated) name no delay.
    line = heat_up(36.0, seconds=600.0, noise_c=0.2, outlet=lambda t: 43.0)
    assert not line.known()
    assert line.volume_ml(150.0) == 150.0  # the configured line stands


def test_readings_the_delay_does_not_explain_teach_nothing():
    # An inflow that moves on its own (another probe's fluid, a probe not in this line) against a
    # steady outlet.
    line = LineDelay()
    noise = Noise(0.02)
    for i in range(int(300.0 / DT_S)):
        t = i * DT_S
        line.update(43.0 + noise.next(), 40.0 + 2.0 * math.sin(t / 15.0) + noise.next(), 500.0, DT_S)
    assert not line.known()


def test_the_learnt_volume_is_kept_through_a_flow_change_and_a_stop():
    line = heat_up(36.0)
    learnt_ml = line.learnt_ml
    # The flow steps to 400 mL/min and the readings settle: the sums start again, the volume stays.
    heat_up(0.0, flow_ml_min=400.0, seconds=60.0, line=line, outlet=lambda t: 43.0)
    assert line.learnt_ml == learnt_ml
    heat_up(0.0, flow_ml_min=0.0, seconds=10.0, line=line, outlet=lambda t: 43.0)
    assert line.learnt_ml == learnt_ml
    # At the new flow the same line shows a delay longer by 500/400, and the same volume.
    heat_up(45.0, flow_ml_min=400.0, line=line, start_s=10.0)
    assert abs(line.learnt_ml - learnt_ml) <= 500.0 / 60.0, (line.learnt_ml, learnt_ml)
    assert abs(line.delay_s - 45.0) <= 1.0, line.delay_s


def test_a_new_session_forgets_the_line():
    line = heat_up(36.0)
    line.forget()
    assert not line.known() and line.volume_ml(150.0) == 150.0


def test_the_outlet_history_gives_the_reading_one_transit_ago():
    line = LineDelay()
    for i in range(int(100.0 / DT_S)):
        line.update(20.0 + i * DT_S * 0.1, 20.0, 500.0, DT_S)
    # The outlet rose 0.1 degC/s: 30 s ago it read 3 degC less than the last sample.
    now_c = line.outlet_c_before(0.0)
    assert abs(now_c - line.outlet_c_before(30.0) - 3.0) < 0.02
    # No further back than the history holds.
    oldest_s = (line_delay.HISTORY_SAMPLES - 1) * line_delay.SAMPLE_PERIOD_S
    assert line.outlet_c_before(1000.0) == line.outlet_c_before(oldest_s)


def test_the_sums_stay_small_integers_at_the_clip():
    # The largest possible change every sample (a 10 degC clip) for the sums' whole memory and more:
    # nothing overflows a 32-bit board's small integers (2**30).
    line = LineDelay()
    for i in range(int(600.0 / DT_S)):
        high = (i // 100) % 2 == 0
        line.update(80.0 if high else 20.0, 20.0 if high else 80.0, 500.0, DT_S)
    assert max(line.sums) < (1 << 30) and line.energy < (1 << 30)


def test_readings_beyond_any_fluid_are_held_to_the_history_s_range():
    # A converter gone wrong can read hundreds of degrees while still counted valid for a tick or two:
    # the history holds it at its 16-bit bound instead of failing the control tick.
    line = LineDelay()
    for i in range(int(30.0 / DT_S)):
        line.update(400.0 if i % 2 else 43.0, -300.0, 500.0, DT_S)
    assert line.outlet_c_before(0.0) in (327.67, 43.0)
