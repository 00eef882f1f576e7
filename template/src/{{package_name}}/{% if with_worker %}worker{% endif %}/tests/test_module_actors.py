"""Module actors with the worker on: messages on Redis for the workers; inline while it is away."""

from __future__ import annotations

import json
import socket

from fastapi import FastAPI

from ...core.actors import InlineDispatcher, actor
from ..broker import messages_key, queue_key
from ..dispatch import QueueDispatcher
from ..queue import TaskQueue
from ..settings import WorkerSettings

seen: list[int] = []


@actor("tests.probe", queue="tests_probe", max_retries=0)
async def probe(app: FastAPI, number: int) -> None:
    seen.append(number)


async def test_a_job_sent_by_the_api_waits_in_redis_for_a_worker(app: FastAPI) -> None:
    assert isinstance(app.state.actor_dispatcher, QueueDispatcher)
    queue: TaskQueue = app.state.task_queue
    settings: WorkerSettings = app.state.worker_settings
    waiting, stored = queue_key(settings, probe.queue), messages_key(settings, probe.queue)
    try:
        await probe.send(app, 7)
        [message_id] = await queue.redis.lrange(waiting, 0, -1)  # type: ignore[misc]
        message = json.loads(await queue.redis.hget(stored, message_id))  # type: ignore[misc]
        assert (message["actor_name"], message["args"]) == ("tests.probe", [7])
        assert seen == []  # nothing ran here: the job is the workers'
    finally:
        await queue.redis.delete(waiting, stored)


async def test_while_redis_is_away_jobs_run_in_the_api(app: FastAPI) -> None:
    with socket.socket() as sock:  # a loopback port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = app.state.worker_settings.model_copy(update={"redis_port": port})
    queue = TaskQueue(settings)
    inline = InlineDispatcher(app)
    try:
        await QueueDispatcher(queue, inline).send(probe, (8,), {})
        await inline.drain(within_s=5)
    finally:
        await queue.close()
    assert seen[-1] == 8
    assert not queue.available
