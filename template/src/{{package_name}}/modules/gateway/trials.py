"""Test runs (trials): a configurator tries a configuration; stored as `AgentTestRun`.

A test run goes through the gateway like any call (limits, breaker, request log) but also works
on a disabled configuration, so it can be checked before it is switched on. A failure is a
result here, stored with status `failure` or `timeout`, not an error of the endpoint.

A draft (settings not saved yet, `config.id` None) is tried the same way, but nothing is kept:
no test run, no configuration, no request-log row; the outcome is only returned.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sse_starlette import ServerSentEvent

from ...core.errors import InvalidRequestError, error_body
from ...hiagent.errors import ErrorType
from ..agents.models import AgentConfig, AgentTestRun, ConfigType, TestRunStatus
from ..users.models import User
from .errors import GatewayError
from .schemas import DraftTestRead, TestRunRead, TestRunRequest
from .service import Gateway


def check_request(config: AgentConfig, request: TestRunRequest) -> None:
    """422 in plain words when the trial lacks what its configuration type needs."""
    needs_query = config.config_type in (ConfigType.AGENT, ConfigType.RETRIEVER)
    if needs_query and not request.query:
        raise InvalidRequestError(
            f"A test of {config.config_type.value} {config.name!r} needs a question (query)."
        )


async def run_test(
    gateway: Gateway, config: AgentConfig, request: TestRunRequest, user: User, *, endpoint: str
) -> AgentTestRun:
    """Run the trial to its end and store it; `endpoint` names it in the request log."""
    started = time.perf_counter()
    try:
        output, tokens = await _execute(gateway, config, request, user.email, endpoint)
    except GatewayError as failure:
        return await _store(gateway, config, request, user, started, failure=failure)
    return await _store(gateway, config, request, user, started, output=output, tokens=tokens)


async def stream_test(
    gateway: Gateway, config: AgentConfig, request: TestRunRequest, user: User, *, endpoint: str
) -> AsyncIterator[ServerSentEvent]:
    """The trial as server-sent events: `message` chunks (agents), then `done` with the run."""
    started = time.perf_counter()
    if config.config_type is not ConfigType.AGENT:
        run = await run_test(gateway, config, request, user, endpoint=endpoint)
        yield _done(run)
        return
    assert request.query is not None
    try:
        stream = await gateway.stream(
            config,
            request.query,
            user_id=user.email,
            variables=request.variables,
            endpoint=endpoint,
            allow_disabled=True,
        )
        async with stream:
            async for text in stream:
                yield ServerSentEvent(data=json.dumps({"text": text}), event="message")
    except GatewayError as failure:
        yield ServerSentEvent(data=json.dumps(_envelope(failure)), event="error")
        run = await _store(gateway, config, request, user, started, failure=failure)
    else:
        totals = stream.totals
        run = await _store(
            gateway,
            config,
            request,
            user,
            started,
            output=totals.answer,
            tokens=(totals.tokens_in, totals.tokens_out),
        )
    yield _done(run)


async def list_test_runs(
    session: AsyncSession, config: AgentConfig, *, limit: int, offset: int
) -> tuple[list[AgentTestRun], int]:
    """A configuration's test runs, newest first, and how many there are."""
    condition = col(AgentTestRun.agent_config_id) == config.id
    rows = await session.exec(
        select(AgentTestRun)
        .where(condition)
        .order_by(col(AgentTestRun.timestamp).desc(), col(AgentTestRun.id).desc())
        .limit(limit)
        .offset(offset)
    )
    total = await session.exec(select(func.count()).select_from(AgentTestRun).where(condition))
    return list(rows.all()), int(total.one())


async def _execute(
    gateway: Gateway, config: AgentConfig, request: TestRunRequest, user_id: str, endpoint: str
) -> tuple[str, tuple[int, int]]:
    inputs = request.inputs or {}
    if config.config_type is ConfigType.AGENT:
        assert request.query is not None
        stream = await gateway.stream(
            config,
            request.query,
            user_id=user_id,
            variables=request.variables,
            endpoint=endpoint,
            allow_disabled=True,
        )
        async with stream:
            async for _ in stream:
                pass
        return stream.totals.answer, (stream.totals.tokens_in, stream.totals.tokens_out)
    if config.config_type is ConfigType.WORKFLOW:
        run = await gateway.run_workflow(
            config, inputs, user_id=user_id, endpoint=endpoint, allow_disabled=True
        )
        return run.output, (0, run.tokens)
    if config.config_type is ConfigType.RETRIEVER:
        assert request.query is not None
        passages = await gateway.retrieve(
            config, request.query, user_id=user_id, endpoint=endpoint, allow_disabled=True
        )
        return json.dumps([asdict(p) for p in passages], ensure_ascii=False), (0, 0)
    output = await gateway.exec_tool(
        config, inputs, user_id=user_id, endpoint=endpoint, allow_disabled=True
    )
    return output, (0, 0)


async def _store(
    gateway: Gateway,
    config: AgentConfig,
    request: TestRunRequest,
    user: User,
    started: float,
    *,
    output: str = "",
    tokens: tuple[int, int] = (0, 0),
    failure: GatewayError | None = None,
) -> AgentTestRun:
    status = TestRunStatus.SUCCESS
    if failure is not None:
        timed_out = failure.cause.error_type is ErrorType.TIMEOUT
        status = TestRunStatus.TIMEOUT if timed_out else TestRunStatus.FAILURE
        output = str(failure.details.get("partial_answer", ""))
    run = AgentTestRun(
        agent_config_id=config.id or 0,
        test_input=request.model_dump(exclude_none=True),
        test_output=output,
        status=status,
        error=failure.message if failure is not None else None,
        duration_ms=round((time.perf_counter() - started) * 1000),
        tokens_in=tokens[0],
        tokens_out=tokens[1],
        tested_by=user.id,
    )
    if config.id is None:
        return run  # a draft: nothing to keep
    async with gateway.database.session() as session:
        session.add(run)
        await session.commit()
        await session.refresh(run)
    return run


def _envelope(failure: GatewayError) -> dict[str, Any]:
    return error_body(failure.code, failure.message, **failure.details)


def _done(run: AgentTestRun) -> ServerSentEvent:
    model = DraftTestRead if run.id is None else TestRunRead
    return ServerSentEvent(data=model.model_validate(run).model_dump_json(), event="done")
