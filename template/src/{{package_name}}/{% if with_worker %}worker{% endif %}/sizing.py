"""The background worker's part of the capacity figures: its processes and the queue's memory."""

from __future__ import annotations

import math

from ..modules.sizing.calculator import (
    DAILY_AVERAGE_TO_PEAK,
    HEADROOM,
    Recommendation,
    SizingInput,
    counted,
    seconds,
)

# Tasks a worker process runs at once (`<slug> worker --threads`, default 8).
WORKER_THREADS = 8
# Redis: a queued task with its payload and bookkeeping, and a kept result, in bytes.
BYTES_PER_QUEUED_TASK = 4_000
BYTES_PER_TASK_RESULT = 2_000
REDIS_BASE_MB = 64


def worker_recommendations(load: SizingInput) -> list[Recommendation]:
    """The background worker's processes and Redis's memory."""
    per_second = load.background_tasks_per_minute / 60
    running = max(1, math.ceil(per_second * load.average_call_seconds * HEADROOM))
    processes = max(1, math.ceil(running / WORKER_THREADS))
    # Tasks waiting through a one-minute burst, and every result kept for its time.
    queued = load.background_tasks_per_minute
    kept = load.background_tasks_per_minute * 60 * load.task_result_hours * DAILY_AVERAGE_TO_PEAK
    redis_mb = REDIS_BASE_MB + (queued * BYTES_PER_QUEUED_TASK + kept * BYTES_PER_TASK_RESULT) / 1e6
    return [
        Recommendation(
            key="worker_processes",
            label="Background worker processes",
            value=processes,
            unit="processes",
            reason=f"{counted(running, 'task', 'tasks')} running at the busiest time "
            f"({per_second:.3g} a second, each lasting {seconds(load.average_call_seconds)}, "
            f"plus {int((HEADROOM - 1) * 100)}% to spare); each process runs "
            f"{WORKER_THREADS} at once",
            setting="worker --processes (with --threads 8)",
        ),
        Recommendation(
            key="redis_memory_mb",
            label="Memory for the task queue",
            value=math.ceil(redis_mb),
            unit="MB",
            reason=f"{REDIS_BASE_MB} MB to start with, plus the tasks of a busy minute waiting "
            f"and the results kept for {counted(load.task_result_hours, 'hour', 'hours')}",
            setting="Redis maxmemory (results expire after TASK_RESULT_TTL_HOURS)",
        ),
    ]
