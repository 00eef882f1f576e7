"""HTTP API of background tasks: submit an agent or workflow run, follow it, read the result.

Any signed-in role may submit; a task is visible to whoever submitted it (and to admins).
Submissions answer 202 at once with the task; while Redis is unavailable the API runs the task
itself before answering (`inline: true`), so clients need no special case.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Path, Request, Response, status
from sse_starlette import EventSourceResponse, ServerSentEvent

from ...core.db import Database, SessionDep
from ...core.errors import ConflictError, InvalidRequestError
from ...worker.metrics import TASK_SUBMISSIONS
from ...worker.queue import REDIS_ERRORS, ProgressListener, QueueUnavailableError, TaskQueue
from ..agents.models import AgentConfig, ConfigType
from ..auth.dependencies import AnyRoleUser
from ..gateway.dependencies import GatewayDep
from ..gateway.schemas import ConfigRef, InvokeRequest, WorkflowRunRequest
from ..users.models import User
from . import service
from .models import FINISHED, Task, TaskKind
from .runner import execute_task
from .schemas import TaskRead

router = APIRouter(tags=["tasks"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=128,
        description="Send the same key again (after a timeout, say) to get the same task back "
        "instead of a second one.",
    ),
]
TaskId = Annotated[
    str, Path(min_length=1, max_length=32, description="The `task_id` given on submission.")
]
_TASK_PATHS = {ConfigType.AGENT: "agents", ConfigType.WORKFLOW: "workflows"}
_POLL_S = 1.0  # how often a follower re-reads the task when no progress message arrives
_SSE_PING_S = 15


def _present(request: Request, task: Task) -> TaskRead:
    return TaskRead.of(
        task,
        status_url=request.url_for("read_task", task_id=task.id).path,
        events_url=request.url_for("follow_task", task_id=task.id).path,
    )


def _usable(config: AgentConfig, config_type: ConfigType) -> None:
    # Refuse now what the run would refuse later, so a 202 means "it will run".
    if config.config_type is not config_type:
        path = _TASK_PATHS.get(config.config_type)
        how = (
            f": run it in the background with POST /api/v1/{path}/{config.name}/tasks"
            if path
            else ""
        )
        raise ConflictError(
            f"{config.name!r} is a {config.config_type.value} configuration, "
            f"not a {config_type.value}{how}.",
            error_type="wrong_type",
        )
    if not config.enabled:
        raise ConflictError(
            f"{config.name!r} is disabled: an admin or configurator can enable it.",
            error_type="disabled",
        )


async def _load(database: Database, task_id: str) -> Task | None:
    async with database.session() as session:
        return await session.get(Task, task_id)


async def _submit(
    request: Request,
    response: Response,
    session: SessionDep,
    user: User,
    config: AgentConfig,
    kind: TaskKind,
    payload: dict[str, Any],
    idempotency_key: str | None,
) -> TaskRead:
    task, created = await service.submit(
        session,
        kind=kind,
        config=config,
        payload=payload,
        user=user,
        idempotency_key=idempotency_key,
    )
    await session.close()  # give the pooled connection back before a possibly long run
    app: FastAPI = request.app
    database: Database = app.state.database
    if created:
        queue: TaskQueue = app.state.task_queue
        try:
            message_id = await queue.enqueue(task.id)
        except QueueUnavailableError:
            # Degraded mode: no Redis, so this API process runs the task before answering.
            TASK_SUBMISSIONS.labels("inline").inc()
            await service.mark_inline(database, task.id)
            await execute_task(app, task.id)
        else:
            TASK_SUBMISSIONS.labels("queued").inc()
            await service.record_sent(database, task.id, message_id)
        task = await _load(database, task.id) or task
    else:
        response.headers["Idempotent-Replayed"] = "true"
    presented = _present(request, task)
    response.headers["Location"] = presented.status_url
    return presented


@router.post(
    "/agents/{name_or_id}/tasks",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TaskRead,
    summary="Ask an agent in the background",
)
async def submit_agent_task(
    name_or_id: ConfigRef,
    body: InvokeRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    user: AnyRoleUser,
    gateway: GatewayDep,
    idempotency_key: IdempotencyKey = None,
) -> TaskRead:
    """202 with the queued task; follow `status_url` or `events_url`. The result holds
    `answer`, `conversation_id`, `tokens_in`, `tokens_out`. Errors: 404 unknown name,
    409 disabled or not an agent, 409 an `Idempotency-Key` reused for another request."""
    if body.conversation_id and body.variables:
        raise InvalidRequestError(
            "variables can only be set when a conversation starts; "
            "leave out conversation_id to start a new one."
        )
    config = await gateway.find(name_or_id, session)
    _usable(config, ConfigType.AGENT)
    payload = body.model_dump(mode="json", exclude_none=True)
    return await _submit(
        request, response, session, user, config, TaskKind.AGENT, payload, idempotency_key
    )


@router.post(
    "/workflows/{name}/tasks",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TaskRead,
    summary="Run a workflow in the background",
)
async def submit_workflow_task(
    name: ConfigRef,
    body: WorkflowRunRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    user: AnyRoleUser,
    gateway: GatewayDep,
    idempotency_key: IdempotencyKey = None,
) -> TaskRead:
    """202 with the queued task. The result holds `run_id`, `status`, `output`, `message`
    and `tokens`. Errors as for agent tasks."""
    config = await gateway.find(name, session)
    _usable(config, ConfigType.WORKFLOW)
    payload = body.model_dump(mode="json")
    return await _submit(
        request, response, session, user, config, TaskKind.WORKFLOW, payload, idempotency_key
    )


@router.get("/tasks/{task_id}", response_model=TaskRead, summary="A task's status and result")
async def read_task(
    task_id: TaskId, request: Request, session: SessionDep, user: AnyRoleUser
) -> TaskRead:
    """Status (queued, running, succeeded, failed), then the result or the error. Finished
    tasks stay readable for TASK_RESULT_TTL_HOURS."""
    return _present(request, await service.get_for_user(session, task_id, user))


@router.get(
    "/tasks/{task_id}/events",
    summary="Follow a task as server-sent events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def follow_task(
    task_id: TaskId, request: Request, session: SessionDep, user: AnyRoleUser
) -> EventSourceResponse:
    """Events: `status` with the task whenever its status changes (the stream ends after
    succeeded or failed); `delta` {text} for each piece of an agent's answer as it is
    written."""
    await service.get_for_user(session, task_id, user)
    await session.close()
    return EventSourceResponse(_follow(request, task_id), ping=_SSE_PING_S)


async def _follow(request: Request, task_id: str) -> AsyncIterator[ServerSentEvent]:
    app: FastAPI = request.app
    database: Database = app.state.database
    queue: TaskQueue = app.state.task_queue
    async with AsyncExitStack() as stack:
        listener: ProgressListener | None = None
        if queue.available:
            try:
                listener = await stack.enter_async_context(queue.listen(task_id))
            except REDIS_ERRORS:
                listener = None
        shown = None
        next_read = 0.0
        while True:
            now = time.monotonic()
            if now >= next_read:
                task = await _load(database, task_id)
                if task is None:
                    return
                if task.status != shown:
                    shown = task.status
                    yield ServerSentEvent(_present(request, task).model_dump_json(), event="status")
                if task.status in FINISHED:
                    return
                next_read = now + _POLL_S
            message = None
            if listener is not None:
                try:
                    message = await listener.next(max(next_read - time.monotonic(), 0.01))
                except REDIS_ERRORS:
                    listener = None  # Redis went away: keep following by polling
            else:
                await _sleep_until(next_read)
            if message is None:
                continue
            event, data = message
            if event == "delta":
                yield ServerSentEvent(json.dumps(data), event="delta")
            else:
                next_read = 0.0  # the status changed: read the task now


async def _sleep_until(moment: float) -> None:
    await asyncio.sleep(max(moment - time.monotonic(), 0.0))
