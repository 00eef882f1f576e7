"""Experiments: kept for good, running or stopped (with why), never deleted."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from ...core.models import created_at_field, enum_type, optional_datetime_field


class ExperimentStatus(StrEnum):
    """Whether the split is in force."""

    RUNNING = "running"
    STOPPED = "stopped"


class Experiment(SQLModel, table=True):
    """Calls to `config_name` split between it and `challenger_name`, sticky per end user."""

    __tablename__ = "experiments"
    # At most one running experiment per configuration.
    __table_args__ = (
        Index(
            "uq_experiments_running_config",
            "config_id",
            unique=True,
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    # The configuration callers name (the current version) and the one tried against it.
    # Names are kept too: a configuration deleted later still reads in the history.
    config_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("agent_configs.id", ondelete="SET NULL"), nullable=True
        ),
    )
    config_name: str = Field(max_length=100)
    challenger_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("agent_configs.id", ondelete="SET NULL"), nullable=True
        ),
    )
    challenger_name: str = Field(max_length=100)
    # Percent of end users sent to the challenger.
    challenger_share: int = Field(default=50)
    # The automatic stop: once each side has `min_calls`, the challenger's error rate may
    # exceed the current version's by `max_error_rate_increase` (a fraction), and its p95
    # by `max_p95_increase` (a fraction: 0.5 is 50% slower).
    min_calls: int = Field(default=100)
    max_error_rate_increase: float = Field(default=0.05)
    max_p95_increase: float = Field(default=0.5)
    status: ExperimentStatus = Field(
        default=ExperimentStatus.RUNNING, sa_type=enum_type(ExperimentStatus), index=True
    )
    stop_reason: str | None = Field(default=None, max_length=1000)
    stopped_automatically: bool = Field(default=False)
    # The results when it stopped: the request log is pruned, the history is not.
    final_results: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSONB, nullable=True)
    )
    created_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    started_at: datetime = created_at_field()
    stopped_at: datetime | None = optional_datetime_field()
