"""Request and response bodies of /experiments."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ...core.params import MAX_ROW_ID
from .models import ExperimentStatus


class ExperimentCreate(BaseModel):
    """Start splitting the calls to one agent configuration with another."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="What is being tried.")
    config_id: int = Field(
        ge=1, le=MAX_ROW_ID, description="The agent configuration callers name (current)."
    )
    challenger_id: int = Field(
        ge=1, le=MAX_ROW_ID, description="The agent configuration tried against it."
    )
    challenger_share: int = Field(
        default=50, ge=1, le=99, description="Percent of end users sent to the challenger."
    )
    min_calls: int = Field(
        default=100,
        ge=10,
        le=1_000_000,
        description="Calls each side needs before the automatic stop may act.",
    )
    max_error_rate_increase: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="Stop when the challenger's failure rate exceeds the current one's by "
        "more than this (0.05: 5 percentage points).",
    )
    max_p95_increase: float = Field(
        default=0.5,
        gt=0,
        le=100,
        description="Stop when the challenger's p95 response time exceeds the current one's "
        "by more than this fraction (0.5: 50% slower).",
    )


class ExperimentStop(BaseModel):
    """Why it is stopped by hand (optional)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500)


class VariantResults(BaseModel):
    """Calls to one side since the experiment started."""

    config_name: str
    calls: int
    failures: int
    failure_rate: float = Field(description="Failures over calls, 0 to 1.")
    p95_ms: int | None = Field(description="95th percentile response time (ms).")
    tokens_in: int
    tokens_out: int


class ExperimentResults(BaseModel):
    """Both sides, and a sentence a configurator can read."""

    current: VariantResults
    challenger: VariantResults
    summary: str


class ExperimentRead(BaseModel):
    """An experiment with its results (live while it runs, as they stood when it stopped)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: ExperimentStatus
    config_id: int | None
    config_name: str
    challenger_id: int | None
    challenger_name: str
    challenger_share: int
    min_calls: int
    max_error_rate_increase: float
    max_p95_increase: float
    stop_reason: str | None
    stopped_automatically: bool
    started_at: datetime
    stopped_at: datetime | None
    results: ExperimentResults


class ExperimentPage(BaseModel):
    """Experiments, newest first."""

    items: list[ExperimentRead]
    total: int
