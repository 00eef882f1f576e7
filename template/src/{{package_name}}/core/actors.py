"""Module actors: background jobs a module declares in its manifest.

    @actor("billing.send_invoice")                 # "<module>.<job>"
    async def send_invoice(app: FastAPI, invoice_id: int) -> None: ...

    manifest = ModuleManifest(name="billing", actors=[send_invoice], ...)

    await send_invoice.send(request.app, invoice_id=42)   # returns at once

With the worker on, `send` queues a message and a worker process runs the job; without the
worker, or while its queue is away, this process runs it in the background. Either way a
failing run is tried again with exponential backoff, up to `max_retries` times, and each run is
counted in `actor_runs_total{actor,status}`. Arguments travel as JSON, so they are checked on
`send`. A job should be idempotent: a worker that dies mid-run leaves its message to another.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, Protocol

from fastapi import FastAPI
from loguru import logger
from prometheus_client import Counter, Histogram

P = ParamSpec("P")
ACTOR_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
DEFAULT_QUEUE = "default"
_MAX_RETRY_DELAY_S = 300.0

ACTOR_RUNS = Counter(
    "actor_runs_total",
    "Runs of module actors (success, retry: failed and tried again, failed: gave up).",
    ["actor", "status"],
)
ACTOR_DURATION = Histogram(
    "actor_run_duration_seconds",
    "Time one run of a module actor took.",
    ["actor"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0),
)


@dataclass(frozen=True)
class Actor(Generic[P]):
    """A background job: `await job.send(app, ...)` to run it later, elsewhere or here."""

    name: str
    fn: Callable[Concatenate[FastAPI, P], Awaitable[None]]
    queue: str = DEFAULT_QUEUE
    max_retries: int = 3
    retry_base_delay_s: float = 1.0

    async def send(self, app: FastAPI, *args: P.args, **kwargs: P.kwargs) -> None:
        """Hand the job over; it runs after this returns (see the module docstring)."""
        try:
            json.dumps([args, kwargs])
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"actor {self.name!r}: arguments must be JSON values (ids, strings, numbers, "
                f"lists, dicts), since they travel through the worker's queue: {exc}"
            ) from exc
        dispatcher: ActorDispatcher = app.state.actor_dispatcher
        await dispatcher.send(self, args, dict(kwargs))

    async def __call__(self, app: FastAPI, *args: P.args, **kwargs: P.kwargs) -> None:
        """Run the job now, in this task, once (no retries): for tests and scripts."""
        await self.fn(app, *args, **kwargs)


def actor(
    name: str, *, queue: str = DEFAULT_QUEUE, max_retries: int = 3, retry_base_delay_s: float = 1.0
) -> Callable[[Callable[Concatenate[FastAPI, P], Awaitable[None]]], Actor[P]]:
    """Make an async function `fn(app, ...)` a module actor named "<module>.<job>"."""
    if not ACTOR_NAME.match(name):
        raise ValueError(f"actor name {name!r} must look like 'module.job' (lowercase, digits, _)")
    if max_retries < 0 or retry_base_delay_s < 0:
        raise ValueError(f"actor {name!r}: max_retries and retry_base_delay_s must be >= 0")

    def wrap(fn: Callable[Concatenate[FastAPI, P], Awaitable[None]]) -> Actor[P]:
        return Actor(name, fn, queue, max_retries, retry_base_delay_s)

    return wrap


class ActorDispatcher(Protocol):
    """Where `Actor.send` hands jobs: this process, or the workers' queue."""

    async def send(self, actor: Actor[Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Arrange for one run of `actor(app, *args, **kwargs)`."""


def retry_delay(actor: Actor[Any], attempt: int) -> float:
    """Exponential backoff with full jitter before try number `attempt + 1`."""
    ceiling = min(actor.retry_base_delay_s * 2**attempt, _MAX_RETRY_DELAY_S)
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret


async def run_actor(
    actor: Actor[Any], app: FastAPI, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> bool:
    """Run a job to success or until its retries are used up; True when it succeeded."""
    log = logger.bind(actor=actor.name)
    for attempt in range(actor.max_retries + 1):
        started = time.perf_counter()
        try:
            await actor.fn(app, *args, **kwargs)
        except Exception as exc:
            ACTOR_DURATION.labels(actor.name).observe(time.perf_counter() - started)
            if attempt == actor.max_retries:
                ACTOR_RUNS.labels(actor.name, "failed").inc()
                log.opt(exception=exc).error(
                    f"Actor {actor.name!r} failed {attempt + 1} time(s) and gives up: {exc}"
                )
                return False
            ACTOR_RUNS.labels(actor.name, "retry").inc()
            delay = retry_delay(actor, attempt)
            log.warning(f"Actor {actor.name!r} failed ({exc}); trying again in {delay:.1f} s")
            await asyncio.sleep(delay)
        else:
            ACTOR_DURATION.labels(actor.name).observe(time.perf_counter() - started)
            ACTOR_RUNS.labels(actor.name, "success").inc()
            return True
    return False


class InlineDispatcher:
    """Runs jobs in this process, in the background (no worker, or its queue away)."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._running: set[asyncio.Task[bool]] = set()

    @property
    def pending(self) -> int:
        """Jobs started here and not finished yet."""
        return len(self._running)

    async def send(self, actor: Actor[Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Start the job now, next to the caller."""
        task = asyncio.get_running_loop().create_task(
            run_actor(actor, self._app, args, kwargs), name=f"actor {actor.name}"
        )
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def drain(self, within_s: float) -> None:
        """Wait until no job runs here (jobs may send more); TimeoutError after `within_s`."""
        async with asyncio.timeout(within_s):
            while self._running:
                await asyncio.wait(set(self._running))

    async def stop(self, grace_s: float) -> None:
        """Let running jobs finish for `grace_s`, then stop the rest (and say which)."""
        try:
            await self.drain(grace_s)
        except TimeoutError:
            names = sorted(task.get_name() for task in self._running)
            logger.warning(f"Stopping {len(names)} unfinished background job(s): {names}")
            for task in list(self._running):
                task.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)

    @asynccontextmanager
    async def running(self, grace_s: float = 10.0) -> AsyncIterator[InlineDispatcher]:
        """At exit, `stop(grace_s)`."""
        try:
            yield self
        finally:
            await self.stop(grace_s)
