"""Module actors run in the API use the gateway like a request, even while the app stops."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from ....app import create_app
from ....core.actors import actor
from ....core.settings import Settings
from ....hiagent.settings import HiAgentSettings
from .conftest import ConfigFactory, LogReader


async def test_a_job_still_running_at_shutdown_finishes_its_hiagent_call(
    test_settings: Settings,
    hiagent_settings: HiAgentSettings,
    make_config: ConfigFactory,
    request_log: LogReader,
) -> None:
    await make_config("support-bot", app_key="app-x")
    answers: list[str] = []

    @actor("tests.late_call", max_retries=0)
    async def late_call(app: FastAPI) -> None:
        await asyncio.sleep(0.2)  # shutdown has begun by now
        answer = await app.state.gateway.invoke("support-bot", "hi", user_id="job@example.com")
        answers.append(answer.answer)

    other = create_app(test_settings)
    other.state.hiagent_settings = hiagent_settings
    async with other.router.lifespan_context(other):
        dispatcher = other.state.actor_dispatcher
        # This process's runner, whether or not a worker queue is in front of it.
        inline = getattr(dispatcher, "inline", dispatcher)
        await inline.send(late_call, (), {})

    [answer] = answers
    assert answer
    assert [row.status for row in await request_log()] == ["success"]
