"""HTTP API of the gateway: call agents, workflows, retrievers and tools; test configurations.

Every signed-in role may call; test runs need admin or configurator. Configurations are looked
up by name (any case) or id; the request's database connection is given back before HiAgent is
called, so a long answer never holds a pooled connection. A workflow run can be followed by
whoever started it, and by admins (see `RunHandles`).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import JSONResponse
from sqlmodel.ext.asyncio.session import AsyncSession
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask

from ...core.db import SessionDep
from ...core.errors import NotFoundError, error_body
from ...core.middleware import route_template
from ...core.openapi import HIAGENT_ERRORS
from ...core.params import WRITTEN_AS_INTEGER, PageOffset, RowId
from ...core.state import SettingsDep
from ...hiagent.errors import ErrorType
from ...hiagent.ping import check_app_key
from ..agents.models import AgentConfig
from ..agents.service import get_config
from ..auth.dependencies import AnyRoleUser, ConfiguratorUser
from ..users.models import Role, User
from .dependencies import GatewayDep
from .errors import PLAIN_WORDS, RUNBOOKS, GatewayError
from .schemas import (
    AppKeyCheckRead,
    AppKeyCheckRequest,
    BreakerRead,
    ConfigRef,
    DraftTestRead,
    DraftTestRequest,
    HiAgentStatusRead,
    InvokeRequest,
    InvokeResponse,
    RetrieverQueryRequest,
    RetrieverQueryResponse,
    RunHandle,
    TestRunPage,
    TestRunRead,
    TestRunRequest,
    ToolExecRequest,
    ToolExecResponse,
    WorkflowRunRequest,
    WorkflowRunResponse,
    parsed_output,
)
from .service import AnswerStream, Gateway, RunHandles, correlation_id
from .trials import check_request, list_test_runs, run_test, stream_test

# Every route here may answer HiAgent's failures (429, 502, 504): OpenAPI lists them.
router = APIRouter(responses=HIAGENT_ERRORS)

_SSE_PING_S = 15


async def _config_for_call(gateway: Gateway, name_or_id: str, session: AsyncSession) -> AgentConfig:
    """The configuration, read fresh; the session is closed to free its pooled connection
    before the (possibly long) HiAgent call."""
    config = await gateway.find(name_or_id, session)
    await session.close()
    return config


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


# Agents


@router.post(
    "/agents/{name_or_id}/invoke",
    response_model=InvokeResponse,
    tags=["agents"],
    summary="Ask an agent and wait for the whole answer",
)
async def invoke(
    request: Request,
    name_or_id: ConfigRef,
    body: InvokeRequest,
    session: SessionDep,
    user: AnyRoleUser,
    gateway: GatewayDep,
) -> InvokeResponse:
    """The answer with its conversation id and token counts. Errors: 404 unknown name,
    409 disabled or not an agent, 503 + Retry-After when HiAgent is unavailable or busy,
    504 on a timeout, 502 when HiAgent or the agent failed."""
    config = await _config_for_call(gateway, name_or_id, session)
    answer = await gateway.invoke(
        config,
        body.query,
        user_id=user.email,
        conversation_id=body.conversation_id,
        variables=body.variables,
        endpoint=route_template(request.scope),
    )
    return InvokeResponse(
        answer=answer.answer,
        conversation_id=answer.conversation_id,
        tokens_in=answer.tokens_in,
        tokens_out=answer.tokens_out,
        duration_ms=answer.duration_ms,
        correlation_id=answer.correlation_id,
    )


@router.post(
    "/agents/{name_or_id}/stream",
    tags=["agents"],
    summary="Ask an agent; the answer arrives as server-sent events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    request: Request,
    name_or_id: ConfigRef,
    body: InvokeRequest,
    session: SessionDep,
    user: AnyRoleUser,
    gateway: GatewayDep,
) -> EventSourceResponse:
    """Events: `start` {conversation_id, correlation_id}; `message` {text} for each piece;
    then `done` with the totals of `/invoke`, or `error` with the error envelope. Failures
    before the first event answer with a plain HTTP error, as `/invoke` does."""
    config = await _config_for_call(gateway, name_or_id, session)
    started = time.perf_counter()
    answer = await gateway.stream(
        config,
        body.query,
        user_id=user.email,
        conversation_id=body.conversation_id,
        variables=body.variables,
        endpoint=route_template(request.scope),
    )
    return EventSourceResponse(
        _answer_events(answer, started),
        ping=_SSE_PING_S,
        background=BackgroundTask(answer.aclose),
    )


async def _answer_events(answer: AnswerStream, started: float) -> AsyncIterator[ServerSentEvent]:
    correlation = correlation_id()
    async with answer:
        yield _event(
            "start",
            {"conversation_id": answer.totals.conversation_id, "correlation_id": correlation},
        )
        try:
            async for text in answer:
                yield _event("message", {"text": text})
        except GatewayError as failure:
            yield _event("error", error_body(failure.code, failure.message, **failure.details))
            return
    totals = answer.totals
    yield _event(
        "done",
        {
            "answer": totals.answer,
            "conversation_id": totals.conversation_id,
            "tokens_in": totals.tokens_in,
            "tokens_out": totals.tokens_out,
            "duration_ms": _elapsed_ms(started),
            "correlation_id": correlation,
        },
    )


def _event(name: str, data: object) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(data, ensure_ascii=False), event=name)


# Workflows


@router.post(
    "/workflows/{name}/run",
    response_model=WorkflowRunResponse,
    tags=["workflows"],
    summary="Run a workflow",
    responses={202: {"model": WorkflowRunResponse, "description": "Started (mode=async)"}},
)
async def run_workflow(
    request: Request,
    name: ConfigRef,
    body: WorkflowRunRequest,
    session: SessionDep,
    settings: SettingsDep,
    user: AnyRoleUser,
    gateway: GatewayDep,
    mode: Annotated[Literal["blocking", "async"], Query()] = "blocking",
) -> JSONResponse | WorkflowRunResponse:
    """`blocking` waits for the end within the configuration's total timeout (504 with the
    `run_id` after it); `async` answers 202 with the `run_id` and `deadline_at` at once:
    follow it with `GET /workflows/{name}/runs/{run_id}`. The service follows an async run
    itself too, and records its end (or its timeout at `deadline_at`) in the request log.
    Only whoever started a run (and admins) can follow it."""
    config = await _config_for_call(gateway, name, session)
    handles = RunHandles(settings.jwt_secret())
    started = time.perf_counter()
    try:
        run = await gateway.run_workflow(
            config,
            body.inputs,
            user_id=user.email,
            wait=mode == "blocking",
            endpoint=route_template(request.scope),
        )
    except GatewayError as failure:
        # A timed-out or failed run can still be followed: by its handle, as any run.
        raw = failure.details.get("run_id")
        if isinstance(raw, str):
            _show_handle(failure, raw, handles.issue(config.id, user.id, raw))
        raise
    response = WorkflowRunResponse.of(
        run,
        run_id=handles.issue(config.id, user.id, run.run_id),
        duration_ms=_elapsed_ms(started),
        correlation_id=correlation_id(),
    )
    if mode == "async":
        return JSONResponse(response.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)
    return response


@router.get(
    "/workflows/{name}/runs/{run_id}",
    response_model=WorkflowRunResponse,
    tags=["workflows"],
    summary="Status of a workflow run",
)
async def workflow_run_status(
    request: Request,
    name: ConfigRef,
    run_id: RunHandle,
    session: SessionDep,
    settings: SettingsDep,
    user: AnyRoleUser,
    gateway: GatewayDep,
) -> WorkflowRunResponse:
    """`status` is processing, success, failed, interrupted or stopped; `output` once done.
    A run started with `mode=async` that is still unfinished past its `deadline_at` reads
    `timeout` (HiAgent's own status is in `message`). Whoever started the run can read it,
    and admins can read any run; for anyone else it is 404, as an unknown run."""
    config = await _config_for_call(gateway, name, session)
    hiagent_run_id = _run_for(RunHandles(settings.jwt_secret()), run_id, config, user)
    started = time.perf_counter()
    try:
        run = await gateway.workflow_status(
            config, hiagent_run_id, user_id=user.email, endpoint=route_template(request.scope)
        )
    except GatewayError as failure:
        if (
            failure.cause.status == 404
            or failure.cause.details.get("hiagent_code") == "RunNotFound"
        ):
            raise NotFoundError(
                f"HiAgent has no run {run_id!r} of workflow {config.name!r}."
            ) from failure
        _show_handle(failure, hiagent_run_id, run_id)
        raise
    return WorkflowRunResponse.of(
        run, run_id=run_id, duration_ms=_elapsed_ms(started), correlation_id=correlation_id()
    )


def _run_for(handles: RunHandles, run_id: str, config: AgentConfig, user: User) -> str:
    """HiAgent's id of the run `user` may follow; 404 for a run of someone else."""
    found = handles.resolve(
        run_id, config_id=config.id, user_id=user.id, any_owner=user.role is Role.ADMIN
    )
    if found is None:
        raise NotFoundError(
            f"There is no run {run_id!r} of workflow {config.name!r} that you can read: "
            "use the run_id given when you started the run."
        )
    return found


def _show_handle(failure: GatewayError, hiagent_run_id: str, handle: str) -> None:
    # Errors name the run by the handle the caller follows it with, and by HiAgent's id.
    if failure.details.get("run_id") == hiagent_run_id:
        failure.details["run_id"] = handle
        failure.details["hiagent_run_id"] = hiagent_run_id


# Retrievers and tools


@router.post(
    "/retrievers/{name}/query",
    response_model=RetrieverQueryResponse,
    tags=["retrievers"],
    summary="Search a knowledge retriever",
)
async def query_retriever(
    request: Request,
    name: ConfigRef,
    body: RetrieverQueryRequest,
    session: SessionDep,
    user: AnyRoleUser,
    gateway: GatewayDep,
) -> RetrieverQueryResponse:
    """Passages of the configuration's knowledge bases that match the query, best first."""
    config = await _config_for_call(gateway, name, session)
    started = time.perf_counter()
    passages = await gateway.retrieve(
        config,
        body.query,
        user_id=user.email,
        top_k=body.top_k,
        score_threshold=body.score_threshold,
        endpoint=route_template(request.scope),
    )
    return RetrieverQueryResponse.of(
        passages, duration_ms=_elapsed_ms(started), correlation_id=correlation_id()
    )


@router.post(
    "/tools/{name}/exec",
    response_model=ToolExecResponse,
    tags=["tools"],
    summary="Run a plugin tool",
)
async def exec_tool(
    request: Request,
    name: ConfigRef,
    body: ToolExecRequest,
    session: SessionDep,
    user: AnyRoleUser,
    gateway: GatewayDep,
) -> ToolExecResponse:
    """The tool's output; 502 `tool_failed` with HiAgent's reason when the tool fails."""
    config = await _config_for_call(gateway, name, session)
    started = time.perf_counter()
    output = await gateway.exec_tool(
        config, body.inputs, user_id=user.email, endpoint=route_template(request.scope)
    )
    return ToolExecResponse(
        output=parsed_output(output),
        duration_ms=_elapsed_ms(started),
        correlation_id=correlation_id(),
    )


# Test runs and breaker state of a configuration


@router.post(
    "/agent-configs/draft-test-runs",
    response_model=DraftTestRead,
    tags=["agent-configs"],
    summary="Try settings before saving them",
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def try_draft(
    request: Request,
    body: DraftTestRequest,
    user: ConfiguratorUser,
    gateway: GatewayDep,
    accept: Annotated[str, Header()] = "application/json",
) -> DraftTestRead | EventSourceResponse:
    """Run unsaved settings once, as "Test before saving" does: nothing is stored (no
    configuration, no test run, no request-log row), so leaving the page leaves nothing behind.
    Streams like a test run with `Accept: text/event-stream`."""
    config = AgentConfig(**body.config.model_dump())
    check_request(config, body.test)
    endpoint = route_template(request.scope)
    if "text/event-stream" in accept:
        events = stream_test(gateway, config, body.test, user, endpoint=endpoint)
        return EventSourceResponse(events, ping=_SSE_PING_S)
    run = await run_test(gateway, config, body.test, user, endpoint=endpoint)
    return DraftTestRead.model_validate(run)


@router.post(
    "/agent-configs/app-key-check",
    response_model=AppKeyCheckRead,
    tags=["agent-configs"],
    summary="Check an app key with HiAgent",
)
async def check_key(
    body: AppKeyCheckRequest, _: ConfiguratorUser, gateway: GatewayDep
) -> AppKeyCheckRead:
    """Ask HiAgent whether it accepts an app key (one harmless call that reads the app's
    name), before the key is saved. `unknown` when HiAgent could not be asked."""
    services = gateway.client.services
    if services is None:
        return AppKeyCheckRead(
            verdict="unknown",
            message=PLAIN_WORDS[ErrorType.NOT_CONFIGURED],
            runbook=RUNBOOKS[ErrorType.NOT_CONFIGURED],
        )
    verdict, said = await check_app_key(
        services, body.app_key, timeout_s=gateway.client.settings.probe_timeout_s
    )
    if verdict == "accepted":
        named = f" It belongs to the app \u201c{said}\u201d." if said else ""
        return AppKeyCheckRead(verdict=verdict, message=f"HiAgent accepted this app key.{named}")
    if verdict == "rejected":
        words = PLAIN_WORDS[ErrorType.AUTH]
        if said:
            words += f" HiAgent said: \u201c{said}\u201d."
        return AppKeyCheckRead(verdict=verdict, message=words, runbook=RUNBOOKS[ErrorType.AUTH])
    return AppKeyCheckRead(
        verdict="unknown",
        message="The key could not be checked: HiAgent cannot be reached right now. "
        "You can still save it and test it later.",
        runbook=RUNBOOKS[ErrorType.CONNECT],
    )


@router.get(
    "/hiagent/status",
    response_model=HiAgentStatusRead,
    tags=["agent-configs"],
    summary="Whether agents can be called now",
)
async def hiagent_status(_: AnyRoleUser, gateway: GatewayDep) -> HiAgentStatusRead:
    """HiAgent's reachability (the readiness probe, cached for a few seconds) and the
    configurations that are paused after failures or whose recent calls all failed."""
    problem = await gateway.client.app_api_problem()
    paused = sorted(int(key) for key in gateway.client.breaker_states() if key.isdigit())
    return HiAgentStatusRead(
        reachable=problem is None,
        message=""
        if problem is None
        else PLAIN_WORDS[
            ErrorType.NOT_CONFIGURED if gateway.client.services is None else ErrorType.CONNECT
        ],
        paused=paused,
        failing=gateway.failing(),
    )


@router.post(
    "/agent-configs/{config_id}/test-runs",
    response_model=TestRunRead,
    status_code=status.HTTP_201_CREATED,
    tags=["agent-configs"],
    summary="Test a configuration",
    responses={201: {"content": {"text/event-stream": {}}}},
)
async def create_test_run(
    request: Request,
    config_id: RowId,
    body: TestRunRequest,
    session: SessionDep,
    user: ConfiguratorUser,
    gateway: GatewayDep,
    accept: Annotated[str, Header()] = "application/json",
) -> TestRunRead | EventSourceResponse:
    """Run the configuration once (even when disabled) and store the outcome. With
    `Accept: text/event-stream` the answer streams (`message` events) and ends with `done`
    carrying the stored run; otherwise the stored run is returned."""
    config = await get_config(session, config_id)
    await session.close()
    check_request(config, body)
    endpoint = route_template(request.scope)
    if "text/event-stream" in accept:
        events = stream_test(gateway, config, body, user, endpoint=endpoint)
        return EventSourceResponse(events, ping=_SSE_PING_S)
    run = await run_test(gateway, config, body, user, endpoint=endpoint)
    return TestRunRead.model_validate(run)


@router.get(
    "/agent-configs/{config_id}/test-runs",
    response_model=TestRunPage,
    tags=["agent-configs"],
    summary="Test runs of a configuration",
)
async def recent_test_runs(
    config_id: RowId,
    session: SessionDep,
    _: AnyRoleUser,
    limit: Annotated[int, Query(ge=1, le=200), WRITTEN_AS_INTEGER] = 50,
    offset: PageOffset = 0,
) -> TestRunPage:
    """Newest first, with input, output, status, duration, tokens and who ran it."""
    config = await get_config(session, config_id)
    runs, total = await list_test_runs(session, config, limit=limit, offset=offset)
    return TestRunPage(
        items=[TestRunRead.model_validate(run) for run in runs],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/agent-configs/{config_id}/breaker",
    response_model=BreakerRead,
    tags=["agent-configs"],
    summary="Circuit breaker of a configuration",
)
async def breaker_state(
    config_id: RowId, session: SessionDep, _: AnyRoleUser, gateway: GatewayDep
) -> BreakerRead:
    """`closed` is normal; `open` means calls are paused for `retry_after_s` seconds after
    repeated failures; `half_open` lets one trial call through."""
    config = await get_config(session, config_id)
    snapshot = gateway.breaker(config)
    recent = gateway.recent_calls(config)
    return BreakerRead(
        state=snapshot.state.value,
        calls=snapshot.calls,
        failures=snapshot.failures,
        failure_rate=snapshot.failure_rate,
        retry_after_s=snapshot.retry_after_s,
        recent_calls=recent.calls,
        recent_failures=recent.failures,
        last_failed=recent.last_failed,
        last_error_type=recent.last_error_type,
    )
