"""A task runner for tests: module actors run in the test's process, on demand.

async def test_retriage(client, configurator_headers, actor_runner):
    await client.post("/api/v1/tickets/retriage", headers=configurator_headers)
    assert [name for name, *_ in actor_runner.sent] == ["tickets.retriage"]
    await actor_runner.drain()          # every job sent has run (retries included)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from ..core.actors import Actor, InlineDispatcher


class ActorRunner:
    """Records every job sent during a test and runs it here (no worker, no queue)."""

    def __init__(self, app: FastAPI) -> None:
        self._inline = InlineDispatcher(app)
        self.sent: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    async def send(self, actor: Actor[Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Record the job and start it in the background, as the API does without a worker."""
        self.sent.append((actor.name, args, kwargs))
        await self._inline.send(actor, args, kwargs)

    async def drain(self, within_s: float = 10.0) -> None:
        """Wait until every job sent so far (and any they send) has finished."""
        await self._inline.drain(within_s)

    async def stop(self) -> None:
        """Let running jobs end for a moment, then stop them."""
        await self._inline.stop(grace_s=1.0)
