"""What the control tick costs on this processor, measured by the firmware itself (status reports it)."""
from array import array


class Perf:
    """What the control tick costs on this processor: histograms (50 us buckets) of the tick alone and
    of the tick plus its collection, the longest of each, and the most bytes one tick allocated. No
    allocation."""

    BUCKET_US = 50
    BUCKETS = 200  # the last bucket holds everything from 9.95 ms up

    def __init__(self):
        self.histogram = array("i", [0] * self.BUCKETS)
        self.with_gc = array("i", [0] * self.BUCKETS)
        self.ticks = 0
        self.tick_us_max = 0
        self.gc_us_max = 0
        self.alloc_bytes_max = 0

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
