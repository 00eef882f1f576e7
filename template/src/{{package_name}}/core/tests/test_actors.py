"""Module actors: retries with backoff, JSON arguments, in-process runs and their shutdown."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from ..actors import Actor, InlineDispatcher, actor, retry_delay, run_actor


def runs(name: str, status: str) -> float:
    value = REGISTRY.get_sample_value("actor_runs_total", {"actor": name, "status": status})
    return value or 0.0


def flaky(name: str, failures: int, max_retries: int) -> tuple[Actor[[str]], list[str]]:
    """An actor failing its first `failures` runs; returns it and the arguments it saw."""
    seen: list[str] = []

    @actor(name, max_retries=max_retries, retry_base_delay_s=0.001)
    async def job(app: FastAPI, text: str) -> None:
        seen.append(text)
        if len(seen) <= failures:
            raise RuntimeError(f"failure {len(seen)}")

    return job, seen


async def test_a_failing_run_is_tried_again_until_it_succeeds() -> None:
    job, seen = flaky("tests.recovers", failures=2, max_retries=3)
    assert await run_actor(job, FastAPI(), ("hello",), {})
    assert seen == ["hello"] * 3
    assert (runs(job.name, "retry"), runs(job.name, "success")) == (2, 1)


async def test_a_run_failing_every_time_gives_up_after_its_retries() -> None:
    job, seen = flaky("tests.gives_up", failures=10, max_retries=2)
    assert not await run_actor(job, FastAPI(), (), {"text": "x"})
    assert len(seen) == 3
    assert (runs(job.name, "retry"), runs(job.name, "failed")) == (2, 1)


def test_backoff_doubles_within_jitter_and_is_capped() -> None:
    job = Actor("tests.backoff", lambda app: asyncio.sleep(0), retry_base_delay_s=1.0)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (3, 8.0), (20, 300.0)]:
        assert ceiling / 2 <= retry_delay(job, attempt) <= ceiling


def test_actor_names_say_module_and_job() -> None:
    with pytest.raises(ValueError, match=r"must look like 'module\.job'"):
        actor("NoModule")
    with pytest.raises(ValueError, match="must be >= 0"):
        actor("tests.negative", max_retries=-1)


async def test_send_checks_the_arguments_travel_as_json() -> None:
    job, seen = flaky("tests.json_only", failures=0, max_retries=0)
    app = FastAPI()
    app.state.actor_dispatcher = InlineDispatcher(app)
    with pytest.raises(TypeError, match="arguments must be JSON values"):
        await job.send(app, object())  # type: ignore[arg-type]
    await job.send(app, text="fine")
    await app.state.actor_dispatcher.drain(within_s=5)
    assert seen == ["fine"]


async def test_inline_jobs_run_in_the_background_and_may_send_more() -> None:
    app = FastAPI()
    dispatcher = InlineDispatcher(app)
    app.state.actor_dispatcher = dispatcher
    order: list[str] = []

    @actor("tests.second")
    async def second(app: FastAPI) -> None:
        order.append("second")

    @actor("tests.first")
    async def first(app: FastAPI) -> None:
        await asyncio.sleep(0.01)
        order.append("first")
        await second.send(app)

    await first.send(app)
    assert order == []  # sending does not wait for the run
    await dispatcher.drain(within_s=5)
    assert order == ["first", "second"]
    assert dispatcher.pending == 0


async def test_shutdown_waits_for_jobs_then_stops_the_stragglers() -> None:
    app = FastAPI()
    finished: list[str] = []

    @actor("tests.sleeper", max_retries=0)
    async def sleeper(app: FastAPI, seconds: float) -> None:
        await asyncio.sleep(seconds)
        finished.append(f"{seconds:g}")

    async with InlineDispatcher(app).running(grace_s=0.2) as dispatcher:
        await dispatcher.send(sleeper, (0.01,), {})
        await dispatcher.send(sleeper, (60,), {})
    assert finished == ["0.01"]
    assert dispatcher.pending == 0
