"""Errors of the agent registry that business code may catch by type."""

from __future__ import annotations

from ...core.errors import NotFoundError


class AgentConfigNotFound(NotFoundError):
    """No configuration has this name or id; `available` lists the names there are.

    A `NotFoundError`: the API answers it 404 with `available` in the error body.
    """

    def __init__(self, requested: str, available: list[str]) -> None:
        listed = ", ".join(available) if available else "none yet: create one first"
        super().__init__(
            f"No agent configuration is named {requested!r}. Available: {listed}.",
            available=available,
        )
        self.requested = requested
        self.available = available
