"""Bodies of the analytics API. Durations are milliseconds; times are UTC."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from .rollups import Grain


class UsageStats(BaseModel):
    """Counts, tokens and latency of a set of calls."""

    requests: int
    errors: int = Field(description="Calls that ended in error, timeout or rejection.")
    error_rate: float = Field(description="errors / requests (0 without requests).")
    tokens_in: int
    tokens_out: int
    p50: int | None = Field(description="Median latency (ms), estimated from buckets.")
    p95: int | None = Field(description="95th percentile latency (ms).")
    p99: int | None = Field(description="99th percentile latency (ms).")
    mean: int | None = Field(description="Mean latency (ms).")
    max: int | None = Field(description="Slowest call (ms).")


class AgentUsage(UsageStats):
    """Usage of one agent configuration (`agent_config_id` null: calls without one)."""

    agent_config_id: int | None
    agent_name: str | None = Field(description="Null when the configuration was deleted.")


class UsageSummary(UsageStats):
    """Totals over `[start, end)`, by status and by agent (busiest first)."""

    start: datetime
    end: datetime
    data_as_of: datetime = Field(description="Calls finished before this are counted.")
    by_status: dict[str, int]
    by_agent: list[AgentUsage]


class SeriesPoint(BaseModel):
    """One bucket of a time series; latencies are null for a bucket without calls."""

    bucket: datetime
    requests: int
    errors: int
    tokens_in: int
    tokens_out: int
    p50: int | None
    p95: int | None
    p99: int | None


class TimeSeries(BaseModel):
    """Usage per `interval` over `[start, end)`, every bucket present (zeros included)."""

    start: datetime
    end: datetime
    interval: Grain
    data_as_of: datetime
    series: list[SeriesPoint]


class RequestLogItem(BaseModel):
    """One call from the request log. Viewers get no request text: `query` is null and
    `text_redacted` true; admins and configurators see it."""

    id: int
    timestamp: datetime
    correlation_id: str
    endpoint: str
    agent_config_id: int | None
    agent_name: str | None
    user_id: str
    query: str | None = Field(
        description="What was asked (for workflows and tools, the inputs as JSON); "
        "null when `text_redacted`."
    )
    text_redacted: bool = Field(
        default=False, description="True when `query` is withheld from the caller's role."
    )
    status: str
    error_type: str | None
    duration_ms: int
    tokens_in: int
    tokens_out: int
    conversation_id: str | None


class RequestLogPage(BaseModel):
    """Newest first; pass `next_cursor` as `cursor` for the next page (null: no more)."""

    items: list[RequestLogItem]
    next_cursor: str | None
    limit: int


class LiveSnapshot(UsageStats):
    """Usage over the last `window_minutes`, pushed by `/analytics/live`."""

    window_start: datetime
    window_end: datetime
    window_minutes: int
    data_as_of: datetime
