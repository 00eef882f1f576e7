"""The request-log archive (cold storage) and the record of retention runs.

The archive has the request log's columns, copied from its model: adding a column to
`RequestLog` adds it here too, and the migration drift test asks for both.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, Index, Table, func
from sqlmodel import Field, SQLModel

from ...core.models import created_at_field, enum_type, optional_datetime_field
from ..analytics.models import RequestLog

REQUEST_LOG_COLUMNS = tuple(column.name for column in RequestLog.__table__.columns)  # type: ignore[attr-defined]

request_logs_archive = Table(
    "request_logs_archive",
    SQLModel.metadata,
    *(
        Column(
            column.name,
            column.type,
            primary_key=column.primary_key,
            nullable=column.nullable,
            autoincrement=False,
        )
        for column in RequestLog.__table__.columns  # type: ignore[attr-defined]
    ),
    Column("archived_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_request_logs_archive_timestamp", "timestamp"),
)


class RunStatus(StrEnum):
    """How a retention run ended (or that it is still going, or was interrupted)."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class RetentionRun(SQLModel, table=True):
    """One run of the retention job, with what it moved and deleted."""

    __tablename__ = "retention_runs"

    id: int | None = Field(default=None, primary_key=True)
    trigger: str = Field(max_length=16)
    status: RunStatus = Field(default=RunStatus.RUNNING, sa_type=enum_type(RunStatus))
    moved_to_archive: int = Field(default=0)
    archive_deleted: int = Field(default=0)
    events_deleted: int = Field(default=0)
    test_runs_deleted: int = Field(default=0)
    rollups_deleted: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    error: str | None = Field(default=None)
    started_at: datetime = created_at_field(index=True)
    finished_at: datetime | None = optional_datetime_field()
