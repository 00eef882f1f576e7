"""Reading usage: totals and time series from the roll-ups, the request log page by page."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, tuple_
from sqlalchemy.dialects.postgresql import array
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ...core.errors import InvalidRequestError
from ..agents.models import AgentConfig
from .latency import BUCKET_COUNT, percentile
from .models import NOT_ERRORS, RequestLog, RequestLogRollup
from .rollups import GRAIN_WIDTH, GRAINS, Grain, ceil_to, covering_buckets, floor_to
from .schemas import AgentUsage, RequestLogItem, SeriesPoint, UsageStats

DEFAULT_WINDOW = timedelta(hours=24)
MAX_SERIES_POINTS = 1500
# Automatic interval: the finest one that keeps a chart readable.
AUTO_INTERVAL = ((timedelta(hours=6), Grain.MINUTE), (timedelta(days=14), Grain.HOUR))
# Anything outside these years is a typo, and would overflow date arithmetic.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class UsageFilter:
    """Which calls to count: a minute-aligned UTC range, optionally one agent and status."""

    start: datetime
    end: datetime
    agent_config_id: int | None = None
    status: str | None = None


def as_utc(moment: datetime) -> datetime:
    """A query-string time in UTC (a time without offset is taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def time_range(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """`[start, end)` with defaults (the last 24 hours); 422 when it is empty or absurd."""
    end = as_utc(end) if end is not None else now
    start = as_utc(start) if start is not None else end - DEFAULT_WINDOW
    for name, moment in (("start", start), ("end", end)):
        if not EARLIEST <= moment < LATEST:
            raise InvalidRequestError(f"`{name}` must be between 1970 and 2999.", field=name)
    if start >= end:
        raise InvalidRequestError("`start` must be before `end`.", field="start")
    return start, end


def minute_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Widen a range to whole minutes: the finest roll-up."""
    return floor_to(start, Grain.MINUTE), ceil_to(end, Grain.MINUTE)


@dataclass
class Usage:
    """Sums over roll-up rows; `stats()` turns them into what the API shows."""

    requests: int = 0
    errors: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    duration_ms_sum: int = 0
    duration_ms_max: int = 0
    histogram: list[int] = field(default_factory=lambda: [0] * BUCKET_COUNT)

    @classmethod
    def from_columns(cls, values: Sequence[Any]) -> Usage:
        """A usage from the values of `_usage_columns()`, in order."""
        requests, errors, tokens_in, tokens_out, duration_sum, duration_max, histogram = values
        return cls(
            requests=int(requests),
            errors=int(errors),
            tokens_in=int(tokens_in),
            tokens_out=int(tokens_out),
            duration_ms_sum=int(duration_sum),
            duration_ms_max=int(duration_max),
            histogram=[int(count) for count in histogram],
        )

    def add(self, other: Usage) -> None:
        """Count `other` in as well."""
        self.requests += other.requests
        self.errors += other.errors
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        self.duration_ms_sum += other.duration_ms_sum
        self.duration_ms_max = max(self.duration_ms_max, other.duration_ms_max)
        self.histogram = [a + b for a, b in zip(self.histogram, other.histogram, strict=True)]

    def stats(self) -> UsageStats:
        """Totals, error rate and latency percentiles."""
        calls = self.requests

        def estimate(quantile: float) -> int | None:
            return percentile(self.histogram, quantile, self.duration_ms_max)

        return UsageStats(
            requests=calls,
            errors=self.errors,
            error_rate=round(self.errors / calls, 4) if calls else 0.0,
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            p50=estimate(0.50),
            p95=estimate(0.95),
            p99=estimate(0.99),
            mean=round(self.duration_ms_sum / calls) if calls else None,
            max=self.duration_ms_max if calls else None,
        )


def _usage_columns() -> list[Any]:
    requests = func.sum(col(RequestLogRollup.requests))
    histogram = col(RequestLogRollup.latency_histogram)
    return [
        requests.label("requests"),
        func.coalesce(requests.filter(col(RequestLogRollup.status).not_in(NOT_ERRORS)), 0).label(
            "errors"
        ),
        func.sum(col(RequestLogRollup.tokens_in)).label("tokens_in"),
        func.sum(col(RequestLogRollup.tokens_out)).label("tokens_out"),
        func.sum(col(RequestLogRollup.duration_ms_sum)).label("duration_ms_sum"),
        func.max(col(RequestLogRollup.duration_ms_max)).label("duration_ms_max"),
        array([func.sum(histogram[i + 1]) for i in range(BUCKET_COUNT)]).label("latency_histogram"),
    ]


def _rollup_conditions(usage: UsageFilter, grains: tuple[Grain, ...]) -> list[ColumnElement[bool]]:
    pieces = covering_buckets(usage.start, usage.end, grains)
    conditions: list[ColumnElement[bool]] = [
        or_(
            *(
                and_(
                    col(RequestLogRollup.grain) == grain.value,
                    col(RequestLogRollup.bucket_start) >= piece_start,
                    col(RequestLogRollup.bucket_start) < piece_end,
                )
                for grain, piece_start, piece_end in pieces
            )
        )
    ]
    if usage.agent_config_id is not None:
        conditions.append(col(RequestLogRollup.agent_config_id) == usage.agent_config_id)
    if usage.status is not None:
        conditions.append(col(RequestLogRollup.status) == usage.status)
    return conditions


async def agent_names(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    """Names of the configurations with these ids (deleted ones are absent)."""
    if not ids:
        return {}
    result = await session.exec(
        select(AgentConfig.id, AgentConfig.name).where(col(AgentConfig.id).in_(ids))
    )
    return {config_id: name for config_id, name in result.all() if config_id is not None}


@dataclass
class UsageBreakdown:
    """Totals of a range, split by status and by agent configuration (0: none)."""

    total: Usage
    by_status: dict[str, int]
    by_agent: dict[int, Usage]


async def usage_breakdown(session: AsyncSession, usage: UsageFilter) -> UsageBreakdown:
    """Totals over the range from the roll-ups, by status and by agent."""
    if usage.start >= usage.end:
        return UsageBreakdown(Usage(), {}, {})
    result = await session.exec(
        select(
            col(RequestLogRollup.agent_config_id),
            col(RequestLogRollup.status),
            *_usage_columns(),
        )
        .where(*_rollup_conditions(usage, GRAINS))
        .group_by(col(RequestLogRollup.agent_config_id), col(RequestLogRollup.status))
    )
    breakdown = UsageBreakdown(Usage(), {}, {})
    for agent_id, status, *values in result.all():
        part = Usage.from_columns(values)
        breakdown.total.add(part)
        breakdown.by_status[status] = breakdown.by_status.get(status, 0) + part.requests
        breakdown.by_agent.setdefault(agent_id, Usage()).add(part)
    return breakdown


async def agent_usage(session: AsyncSession, by_agent: dict[int, Usage]) -> list[AgentUsage]:
    """Per-agent usage with names, busiest first."""
    names = await agent_names(session, [agent_id for agent_id in by_agent if agent_id])
    ranked = sorted(by_agent.items(), key=lambda item: (-item[1].requests, item[0]))
    return [
        AgentUsage(
            **usage.stats().model_dump(),
            agent_config_id=agent_id or None,
            agent_name=names.get(agent_id),
        )
        for agent_id, usage in ranked
    ]


def series_interval(start: datetime, end: datetime, interval: Grain | None) -> Grain:
    """The interval asked for, or one that suits the range; 422 when too many points."""
    if interval is None:
        span = end - start
        interval = next((grain for limit, grain in AUTO_INTERVAL if span <= limit), Grain.DAY)
    first = floor_to(start, interval)
    points = -(-(end - first) // GRAIN_WIDTH[interval])
    if points > MAX_SERIES_POINTS:
        raise InvalidRequestError(
            f"A {interval.value} series over this range has {points} points; at most "
            f"{MAX_SERIES_POINTS} are served. Choose a larger interval or a shorter range.",
            field="interval",
        )
    return interval


async def time_series(
    session: AsyncSession, usage: UsageFilter, interval: Grain
) -> list[SeriesPoint]:
    """One point per `interval` bucket of the range, zeros where nothing happened."""
    bucket = func.date_trunc(interval.value, col(RequestLogRollup.bucket_start), "UTC")
    found: dict[datetime, Usage] = {}
    if usage.start < usage.end:
        grains = GRAINS[: GRAINS.index(interval) + 1]
        result = await session.exec(
            select(bucket.label("bucket"), *_usage_columns())
            .where(*_rollup_conditions(usage, grains))
            .group_by(bucket)
        )
        found = {as_utc(start): Usage.from_columns(values) for start, *values in result.all()}
    points = []
    moment = floor_to(usage.start, interval)
    while moment < usage.end:
        stats = found.get(moment, Usage()).stats()
        points.append(
            SeriesPoint(
                bucket=moment,
                requests=stats.requests,
                errors=stats.errors,
                tokens_in=stats.tokens_in,
                tokens_out=stats.tokens_out,
                p50=stats.p50,
                p95=stats.p95,
                p99=stats.p99,
            )
        )
        moment += GRAIN_WIDTH[interval]
    return points


@dataclass(frozen=True)
class RequestFilter:
    """Which request-log rows to list; the range is exact (not rounded to minutes)."""

    start: datetime | None = None
    end: datetime | None = None
    agent_config_id: int | None = None
    status: str | None = None
    correlation_id: str | None = None


def encode_cursor(timestamp: datetime, row_id: int) -> str:
    """An opaque cursor pointing just after this row."""
    raw = json.dumps({"t": timestamp.isoformat(), "id": row_id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The row a cursor points after; 422 for anything not made by `encode_cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        moment, row_id = as_utc(datetime.fromisoformat(data["t"])), int(data["id"])
        if not 0 < row_id < 2**63:
            raise ValueError("row id out of range")
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise InvalidRequestError(
            "`cursor` is not valid: pass the `next_cursor` of a previous page.", field="cursor"
        ) from exc
    return moment, row_id


async def list_requests(
    session: AsyncSession, wanted: RequestFilter, *, cursor: str | None, limit: int
) -> tuple[list[RequestLogItem], str | None]:
    """A page of the request log, newest first, and the cursor of the next page."""
    timestamp, row_id = col(RequestLog.timestamp), col(RequestLog.id)
    query = select(RequestLog, AgentConfig.name).join(
        AgentConfig, col(AgentConfig.id) == col(RequestLog.agent_config_id), isouter=True
    )
    if wanted.start is not None:
        query = query.where(timestamp >= wanted.start)
    if wanted.end is not None:
        query = query.where(timestamp < wanted.end)
    if wanted.agent_config_id is not None:
        query = query.where(col(RequestLog.agent_config_id) == wanted.agent_config_id)
    if wanted.status is not None:
        query = query.where(col(RequestLog.status) == wanted.status)
    if wanted.correlation_id is not None:
        query = query.where(col(RequestLog.correlation_id) == wanted.correlation_id)
    if cursor is not None:
        query = query.where(tuple_(timestamp, row_id) < tuple_(*decode_cursor(cursor)))
    result = await session.exec(query.order_by(timestamp.desc(), row_id.desc()).limit(limit + 1))
    rows = result.all()
    items = [RequestLogItem(**log.model_dump(), agent_name=name) for log, name in rows[:limit]]
    last = rows[limit - 1][0] if len(rows) > limit else None
    next_cursor = encode_cursor(last.timestamp, last.id) if last and last.id else None
    return items, next_cursor
