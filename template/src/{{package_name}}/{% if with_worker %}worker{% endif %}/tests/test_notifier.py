"""The Redis wake-up listener stops when asked, however its cancellation is timed.

redis-py writes to its socket through `asyncio.wait_for`, which on Python 3.11 can drop a
cancellation; a listener removed at such a moment ran on, and the app's shutdown waited for it
for ever. Removal is tried here at many moments; every one must end.
"""

from __future__ import annotations

import asyncio
import itertools
import time

from fastapi import FastAPI

from ...core.events import EventBus
from ..notifier import RedisEventNotifier
from ..queue import TaskQueue
from ..settings import WorkerSettings


async def test_a_removed_listener_stops_whenever_it_is_removed(app: FastAPI) -> None:
    bus: EventBus = app.state.event_bus
    queue: TaskQueue = app.state.task_queue
    settings: WorkerSettings = app.state.worker_settings
    delays = itertools.cycle([0, 0.001, 0.002, 0.003, 0.005])
    longest = 0.0
    for delay in itertools.islice(delays, 300):
        notifier = RedisEventNotifier(queue.redis, f"{settings.redis_namespace}-probe")
        bus.add_notifier(notifier)
        await asyncio.sleep(delay)
        started = time.monotonic()
        await bus.remove_notifier(notifier)
        longest = max(longest, time.monotonic() - started)
    assert longest < 5, f"removing a listener took {longest:.1f} s"
