"""/analytics: usage summary, time series, the request log and a live stream (all roles).

Summary, time series and live read the roll-ups only, to the minute; the request log
reads raw rows with keyset pagination.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from ...core.db import DatabaseDep, SessionDep
from ...core.errors import InvalidRequestError
from ...core.params import MAX_ROW_ID, WRITTEN_AS_INTEGER, WRITTEN_AS_NUMBER, IsoDateTime
from ..agents.service import find_config
from ..auth.dependencies import AnyRoleUser
from ..users.models import Role, User
from .dependencies import RequestRecorderDep
from .live import LiveView, live_events, snapshot
from .models import CallStatus
from .rollups import Grain
from .schemas import LiveSnapshot, RequestLogItem, RequestLogPage, TimeSeries, UsageSummary
from .service import (
    RequestFilter,
    UsageFilter,
    agent_usage,
    as_utc,
    list_requests,
    minute_range,
    series_interval,
    time_range,
    time_series,
    usage_breakdown,
)

router = APIRouter(prefix="/analytics", tags=["analytics"])
# Roles that may read what people asked; viewers see the calls without their text.
TEXT_READERS = frozenset({Role.ADMIN, Role.CONFIGURATOR})

AgentParam = Annotated[
    str | None,
    Query(max_length=100, description="Agent configuration name (any case) or id."),
]
StatusParam = Annotated[CallStatus | None, Query(description="Only calls that ended so.")]
StartParam = Annotated[
    IsoDateTime | None,
    Query(description="ISO 8601; without an offset, UTC. Default: end - 24 h."),
]
EndParam = Annotated[IsoDateTime | None, Query(description="ISO 8601, exclusive. Default: now.")]


async def _agent_id(session: AsyncSession, agent: str | None) -> int | None:
    if agent is None:
        return None
    if agent.isascii() and agent.isdigit() and int(agent) > MAX_ROW_ID:
        raise InvalidRequestError(f"`agent` {agent} is neither a name nor an id.", field="agent")
    # 404 listing the available names when nothing matches.
    return (await find_config(session, agent)).id


async def _usage_filter(
    session: AsyncSession,
    agent: str | None,
    status: CallStatus | None,
    start: datetime | None,
    end: datetime | None,
) -> UsageFilter:
    first, last = minute_range(*time_range(start, end, datetime.now(UTC)))
    return UsageFilter(
        start=first,
        end=last,
        agent_config_id=await _agent_id(session, agent),
        status=status.value if status else None,
    )


@router.get("/summary", response_model=UsageSummary, summary="Usage summary")
async def summary(
    session: SessionDep,
    user: AnyRoleUser,
    recorder: RequestRecorderDep,
    agent: AgentParam = None,
    status: StatusParam = None,
    start: StartParam = None,
    end: EndParam = None,
) -> UsageSummary:
    """Requests, errors, tokens and latency percentiles over a range (to the minute),
    with a breakdown by status and by agent."""
    usage = await _usage_filter(session, agent, status, start, end)
    breakdown = await usage_breakdown(session, usage)
    return UsageSummary(
        **breakdown.total.stats().model_dump(),
        start=usage.start,
        end=usage.end,
        data_as_of=recorder.data_as_of,
        by_status=breakdown.by_status,
        by_agent=await agent_usage(session, breakdown.by_agent),
    )


@router.get("/timeseries", response_model=TimeSeries, summary="Usage over time")
async def timeseries(
    session: SessionDep,
    user: AnyRoleUser,
    recorder: RequestRecorderDep,
    agent: AgentParam = None,
    status: StatusParam = None,
    start: StartParam = None,
    end: EndParam = None,
    interval: Annotated[
        Grain | None,
        Query(description="Bucket width; default: minute up to 6 h, hour up to 14 days, day."),
    ] = None,
) -> TimeSeries:
    """Requests, errors, tokens and latency percentiles per minute, hour or day (UTC)."""
    usage = await _usage_filter(session, agent, status, start, end)
    chosen = series_interval(usage.start, usage.end, interval)
    return TimeSeries(
        start=usage.start,
        end=usage.end,
        interval=chosen,
        data_as_of=recorder.data_as_of,
        series=await time_series(session, usage, chosen),
    )


@router.get("/requests", response_model=RequestLogPage, summary="The request log")
async def requests(
    session: SessionDep,
    user: AnyRoleUser,
    agent: AgentParam = None,
    status: StatusParam = None,
    start: Annotated[IsoDateTime | None, Query(description="ISO 8601, inclusive.")] = None,
    end: Annotated[IsoDateTime | None, Query(description="ISO 8601, exclusive.")] = None,
    correlation_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500), WRITTEN_AS_INTEGER] = 50,
) -> RequestLogPage:
    """Calls newest first; pages stay stable while new calls arrive (keyset cursor).
    Viewers get each call without its text (`query` null, `text_redacted` true)."""
    if start is not None and end is not None:
        time_range(start, end, datetime.now(UTC))
    wanted = RequestFilter(
        start=as_utc(start) if start else None,
        end=as_utc(end) if end else None,
        agent_config_id=await _agent_id(session, agent),
        status=status.value if status else None,
        correlation_id=correlation_id,
    )
    items, next_cursor = await list_requests(session, wanted, cursor=cursor, limit=limit)
    return RequestLogPage(
        items=[for_reader(item, user) for item in items], next_cursor=next_cursor, limit=limit
    )


def for_reader(item: RequestLogItem, user: User) -> RequestLogItem:
    """A request-log row as this user may see it: viewers never get the request text."""
    if user.role in TEXT_READERS:
        return item
    return item.model_copy(update={"query": None, "text_redacted": True})


@router.get(
    "/live",
    response_model=LiveSnapshot,
    summary="Live usage",
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def live(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    user: AnyRoleUser,
    recorder: RequestRecorderDep,
    agent: AgentParam = None,
    window_minutes: Annotated[int, Query(ge=1, le=1440), WRITTEN_AS_INTEGER] = 60,
    interval_s: Annotated[float, Query(ge=1, le=60), WRITTEN_AS_NUMBER] = 5,
    max_events: Annotated[int | None, Query(ge=1, le=10_000), WRITTEN_AS_INTEGER] = None,
) -> LiveSnapshot | StreamingResponse:
    """With `Accept: text/event-stream`: `usage` events (a `LiveSnapshot` each) now, every
    `interval_s` and as soon as new calls are written. Otherwise one snapshot as JSON."""
    view = LiveView(window_minutes=window_minutes, agent_config_id=await _agent_id(session, agent))
    if "text/event-stream" not in request.headers.get("accept", ""):
        return await snapshot(database, recorder, view)
    # The signed-in check used a pooled connection: give it back before streaming for long.
    await session.close()
    return StreamingResponse(
        live_events(
            request, database, recorder, view, interval_s=interval_s, max_events=max_events
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
