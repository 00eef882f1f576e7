"""Module actors with the worker on: jobs go through Redis to the worker processes.

`Actor.send` in the API (and in workers, for jobs that send jobs) goes to `QueueDispatcher`,
installed by the tasks module while it runs. While Redis is away a job runs in this process
instead, as task submissions do, so no job is lost for want of a queue. `register_actors` makes
every module's actors known to the workers' broker.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import dramatiq
from dramatiq import Broker, Message
from fastapi import FastAPI
from loguru import logger

from ..core.actors import Actor, ActorDispatcher, run_actor
from ..core.plugins import ModuleManifest
from .queue import QueueUnavailableError, TaskQueue


def actor_message(job: Actor[Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Message[Any]:
    """The Dramatiq message that asks a worker for one run of `job`."""
    return Message(queue_name=job.queue, actor_name=job.name, args=args, kwargs=kwargs, options={})


class QueueDispatcher:
    """Sends jobs to the workers; runs them here (`inline`) while Redis is away."""

    def __init__(self, queue: TaskQueue, inline: ActorDispatcher) -> None:
        self.queue = queue
        self.inline = inline

    async def send(self, actor: Actor[Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Queue the job, or start it here when Redis cannot take it."""
        try:
            await self.queue.send(actor_message(actor, args, kwargs))
        except QueueUnavailableError as exc:
            logger.bind(actor=actor.name).warning(f"Running {actor.name!r} in this process: {exc}")
            await self.inline.send(actor, args, kwargs)


def _runner(
    job: Actor[Any], app: Callable[[], FastAPI]
) -> Callable[..., Coroutine[Any, Any, None]]:
    async def run(*args: Any, **kwargs: Any) -> None:
        # Retries happen inside (backoff, max_retries); the message is acknowledged after.
        await run_actor(job, app(), args, kwargs)

    run.__name__ = job.name.replace(".", "__")
    return run


def register_actors(
    broker: Broker, modules: Iterable[ModuleManifest], app: Callable[[], FastAPI]
) -> list[str]:
    """Declare every module actor on `broker`; `app()` gives the worker's running app."""
    names = []
    for manifest in modules:
        for job in manifest.actors:
            declare = dramatiq.actor(actor_name=job.name, queue_name=job.queue, broker=broker)
            declare(_runner(job, app))
            names.append(job.name)
    return names
