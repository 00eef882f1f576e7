"""Events the gateway publishes: one per HiAgent call, linked to its request-log row."""

from __future__ import annotations

from typing import ClassVar

from ...core.events.bus import DomainEvent


class HiAgentCallFinished(DomainEvent):
    """A call to HiAgent ended (in any way); `correlation_id` links it to the request log."""

    event_type: ClassVar[str] = "hiagent.call_finished"

    agent_config_id: int | None
    agent: str
    endpoint: str
    status: str
    error_type: str | None
    duration_ms: int
    tokens_in: int
    tokens_out: int
