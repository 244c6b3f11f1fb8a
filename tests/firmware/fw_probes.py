# RTD conversion against IEC 60751 table values, and the probe bank's fault handling.
from controller import probes
from controller.config import Config
from controller.errors import CommandError
from fakeboard import code_for_c


def close(a, b, tol):
    return abs(a - b) <= tol


def bank_at(temp_c, cfg=None):
    """A probe bank whose five probes all read temp_c, after one update."""
    bank = probes.Probes(cfg or Config())
    set_all(bank, temp_c)
    bank.update(0.1)
    return bank


def set_all(bank, temp_c):
    for i in range(probes.N_PROBES):
        bank.codes[i] = code_for_c(temp_c)


def test_callendar_van_dusen_matches_iec_60751_table():
    # (degC, ohm) for PT100 from the IEC 60751 table.
    table = ((-50.0, 80.306), (0.0, 100.0), (37.0, 114.382), (43.0, 116.699), (45.0, 117.470),
             (100.0, 138.505))
    for temp_c, r_ohm in table:
        assert close(probes.resistance_to_c(r_ohm, 100.0), temp_c, 0.002), (temp_c, r_ohm)
    assert close(probes.resistance_to_c(1166.99, 1000.0), 43.0, 0.002)


def test_the_probes_conversion_agrees_with_the_full_equation():
    """The bank converts in four operations with constants worked out from the equation's coefficients:
    over the plausible range, on two converters, it reads what the full equation reads (single precision
    rounds them apart by under 0.0005 degC, a seventieth of a converter step)."""
    cfg = Config()
    for rref_ohm in (430.0, 300.0):
        cfg.apply({"rtd_ref_ohm": rref_ohm})
        bank = probes.Probes(cfg)
        lowest = code_for_c(2.0, rref=rref_ohm)
        highest = code_for_c(80.0, rref=rref_ohm)
        for code in range(lowest + 1, highest, 7):
            full_c = probes.code_to_c(code, 100.0, rref_ohm)
            assert close(bank_reading(bank, code), full_c, 0.001), (rref_ohm, code, full_c)


def bank_reading(bank, code):
    for i in range(len(bank.codes)):
        bank.codes[i] = code
    bank.primed[0] = 0  # the raw reading, not filtered against the last
    bank.update(0.1)
    return bank.temp_c[0]


def test_converter_code_resolution_at_43c():
    low = probes.code_to_c(code_for_c(43.0), 100.0, 430.0)
    high = probes.code_to_c(code_for_c(43.0) + 1, 100.0, 430.0)
    assert close(low, 43.0, 0.02)
    assert 0.02 < high - low < 0.04  # one LSB of a 15-bit converter on PT100 with 430 ohm


def test_open_short_and_implausible_readings_fail_after_consecutive_samples():
    bank = probes.Probes(Config())
    good = code_for_c(43.0)
    bank.codes[0] = probes.CODE_OPEN
    bank.codes[1] = probes.CODE_SHORT
    bank.codes[2] = code_for_c(95.0)  # out of the fluid's plausible range
    for i in range(3, probes.N_PROBES):
        bank.codes[i] = good
    for _ in range(probes.BAD_SAMPLES_TO_FAIL - 1):
        bank.update(0.1)
    assert not bank.failed[0] and not bank.valid[0]
    bank.update(0.1)
    assert bank.failed[0] and bank.failed[1] and bank.failed[2]
    assert not bank.failed[3] and bank.valid[3]


def test_one_bad_sample_does_not_fail_a_probe():
    bank = bank_at(43.0)
    bank.codes[0] = probes.CODE_OPEN
    bank.update(0.1)
    bank.codes[0] = code_for_c(43.0)
    for _ in range(10):
        bank.update(0.1)
    assert not bank.failed[0] and bank.valid[0]


