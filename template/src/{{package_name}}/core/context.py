"""Per-request context shared by logs, traces, errors and the request log."""

from __future__ import annotations

from contextvars import ContextVar

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
user_var: ContextVar[str | None] = ContextVar("user", default=None)


def current_correlation_id() -> str | None:
    """The correlation id of the request being served, if any."""
    return correlation_id_var.get()
