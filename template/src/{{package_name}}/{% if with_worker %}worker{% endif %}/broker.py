"""The Dramatiq broker on Redis and the message that starts a background task.

Task state lives in PostgreSQL; a message only says "run task <id>", so a lost or duplicated
message never loses or duplicates a result (see `modules/tasks`).
"""

from __future__ import annotations

import redis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware

from .settings import WorkerSettings

QUEUE = "tasks"
RUN_TASK = "run_task"


def build_broker(
    settings: WorkerSettings, client: redis.Redis, middleware: list[Middleware] | None = None
) -> RedisBroker:
    """A broker on `client`, its keys under REDIS_NAMESPACE; no middleware unless given."""
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        client=client, namespace=settings.redis_namespace, middleware=middleware or []
    )
    broker.declare_queue(QUEUE)
    return broker


def run_task_message(task_id: str) -> Message[None]:
    """The message a worker turns into `run_task(task_id)`."""
    return Message(queue_name=QUEUE, actor_name=RUN_TASK, args=(task_id,), kwargs={}, options={})


def queue_key(settings: WorkerSettings, queue: str = QUEUE) -> str:
    """The Redis list of message ids waiting in a queue (Dramatiq's layout)."""
    return f"{settings.redis_namespace}:{queue}"


def messages_key(settings: WorkerSettings, queue: str = QUEUE) -> str:
    """The Redis hash of a queue's queued and unacknowledged messages (Dramatiq's layout)."""
    return f"{queue_key(settings, queue)}.msgs"
