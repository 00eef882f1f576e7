"""The Task table: the source of truth of every background run.

Redis only carries "run task <id>" messages. Status, result and error live here, so a worker
killed mid-run, a Redis failover or a duplicated message never loses or duplicates a result:
a run claims its task (and renews a lease while it works), and only the holder of the claim
can write the one result.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from ...core.models import created_at_field, enum_type, json_field, optional_datetime_field


class TaskStatus(StrEnum):
    """Where a task stands."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


FINISHED = (TaskStatus.SUCCEEDED, TaskStatus.FAILED)


class TaskKind(StrEnum):
    """What a task runs: an agent answer or a workflow run."""

    AGENT = "agent"
    WORKFLOW = "workflow"


class Task(SQLModel, table=True):
    """A background run of an agent or workflow, with its status, result or failure."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("created_by", "idempotency_key", name="uq_tasks_idempotency_key"),
        Index("ix_tasks_status_available", "status", "available_at"),
    )

    id: str = Field(primary_key=True, max_length=32)
    kind: TaskKind = Field(sa_type=enum_type(TaskKind))
    agent_config_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("agent_configs.id", ondelete="SET NULL"), nullable=True
        ),
    )
    target: str = Field(max_length=100)
    input: dict[str, Any] = json_field({}, server_default="{}")
    status: TaskStatus = Field(default=TaskStatus.QUEUED, sa_type=enum_type(TaskStatus))
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    error_type: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None)
    attempts: int = Field(default=0)
    # Processed by the API itself because Redis was unavailable when it was submitted.
    inline: bool = Field(default=False)
    idempotency_key: str | None = Field(default=None, max_length=128)
    request_hash: str = Field(max_length=64)
    created_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    requested_by: str = Field(default="", max_length=254)
    correlation_id: str = Field(max_length=64)
    # The Redis message that should run it, and when it was (last) sent or found there.
    message_id: str | None = Field(default=None, max_length=64)
    sent_at: datetime | None = optional_datetime_field()
    # The current run's claim and how long it holds without being renewed.
    claim: str | None = Field(default=None, max_length=32)
    lease_until: datetime | None = optional_datetime_field()
    available_at: datetime = created_at_field()
    created_at: datetime = created_at_field()
    started_at: datetime | None = optional_datetime_field()
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True, index=True)
    )
