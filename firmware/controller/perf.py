"""What the control tick costs on this processor, and the heap it leaves, measured by the firmware itself
(diagnostics reports both); and the one place garbage is collected."""
import gc
from array import array


class Perf:
    """What the control tick costs on this processor: histograms (50 us buckets) of the tick alone and
    of the tick plus its collection, the longest of each, and the most bytes one tick allocated. No
    allocation."""

    BUCKET_US = 50
    BUCKETS = 200  # the last bucket holds everything from 9.95 ms up

    def __init__(self):
        self.histogram = array("i", bytes(4 * self.BUCKETS))
        self.with_gc = array("i", bytes(4 * self.BUCKETS))
        self.ticks = 0
        self.tick_us_max = 0
        self.gc_us_max = 0
        self.alloc_bytes_max = 0
        # Heap figures (MicroPython only): the peak before each collection and what survives it.
        self.mem_alloc = getattr(gc, "mem_alloc", None)
        self.heap_peak_bytes = 0
        self.heap_live_bytes = 0

    def heap_used(self):
        return self.mem_alloc() if self.mem_alloc is not None else 0

    def collect(self):
        """Collect at the same point of every tick (and after every reply), so collection never
        interrupts the control step. Only MicroPython's heap needs it: CPython, which runs the same
        code in tests and benchmarks, frees by reference counting and has no heap cap."""
        mem_alloc = self.mem_alloc
        if mem_alloc is None:
            return
        used = mem_alloc()
        if used > self.heap_peak_bytes:
            self.heap_peak_bytes = used
        gc.collect()
        self.heap_live_bytes = mem_alloc()

    def add(self, tick_us, gc_us, alloc_bytes):
        bucket = tick_us // self.BUCKET_US
        if bucket >= self.BUCKETS:
            bucket = self.BUCKETS - 1
        self.histogram[bucket] += 1
        bucket = (tick_us + gc_us) // self.BUCKET_US
        if bucket >= self.BUCKETS:
            bucket = self.BUCKETS - 1
        self.with_gc[bucket] += 1
        self.ticks += 1
        if tick_us > self.tick_us_max:
            self.tick_us_max = tick_us
        if gc_us > self.gc_us_max:
            self.gc_us_max = gc_us
        if alloc_bytes > self.alloc_bytes_max:
            self.alloc_bytes_max = alloc_bytes

    def percentile_us(self, histogram, share_pct):
        """Upper edge of the bucket holding this share of the ticks."""
        wanted = (self.ticks * share_pct + 99) // 100
        seen = 0
        for i in range(self.BUCKETS):
            seen += histogram[i]
            if seen >= wanted and self.ticks:
                return (i + 1) * self.BUCKET_US
        return 0

    def as_dict(self):
        return {"ticks": self.ticks,
                "tick_us_median": self.percentile_us(self.histogram, 50),
                "tick_us_p99": self.percentile_us(self.histogram, 99),
                "tick_us_max": self.tick_us_max,
                "tick_gc_us_median": self.percentile_us(self.with_gc, 50),
                "tick_gc_us_p99": self.percentile_us(self.with_gc, 99),
                "gc_us_max": self.gc_us_max, "alloc_bytes_per_tick_max": self.alloc_bytes_max}
