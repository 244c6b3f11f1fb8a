"""What the control tick costs on this processor, and the heap it leaves, measured by the firmware itself
(diagnostics reports both); and the one place garbage is collected, with the modules handed to the
collector in an order that keeps its mark stack from overflowing."""
from micropython import const
import gc
import sys
from array import array

# Heap accounting (gc.mem_alloc) walks the whole allocation table: 9 ms on an RP2040's 240 KB heap
# (1.1 M cycles, measured on the emulated chip, docs/benchmarks.md), a few microseconds on a PC. Taken
# at every tick (four walks: before and after the tick and around its collection) it would cost a
# microcontroller a third of its period. There the figures are taken on one tick in HEAP_SAMPLE_TICKS
# only: under 1 % of the ticks, so the tick-time percentiles up to p99 do not see them.
_SAMPLED_PLATFORMS = const(("rp2", "esp32"))
HEAP_SAMPLE_TICKS = 128
# After the first reply between two ticks' collections, at most this many replies' garbage waits (a
# frame's worth each at most) before a reply collects again: a loop that answers without ticking (a
# burst of requests, the link fuzzer) stays bounded.
_REPLIES_WAITING_MAX = const(3)
# A collection marks the whole live heap whatever the garbage (1.4 M cycles on an RP2040, about a tick's
# own work, docs/benchmarks.md): the ticks' garbage is collected once in COLLECT_TICKS ticks, always at
# the same point after a tick, and always on a tick whose heap is accounted (its peak is the one before a
# collection). What waits is bounded: COLLECT_TICKS times app.TICK_ALLOC_BUDGET_BYTES. At one in four
# the chip's high-water mark reached 78 % of its heap (target 75 %) once the live heap had grown to
# 152 KB; one in three (with less allocated a tick) kept it at 73 %, and the median tick still collects
# nothing (benchmarks.md).
COLLECT_TICKS = 3

# MicroPython's collector marks depth first with a stack of 64 blocks (MICROPY_ALLOC_GC_STACK_SIZE). A
# table with more unmarked entries than the stack has room for (the table of loaded modules, then the
# configuration's table of settings on top) overflows it, and the collector then walks the whole
# allocation table and marks again from every marked block. Its first root is the global dictionary of
# the module that calls gc.collect(), this one's: _marking_order there, a chain of pairs (rest, module)
# with each module after the modules its globals hold, hands the collector one module at a time with
# almost nothing pending, and the table of loaded modules then finds them all marked. On the emulated
# RP2040 a collection took 2.5 M cycles before and 1.4 M after (docs/benchmarks.md).
_marking_order = None


