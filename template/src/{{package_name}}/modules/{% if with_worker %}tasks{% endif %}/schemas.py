"""What the task endpoints answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from .models import Task, TaskKind, TaskStatus


class TaskError(BaseModel):
    """Why a task failed: a stable `type` and a message in plain words."""

    type: str
    message: str


class TaskRead(BaseModel):
    """A task: follow `status_url` (or `events_url`, server-sent events) until it finishes."""

    task_id: str
    kind: TaskKind
    target: str = Field(description="The agent or workflow configuration it runs")
    status: TaskStatus = Field(description="queued, running, succeeded or failed")
    result: dict[str, Any] | None = Field(
        default=None, description="The answer (agents) or the run (workflows), once succeeded"
    )
    error: TaskError | None = None
    attempts: int
    inline: bool = Field(
        description="Processed by the API itself while the task queue (Redis) was unavailable"
    )
    correlation_id: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    status_url: str
    events_url: str

    @classmethod
    def of(cls, task: Task, *, status_url: str, events_url: str) -> TaskRead:
        """The API view of a task."""
        error = None
        if task.status is TaskStatus.FAILED or task.error:
            error = TaskError(type=task.error_type or "error", message=task.error or "")
        return cls(
            task_id=task.id,
            kind=task.kind,
            target=task.target,
            status=task.status,
            result=task.result,
            error=error,
            attempts=task.attempts,
            inline=task.inline,
            correlation_id=task.correlation_id,
            created_at=task.created_at,
            started_at=task.started_at,
            finished_at=task.finished_at,
            status_url=status_url,
            events_url=events_url,
        )
