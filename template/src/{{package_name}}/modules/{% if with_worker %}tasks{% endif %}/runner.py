"""Running one task: claim it, call HiAgent through the gateway, write the one result.

The same code runs in a worker (the Dramatiq actor) and, while Redis is unavailable, in the
API itself (inline). It goes through the process's gateway, so retries, circuit breakers,
concurrency limits and the request log apply exactly as for `/invoke`; the request log and the
`tasks.finished` event carry the task's correlation id.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from loguru import logger
from sqlalchemy.exc import DBAPIError

from ...core.aio import cancel_and_wait
from ...core.context import correlation_id_var
from ...core.db import Database
from ...core.errors import AppError
from ...worker.metrics import TASK_DURATION, TASK_FAILURES
from ...worker.queue import TaskQueue
from ...worker.settings import WorkerSettings
from ..gateway.errors import GatewayError
from ..gateway.schemas import InvokeRequest, WorkflowRunRequest, parsed_output
from ..gateway.service import Gateway
from . import service
from .models import Task, TaskKind, TaskStatus

# How task calls appear in the request log: the route they were submitted through.
ENDPOINTS = {
    TaskKind.AGENT: "/api/v1/agents/{name_or_id}/tasks",
    TaskKind.WORKFLOW: "/api/v1/workflows/{name}/tasks",
}


@dataclass(frozen=True)
class Failure:
    """Why a run failed, and whether another attempt could succeed."""

    reason: str
    message: str
    retryable: bool


def classify(exc: BaseException) -> Failure:
    """Retry what may pass (HiAgent busy or unreachable, the database away), nothing else."""
    if isinstance(exc, GatewayError):
        cause = exc.cause
        # A chat message or workflow run is not idempotent: retry only what did not start.
        return Failure(cause.error_type.value, cause.message, cause.retryable(idempotent=False))
    if isinstance(exc, AppError):
        return Failure(exc.code, exc.message, retryable=False)
    if isinstance(exc, DBAPIError | OSError):
        return Failure("database_unavailable", f"the database could not be used: {exc}", True)
    return Failure("internal_error", f"unexpected error: {type(exc).__name__}: {exc}", False)


@dataclass(frozen=True)
class _Services:
    database: Database
    gateway: Gateway
    queue: TaskQueue
    settings: WorkerSettings


def _services(app: FastAPI) -> _Services:
    state = app.state
    return _Services(state.database, state.gateway, state.task_queue, state.worker_settings)


async def execute_task(app: FastAPI, task_id: str) -> TaskStatus | None:
    """Run the task once if it is due; returns where it stands, or None if not ours to run."""
    services = _services(app)
    task = await service.claim(services.database, task_id, services.settings.task_lease_s)
    if task is None:
        return None
    token = correlation_id_var.set(task.correlation_id)
    started = time.perf_counter()
    try:
        await services.queue.publish(task.id, "status", {"status": TaskStatus.RUNNING})
        limit = asyncio.timeout(services.settings.task_time_limit_s)
        try:
            async with _leased(services, task), limit:
                result = await _perform(services, task)
        except Exception as exc:
            if limit.expired():
                seconds = services.settings.task_time_limit_s
                failure = Failure("time_limit", f"the run took longer than {seconds:g} s", False)
            else:
                failure = classify(exc)
            if failure.reason == "internal_error":
                logger.opt(exception=exc).error("task {} failed unexpectedly", task.id)
            return await _failed(app, services, task, failure)
        finished = await service.finish(services.database, app.state.event_bus, task, result=result)
        return await _announce(services, task, finished)
    finally:
        TASK_DURATION.labels(task.kind.value).observe(time.perf_counter() - started)
        correlation_id_var.reset(token)


async def _failed(
    app: FastAPI, services: _Services, task: Task, failure: Failure
) -> TaskStatus | None:
    settings = services.settings
    if failure.retryable and task.attempts < settings.task_max_attempts:
        delay = min(
            settings.task_retry_base_delay_s * 2 ** (task.attempts - 1),
            settings.task_retry_max_delay_s,
        )
        logger.info(
            "task {} attempt {} failed ({}); retrying in {:g} s",
            task.id,
            task.attempts,
            failure.message,
            delay,
        )
        await service.retry_later(
            services.database, task, delay_s=delay, error_type=failure.reason, error=failure.message
        )
        await services.queue.publish(task.id, "status", {"status": TaskStatus.QUEUED})
        return TaskStatus.QUEUED
    finished = await service.finish(
        services.database,
        app.state.event_bus,
        task,
        error_type=failure.reason,
        error=failure.message,
    )
    if finished is not None:
        TASK_FAILURES.labels(task.kind.value, failure.reason).inc()
    return await _announce(services, task, finished)


async def _announce(services: _Services, task: Task, finished: Task | None) -> TaskStatus | None:
    if finished is None:
        logger.warning("task {} was taken over by another run; this outcome is dropped", task.id)
        return None
    await services.queue.publish(task.id, "status", {"status": finished.status})
    return finished.status


@asynccontextmanager
async def _leased(services: _Services, task: Task) -> AsyncIterator[None]:
    lease_s = services.settings.task_lease_s

    async def renew_forever() -> None:
        while True:
            await asyncio.sleep(lease_s / 3)
            try:
                if not await service.renew(services.database, task, lease_s):
                    logger.warning("task {} lost its claim while running", task.id)
                    return
            except Exception as exc:  # the database blinked: the next renewal may pass
                logger.warning("task {} lease not renewed: {}", task.id, exc)

    renewer = asyncio.create_task(renew_forever())
    try:
        yield
    finally:
        await cancel_and_wait([renewer])


async def _perform(services: _Services, task: Task) -> dict[str, Any]:
    # By id while the configuration exists; a renamed one is still found.
    target = str(task.agent_config_id) if task.agent_config_id is not None else task.target
    gateway = services.gateway
    if task.kind is TaskKind.AGENT:
        ask = InvokeRequest.model_validate(task.input)
        stream = await gateway.stream(
            target,
            ask.query,
            user_id=task.requested_by,
            conversation_id=ask.conversation_id,
            variables=ask.variables,
            endpoint=ENDPOINTS[task.kind],
        )
        async with stream:
            async for text in stream:
                await services.queue.publish(task.id, "delta", {"text": text})
        totals = stream.totals
        return {
            "answer": totals.answer,
            "conversation_id": totals.conversation_id,
            "tokens_in": totals.tokens_in,
            "tokens_out": totals.tokens_out,
        }
    run = await gateway.run_workflow(
        target,
        WorkflowRunRequest.model_validate(task.input).inputs,
        user_id=task.requested_by,
        endpoint=ENDPOINTS[task.kind],
    )
    return {
        "run_id": run.run_id,
        "status": run.status,
        "output": parsed_output(run.output) if run.output else None,
        "message": run.message,
        "tokens": run.tokens,
    }
