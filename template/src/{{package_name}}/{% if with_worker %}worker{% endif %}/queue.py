"""The task queue as the API and the workers see it: hand-off, Redis health, progress.

Redis being away is an expected state, not an error: `available` turns False, submissions are
processed inline by the API (see `modules/tasks`), and the monitor turns it back on as soon as
Redis answers again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import redis
import redis.asyncio
from dramatiq import Message
from dramatiq.errors import BrokerConnectionError
from loguru import logger
from redis.asyncio.client import PubSub

from .broker import QUEUE, build_broker, messages_key, queue_key, run_task_message
from .connection import async_redis_client, redis_client
from .metrics import TASK_QUEUE_AVAILABLE, TASK_QUEUE_DEPTH
from .settings import WorkerSettings

# What a lost or refused Redis connection looks like, through Dramatiq or redis-py.
REDIS_ERRORS = (redis.RedisError, BrokerConnectionError, OSError)


class QueueUnavailableError(RuntimeError):
    """Redis cannot take the task now; the message says why in plain words."""


class TaskQueue:
    """Hands tasks to the workers through Redis and carries their progress back."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self._broker = build_broker(settings, redis_client(settings))
        self.redis: redis.asyncio.Redis = async_redis_client(settings)
        self.available = True
        self.problem: str | None = None
        TASK_QUEUE_AVAILABLE.set(1)

    async def enqueue(self, task_id: str) -> str:
        """Send `run_task(task_id)` to the workers; returns the Redis id of the message."""
        return await self.send(run_task_message(task_id))

    async def send(self, message: Message[Any]) -> str:
        """Put a message on its queue for the workers; returns its Redis id."""
        if not self.available:
            raise QueueUnavailableError(self.problem or "Redis is unavailable")
        try:
            message = await asyncio.to_thread(self._broker.enqueue, message)
        except REDIS_ERRORS as exc:
            self._went_away(exc)
            raise QueueUnavailableError(self.problem or "Redis is unavailable") from exc
        message_id: str = message.options["redis_message_id"]
        return message_id

    async def holds(self, message_id: str) -> bool:
        """Whether the message is still in Redis (waiting, or taken but not yet finished)."""
        return bool(await self.redis.hexists(messages_key(self.settings), message_id))

    async def check(self) -> bool:
        """Ping Redis, update `available` (and its metric), and measure the queue depth."""
        try:
            await self.redis.ping()
            depth = await self.redis.llen(queue_key(self.settings))
        except REDIS_ERRORS as exc:
            self._went_away(exc)
            return False
        TASK_QUEUE_DEPTH.labels(QUEUE).set(depth)
        if not self.available:
            logger.info("{} answers again: tasks go to the workers", self.settings.describe())
        self.available, self.problem = True, None
        TASK_QUEUE_AVAILABLE.set(1)
        return True

    def _went_away(self, exc: BaseException) -> None:
        problem = (
            f"{self.settings.describe()} cannot be reached ({type(exc).__name__}: {exc}); "
            "task submissions are processed inline by the API until it answers again"
        )
        if self.available:
            logger.warning(problem)
        self.available, self.problem = False, problem
        TASK_QUEUE_AVAILABLE.set(0)

    # --- progress ------------------------------------------------------------------------

    def _channel(self, task_id: str) -> str:
        return f"{self.settings.redis_namespace}:task:{task_id}"

    async def publish(self, task_id: str, event: str, data: dict[str, Any]) -> None:
        """Announce progress of a task to its listeners; best effort (never raises)."""
        if not self.available:
            return
        payload = json.dumps({"event": event, "data": data}, default=str)
        with suppress(*REDIS_ERRORS):
            await self.redis.publish(self._channel(task_id), payload)

    @asynccontextmanager
    async def listen(self, task_id: str) -> AsyncIterator[ProgressListener]:
        """Progress messages of one task while the context is open."""
        pubsub = self.redis.pubsub()
        try:
            await pubsub.subscribe(self._channel(task_id))
            yield ProgressListener(pubsub)
        finally:
            with suppress(*REDIS_ERRORS):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        """Close the connections."""
        with suppress(*REDIS_ERRORS):
            await self.redis.aclose()
        await asyncio.to_thread(self._broker.close)


class ProgressListener:
    """Progress messages of one task, as (event, data) pairs."""

    def __init__(self, pubsub: PubSub) -> None:
        self._pubsub = pubsub

    async def next(self, timeout_s: float) -> tuple[str, dict[str, Any]] | None:
        """The next message within `timeout_s`, or None."""
        message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout_s)
        if message is None or message.get("type") != "message":
            return None
        decoded = json.loads(message["data"])
        return str(decoded["event"]), dict(decoded["data"])
