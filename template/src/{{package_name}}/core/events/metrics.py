"""Event bus metrics (listed in docs/operations.md)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

EVENTS_PUBLISHED = Counter(
    "events_published_total",
    "Events published (counted when their transaction commits).",
    ["event_type"],
)
EVENTS_DROPPED = Counter(
    "events_dropped_total",
    "Events from emit_soon dropped unwritten: the database was away and the buffer full.",
    ["event_type"],
)
EVENTS_PROCESSED = Counter(
    "events_processed_total",
    "Event delivery attempts by outcome: processed, retrying, or failed (gave up).",
    ["event_type", "status"],
)
EVENT_LAG = Gauge(
    "event_processing_lag_seconds",
    "Age of the oldest event not yet processed (0 when none).",
    multiprocess_mode="livemax",
)
