"""The tasks module at run time: the queue, the Redis readiness check, the monitor loop.

While it runs, module actors (`Actor.send`) go to the workers through Redis too.

The monitor runs in every API instance and worker process. Each pass it checks Redis (and so
turns inline processing on or off), queues again runs whose worker died, sends due tasks that
have no message in Redis (never sent, lost in a failover, or due for a retry), and now and then
deletes results past TASK_RESULT_TTL_HOURS. Row locks (`SKIP LOCKED`) keep instances apart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from loguru import logger

from ...core.aio import cancel_and_wait
from ...core.events import EventBus
from ...core.health import ReadinessCheck
from ...worker.dispatch import QueueDispatcher
from ...worker.metrics import TASK_FAILURES
from ...worker.notifier import RedisEventNotifier
from ...worker.queue import TaskQueue
from ...worker.settings import WorkerSettings, get_worker_settings
from . import service

_PURGE_EVERY_S = 3600.0


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the queue and run the monitor; close both at shutdown.

    `app.state.worker_settings`, when set before start-up, replaces the `REDIS_*` and
    `TASK_*` environment (tests use it to point at their own Redis).
    """
    settings: WorkerSettings = getattr(app.state, "worker_settings", None) or get_worker_settings()
    settings.validate_for_start()
    app.state.worker_settings = settings
    queue = TaskQueue(settings)
    app.state.task_queue = queue
    bus: EventBus = app.state.event_bus
    notifier = RedisEventNotifier(queue.redis, settings.redis_namespace)
    bus.add_notifier(notifier)
    await queue.check()
    inline = app.state.actor_dispatcher
    app.state.actor_dispatcher = QueueDispatcher(queue, inline)
    monitor = asyncio.create_task(_monitor(app, queue, settings), name="task-monitor")
    try:
        yield
    finally:
        app.state.actor_dispatcher = inline
        await cancel_and_wait([monitor])
        await bus.remove_notifier(notifier)
        await queue.close()


async def monitor_once(app: FastAPI, queue: TaskQueue, settings: WorkerSettings) -> None:
    """One pass of the monitor (see the module docstring)."""
    if not await queue.check():
        return
    database, bus = app.state.database, app.state.event_bus
    for task in await service.recover_abandoned(
        database, bus, max_attempts=settings.task_max_attempts
    ):
        TASK_FAILURES.labels(task.kind.value, service.WORKER_LOST).inc()
    await service.send_due(database, queue, recheck_s=settings.task_lease_s)


async def _monitor(app: FastAPI, queue: TaskQueue, settings: WorkerSettings) -> None:
    purged_at = float("-inf")
    failing = False
    while True:
        try:
            await monitor_once(app, queue, settings)
            if time.monotonic() - purged_at >= _PURGE_EVERY_S:
                await service.purge_expired(
                    app.state.database, ttl_hours=settings.task_result_ttl_hours
                )
                purged_at = time.monotonic()
        except Exception as exc:  # the database is away: say it once, keep trying
            if not failing:
                logger.warning("task monitor cannot do its rounds: {}", exc)
            failing = True
        else:
            failing = False
        await asyncio.sleep(settings.task_monitor_interval_s)


async def _redis_ready(request: Request) -> str | None:
    queue: TaskQueue = request.app.state.task_queue
    await queue.check()
    return queue.problem


def setup(app: FastAPI) -> None:
    """Report Redis on the readiness page; the API serves (inline) without it."""
    app.state.readiness_checks.append(ReadinessCheck("redis", _redis_ready, critical=False))
