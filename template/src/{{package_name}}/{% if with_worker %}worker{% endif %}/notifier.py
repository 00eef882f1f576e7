"""Event-bus wake-ups across processes over Redis pub/sub.

The outbox in PostgreSQL stays the source of truth (every dispatcher also polls it): these
messages only make other instances and the workers pick new events up at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress

import redis.asyncio
from loguru import logger

from .queue import REDIS_ERRORS

_RECONNECT_DELAY_S = 1.0
_READ_TIMEOUT_S = 5.0


class RedisEventNotifier:
    """Publishes "events are waiting" and wakes the local dispatcher when others do."""

    def __init__(self, client: redis.asyncio.Redis, namespace: str) -> None:
        self._client = client
        self._channel = f"{namespace}:events"

    async def notify(self) -> None:
        """Tell the other processes; when Redis is away they find the events by polling."""
        with suppress(*REDIS_ERRORS):
            await self._client.publish(self._channel, b"1")

    async def listen(self, wake: Callable[[], None]) -> None:
        """Call `wake` for every notification; reconnects until cancelled."""
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    while True:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=_READ_TIMEOUT_S
                        )
                        if message is not None:
                            wake()
            except REDIS_ERRORS as exc:
                logger.debug("event wake-ups paused, Redis unreachable: {}", exc)
                await asyncio.sleep(_RECONNECT_DELAY_S)
