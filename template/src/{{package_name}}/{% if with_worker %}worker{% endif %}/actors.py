"""Dramatiq's entry point for `<slug> worker`: the broker, the actors, and the app they use.

Each worker process builds the application (`create_app`) and runs its lifespan on an event
loop thread, so a task uses exactly what an API request uses: the gateway with its retries,
circuit breakers and limits, the request log, the event bus (whose dispatcher then also runs in
the workers, spreading event delivery across instances). Besides `run_task`, the workers run
the actors modules declare in their manifests (`core/actors.py`).
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack

import dramatiq
from dramatiq import Broker, Worker
from dramatiq.asyncio import EventLoopThread, get_event_loop_thread, set_event_loop_thread
from dramatiq.middleware import Middleware
from fastapi import FastAPI

from ..app import create_app
from ..core.plugins import discover_modules
from ..modules.tasks.runner import execute_task
from .broker import QUEUE, RUN_TASK, build_broker
from .connection import redis_client
from .dispatch import register_actors
from .settings import get_worker_settings

_LOOP_START_TIMEOUT_S = 5.0


class AppRuntime(Middleware):
    """Runs an event loop thread for the async actors, and the application inside it."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None
        self._stack = AsyncExitStack()

    def before_worker_boot(self, broker: Broker, worker: Worker) -> None:
        """Start the loop and the application before any message is taken."""
        thread = EventLoopThread(logging.getLogger(__name__))
        thread.start(timeout=_LOOP_START_TIMEOUT_S)
        set_event_loop_thread(thread)
        thread.run_coroutine(self._start())

    def after_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        """Stop the application (flushing the request log), then the loop."""
        thread = get_event_loop_thread()
        if thread is None:
            return
        thread.run_coroutine(self._stack.aclose())
        thread.loop.call_soon_threadsafe(thread.loop.stop)
        thread.join()
        set_event_loop_thread(None)

    async def _start(self) -> None:
        app = create_app()
        await self._stack.enter_async_context(app.router.lifespan_context(app))
        self.app = app

    def require_app(self) -> FastAPI:
        """The running application."""
        if self.app is None:
            raise RuntimeError("the worker's application has not started")
        return self.app


runtime = AppRuntime()
settings = get_worker_settings()
broker = build_broker(settings, redis_client(settings), [runtime])
dramatiq.set_broker(broker)
module_actors = register_actors(broker, discover_modules(), runtime.require_app)


@dramatiq.actor(actor_name=RUN_TASK, queue_name=QUEUE)
async def run_task(task_id: str) -> None:
    """Run one background task; its state and retries live in PostgreSQL (`modules/tasks`)."""
    await execute_task(runtime.require_app(), task_id)
