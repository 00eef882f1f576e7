"""Fixed latency buckets: how roll-ups keep percentiles without keeping every duration.

Bucket `i` holds calls with `LATENCY_BOUNDS_MS[i-1] <= duration_ms < LATENCY_BOUNDS_MS[i]`
(bucket 0 starts at 0, the last one has no upper bound): PostgreSQL's `width_bucket`.
Changing the bounds changes the meaning of stored roll-ups: it needs a migration that
rebuilds them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

# Roughly 25-35 % wide from 200 ms to 5 minutes: where LLM answers land.
LATENCY_BOUNDS_MS: tuple[int, ...] = (
    25, 50, 100, 200, 300, 400, 500, 750, 1_000, 1_250, 1_500, 2_000, 2_500, 3_000, 4_000,
    5_000, 6_000, 8_000, 10_000, 12_500, 15_000, 20_000, 25_000, 30_000, 40_000, 50_000,
    60_000, 90_000, 120_000, 180_000, 300_000,
)  # fmt: skip
BUCKET_COUNT = len(LATENCY_BOUNDS_MS) + 1


def bucket_of(duration_ms: int) -> int:
    """Index of the bucket holding `duration_ms` (same as `width_bucket` in SQL)."""
    return bisect_right(LATENCY_BOUNDS_MS, duration_ms)


def bucket_range(index: int) -> tuple[int, int | None]:
    """Lower (inclusive) and upper (exclusive, None for the last) bound of a bucket."""
    lower = LATENCY_BOUNDS_MS[index - 1] if index > 0 else 0
    upper = LATENCY_BOUNDS_MS[index] if index < len(LATENCY_BOUNDS_MS) else None
    return lower, upper


def percentile(histogram: Sequence[int], quantile: float, max_ms: int) -> int | None:
    """Estimate a percentile (0 < quantile <= 1) from bucket counts, in milliseconds.

    Interpolates linearly inside the bucket that holds the rank; the slowest call seen
    (`max_ms`) caps the estimate and closes the open-ended last bucket. None with no calls.
    """
    total = sum(histogram)
    if total == 0:
        return None
    rank = quantile * total
    seen = 0
    for index, count in enumerate(histogram):
        if count and seen + count >= rank:
            lower, upper = bucket_range(index)
            top = max_ms if upper is None else min(upper, max_ms)
            fraction = (rank - seen) / count
            return min(round(lower + fraction * max(top - lower, 0)), max_ms)
        seen += count
    return max_ms
