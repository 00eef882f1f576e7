"""Events of the tasks module, for other modules to subscribe to."""

from __future__ import annotations

from typing import ClassVar

from ...core.events import DomainEvent


class TaskFinished(DomainEvent):
    """A task succeeded or failed for good (published once, with its result)."""

    event_type: ClassVar[str] = "tasks.finished"

    task_id: str
    kind: str
    target: str
    status: str
    error_type: str | None = None
