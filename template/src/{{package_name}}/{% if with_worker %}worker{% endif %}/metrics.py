"""Task queue metrics (docs/worker.md), plus the fallback to inline processing.

Gauges name how `<slug> worker` combines its processes' values (Prometheus multiprocess mode;
the supervisor process never sets them, so only what worker processes set last counts).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

TASK_QUEUE_DEPTH = Gauge(
    "task_queue_depth",
    "Tasks waiting in Redis for a worker.",
    ["queue"],
    multiprocess_mode="livemostrecent",
)
TASK_DURATION = Histogram(
    "task_duration_seconds",
    "Time to run one attempt of a task, by kind.",
    ["task_type"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0),
)
TASK_FAILURES = Counter(
    "task_failures_total",
    "Tasks that failed for good, by kind and reason.",
    ["task_type", "reason"],
)
TASK_SUBMISSIONS = Counter(
    "task_submissions_total",
    "Task submissions by how they ran: queued for a worker, or inline (Redis unavailable).",
    ["mode"],
)
TASK_QUEUE_AVAILABLE = Gauge(
    "task_queue_available",
    "1 while Redis takes tasks; 0 while submissions are processed inline by the API.",
    multiprocess_mode="livemostrecent",
)
