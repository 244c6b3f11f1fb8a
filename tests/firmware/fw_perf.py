"""Where the firmware collects its garbage (controller/perf.py): at the same point after a tick, once in
COLLECT_TICKS ticks on the chips, and always on a tick whose heap is accounted."""
from controller import perf


class CountingGc:
    def __init__(self):
        self.collections = 0

    def collect(self):
        self.collections += 1


def chip_perf():
    p = perf.Perf()
    p.mem_alloc = lambda: 1000
    p.sample_ticks = perf.HEAP_SAMPLE_TICKS  # as on an RP2040 or ESP32
    p.accounting = False
    return p


def run_ticks(p, n):
    """n ticks as the controller runs them: heap taken around the step, collect, add; the ticks whose
    collection happened."""
    real_gc = perf.gc
    counting = perf.gc = CountingGc()
    collected = []
    try:
        for tick in range(n):
            p.heap_used()
            before = counting.collections
            accounted = p.accounting
            p.collect()
            if counting.collections > before:
                collected.append((tick, accounted))
            p.add(1000, 100, 0)
    finally:
        perf.gc = real_gc
    return collected


def test_a_chip_collects_once_in_collect_ticks_and_on_every_accounted_tick():
    collected = run_ticks(chip_perf(), 2 * perf.HEAP_SAMPLE_TICKS)
    ticks = [t for t, _ in collected]
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert max(gaps) <= perf.COLLECT_TICKS and len(ticks) <= 2 * perf.HEAP_SAMPLE_TICKS // perf.COLLECT_TICKS + 2
    assert [t for t, accounted in collected if accounted] == [perf.HEAP_SAMPLE_TICKS - 1, 2 * perf.HEAP_SAMPLE_TICKS - 1]


def test_replies_between_collections_are_collected_first_then_one_in_four():
    p = chip_perf()
    real_gc = perf.gc
    counting = perf.gc = CountingGc()
    try:
        for _ in range(8):
            p.collect()  # replies with no tick between them
    finally:
        perf.gc = real_gc
    assert counting.collections == 2  # the first, then the fifth


def test_the_marking_order_holds_every_loaded_module_once_after_those_its_globals_hold():
    import sys
    module_type = type(sys)
    loaded = [m for m in sys.modules.values() if type(m) is module_type]
    walked = []
    chain = perf.marking_order(sys.modules)
    while chain:
        chain, module = chain
        walked.append(module)
    # sys.modules may name one module twice (CPython's os.path and posixpath): compared as objects
    assert all(any(w is m for w in walked) for m in loaded), [m for m in loaded if not any(w is m for w in walked)]
    assert all(sum(1 for w in walked if w is m) == 1 for m in walked)
    position = {id(m): i for i, m in enumerate(walked)}
    for m in walked:
        for value in m.__dict__.values():
            if type(value) is module_type and id(value) in position and value is not m:
                # before it, unless it holds m in turn (an import cycle: one of them comes first)
                assert position[id(value)] < position[id(m)] or reaches(value, m, module_type), (m, value)


def reaches(start, target, module_type):
    """Whether target is among the modules start's globals hold, directly or through others."""
    seen = []
    pending = [start]
    while pending:
        module = pending.pop()
        for value in module.__dict__.values():
            if value is target:
                return True
            if type(value) is module_type and not any(s is value for s in seen):
                seen.append(value)
                pending.append(value)
    return False