def test_filter_settles_with_its_documented_lag():
    bank = bank_at(40.0)
    set_all(bank, 42.0)
    steps = int(probes.FILTER_TAU_S / 0.1)
    for _ in range(steps):
        bank.update(0.1)
    # After one time constant a first-order filter has covered about 63 % of the step.
    assert 41.1 < bank.temp_c[0] < 41.4, bank.temp_c[0]


def test_calibration_offset_and_gain_apply():
    cfg = Config()
    cfg.probe_offset_c[4] = 0.25
    cfg.probe_gain[4] = 1.01
    bank = bank_at(40.0, cfg)
    assert close(bank.temp_c[4], 40.0 * 1.01 + 0.25, 0.03)


def test_only_the_fitted_cavity_probes_are_read():
    cfg = Config()
    bank = bank_at(40.0, cfg)  # default: two cavity probes fitted
    assert bank.valid[probes.ABDOMINAL_2] and not bank.valid[probes.ABDOMINAL_3]
    bank.codes[probes.ABDOMINAL_4] = probes.CODE_OPEN  # an empty socket reads open: not a fault
    for _ in range(10):
        bank.update(0.1)
    assert not bank.failed[probes.ABDOMINAL_4]
    cfg.abdominal_probes = 4
    set_all(bank, 41.0)
    bank.update(0.1)
    assert all(bank.valid[i] for i in probes.ABDOMINAL)
    assert close(bank.temp_c[probes.ABDOMINAL_4], 41.0, 0.01)
    cfg.abdominal_probes = 1
    bank.update(0.1)
    assert bank.valid[probes.ABDOMINAL_1] and not any(bank.valid[i] for i in probes.ABDOMINAL[1:])


def test_no_converter_code_makes_the_conversion_raise():
    # Beyond the equation's range (R > 7.6 R0) the reading is far above plausible, never an exception.
    for rref in (300.0, 430.0, 4500.0):
        for code in (1, 1000, 16384, 32766):
            t = probes.code_to_c(code, 100.0, rref)
            assert t == t  # a number, not NaN
    assert probes.code_to_c(32766, 100.0, 4500.0) > probes.PLAUSIBLE_MAX_C


def test_a_probe_and_converter_that_cannot_measure_the_perfusate_are_refused_together():
    cfg = Config()
    for changes in ({"rtd_ref_ohm": 4500.0},              # 0.36 degC per step: coarser than the alarm band
                    {"rtd_r0_ohm": 1000.0},                # 430 ohm reference: full scale below 0 degC
                    {"rtd_r0_ohm": 300.0, "rtd_ref_ohm": 380.0}):  # full scale below 80 degC
        try:
            cfg.apply(changes)
        except CommandError as exc:
            assert exc.field == "rtd_ref_ohm" and "rtd_ref_ohm / rtd_r0_ohm must be 1.35..6.3" in exc.message
        else:
            raise AssertionError("accepted %r" % (changes,))
        assert cfg.rtd_r0_ohm == 100.0 and cfg.rtd_ref_ohm == 430.0  # nothing changed
    cfg.apply({"rtd_r0_ohm": 1000.0, "rtd_ref_ohm": 4300.0})  # a PT1000 on its own reference
    assert cfg.rtd_ref_ohm == 4300.0


def test_a_failed_probe_recovers_once_it_reads_again():
    """A failure follows the probe: after as many good samples as it took to fail, the probe is healthy
    again (the alarm it raised stays latched until acknowledged; that is the alarm's business)."""
    bank = bank_at(43.0)
    bank.codes[probes.INFLOW] = probes.CODE_OPEN
    for _ in range(probes.BAD_SAMPLES_TO_FAIL):
        bank.update(0.1)
    assert bank.failed[probes.INFLOW] == 1
    bank.codes[probes.INFLOW] = code_for_c(43.0)
    for _ in range(probes.BAD_SAMPLES_TO_FAIL - 1):
        bank.update(0.1)
        assert bank.failed[probes.INFLOW] == 1  # one good sample is not yet a probe that works
    bank.update(0.1)
    assert bank.failed[probes.INFLOW] == 0 and bank.valid[probes.INFLOW] == 1