class Perf:
    """What the control tick costs on this processor: histograms of the tick alone and of the tick plus
    its collection, the longest of each, and the most bytes one tick allocated (on the ticks whose heap
    is accounted, all of them where that is cheap). No allocation."""

    # Buckets: 50 us wide up to 5 ms, then 500 us up to 50 ms, then 5 ms up to 100 ms (the last one
    # holds everything above): the unix port's sub-millisecond ticks and an RP2040's tens of
    # milliseconds are both resolved.
    FINE_US = 50
    FINE_BUCKETS = 100
    MID_US = 500
    MID_BUCKETS = 90
    COARSE_US = 5000
    BUCKETS = 200

    def __init__(self):
        self.histogram = array("i", bytes(4 * self.BUCKETS))
        self.with_gc = array("i", bytes(4 * self.BUCKETS))
        self.ticks = 0
        self.tick_us_max = 0
        self.gc_us_max = 0
        self.alloc_bytes_max = 0
        # Heap figures (MicroPython only): the peak before each accounted collection and what survives it.
        self.mem_alloc = getattr(gc, "mem_alloc", None)
        self.heap_peak_bytes = 0
        self.heap_live_bytes = 0
        self.sample_ticks = HEAP_SAMPLE_TICKS if sys.platform in _SAMPLED_PLATFORMS else 1
        self.accounting = True  # this tick's heap is accounted
        # The controller takes the heap around its control step (heap_used): the collection that
        # follows is the tick's. The others follow replies: a bridge polling an idle board asks several
        # times a period, and each collection costs the RP2040 18 ms (its live heap marked, 2.3 M
        # cycles): the first reply between two ticks' collections is collected, then one in
        # _REPLIES_WAITING_MAX + 1.
        self.ticking = False
        self.reply_collected = False
        self.replies_waiting = 0  # replies since the last collection whose garbage is still there
        self.ticks_waiting = 0  # ticks since the last collection whose garbage is still there

    def heap_used(self):
        self.ticking = True
        if self.mem_alloc is None or not self.accounting:
            return 0
        return self.mem_alloc()

    def collect(self):
        """Collect at the same point of one tick in COLLECT_TICKS (and after the first reply between two
        ticks' collections), so collection never interrupts the control step. Only MicroPython's heap needs
        it: CPython, which runs the same code in tests and benchmarks, frees by reference counting and has
        no heap cap."""
        mem_alloc = self.mem_alloc
        if mem_alloc is None:
            return
        if self.ticking:
            self.ticking = False
            self.ticks_waiting += 1
            if self.ticks_waiting < COLLECT_TICKS and not self.accounting:
                return  # this tick's garbage waits for a later tick's collection
            self.ticks_waiting = 0
            self.reply_collected = False
            self.replies_waiting = 0
        elif self.reply_collected and self.replies_waiting < _REPLIES_WAITING_MAX:
            self.replies_waiting += 1
            return  # this reply's garbage waits for the tick's collection
        else:
            self.reply_collected = True
            self.replies_waiting = 0
            gc.collect()  # the heap is accounted at the tick's collection only
            return
        if not self.accounting:
            gc.collect()
            return
        used = mem_alloc()
        if used > self.heap_peak_bytes:
            self.heap_peak_bytes = used
        gc.collect()
        self.heap_live_bytes = mem_alloc()

    def bucket(self, us):
        if us < self.FINE_US * self.FINE_BUCKETS:
            return us // self.FINE_US
        us -= self.FINE_US * self.FINE_BUCKETS
        if us < self.MID_US * self.MID_BUCKETS:
            return self.FINE_BUCKETS + us // self.MID_US
        bucket = self.FINE_BUCKETS + self.MID_BUCKETS + (us - self.MID_US * self.MID_BUCKETS) // self.COARSE_US
        return bucket if bucket < self.BUCKETS else self.BUCKETS - 1

    def upper_edge_us(self, bucket):
        if bucket < self.FINE_BUCKETS:
            return (bucket + 1) * self.FINE_US
        fine = self.FINE_US * self.FINE_BUCKETS
        if bucket < self.FINE_BUCKETS + self.MID_BUCKETS:
            return fine + (bucket - self.FINE_BUCKETS + 1) * self.MID_US
        return fine + self.MID_US * self.MID_BUCKETS + (bucket - self.FINE_BUCKETS - self.MID_BUCKETS + 1) * self.COARSE_US

    def add(self, tick_us, gc_us, alloc_bytes):
        self.histogram[self.bucket(tick_us)] += 1
        self.with_gc[self.bucket(tick_us + gc_us)] += 1
        self.ticks += 1
        if tick_us > self.tick_us_max:
            self.tick_us_max = tick_us
        if gc_us > self.gc_us_max:
            self.gc_us_max = gc_us
        if alloc_bytes > self.alloc_bytes_max:
            self.alloc_bytes_max = alloc_bytes
        # The next tick's heap is accounted (and the collections until it) once in sample_ticks.
        self.accounting = self.ticks % self.sample_ticks == self.sample_ticks - 1

    def percentile_us(self, histogram, share_pct):
        """Upper edge of the bucket holding this share of the ticks."""
        wanted = (self.ticks * share_pct + 99) // 100
        seen = 0
        for i in range(self.BUCKETS):
            seen += histogram[i]
            if seen >= wanted and self.ticks:
                return self.upper_edge_us(i)
        return 0

    def as_dict(self):
        return {"ticks": self.ticks,
                "tick_us_median": self.percentile_us(self.histogram, 50),
                "tick_us_p99": self.percentile_us(self.histogram, 99),
                "tick_us_max": self.tick_us_max,
                "tick_gc_us_median": self.percentile_us(self.with_gc, 50),
                "tick_gc_us_p99": self.percentile_us(self.with_gc, 99),
                "gc_us_max": self.gc_us_max, "alloc_bytes_per_tick_max": self.alloc_bytes_max,
                "heap_sample_ticks": self.sample_ticks}



def order_modules():
    """Hand the collector the firmware's modules in order from now on: once they are all loaded, before
    the first collection of the run (Controller.run)."""
    global _marking_order
    _marking_order = marking_order(sys.modules)


def marking_order(modules):
    """The loaded modules (sys.modules) as a chain of pairs (rest, module), each module after the loaded
    modules its globals hold: the collector marks a pair's module (pushed last) before the rest. Made
    once, in lists of the modules' number made at their full length at once: a list grown by appending
    asks for a block twice the size it had when it fills, and on the heap the import left broken up a
    board 2 KiB short of its heap once found none for 64 entries, and booted into safe mode."""
    module_type = type(sys)
    loaded = [m for m in modules.values() if type(m) is module_type]
    order: list = [None] * len(loaded)
    placing: list = [None] * len(loaded)
    for m in loaded:
        _place(m, module_type, loaded, order, placing)
    chain: tuple = ()
    for m in reversed(order):
        if m is not None:  # (a module sys.modules names twice is placed once: CPython's os.path)
            chain = (chain, m)
    return chain


def _holds(items, wanted):
    for item in items:
        if item is wanted:
            return True
    return False


def _place(module, module_type, loaded, order, placing):
    """Put module in order's next free entry (None) after the loaded modules its globals hold; an import
    cycle ends at a module already being placed (in placing)."""
    if _holds(order, module) or _holds(placing, module):
        return
    placing[placing.index(None)] = module
    for value in module.__dict__.values():
        if type(value) is module_type and _holds(loaded, value):
            _place(value, module_type, loaded, order, placing)
    order[order.index(None)] = module
