"""`HiAgentClient` on its own: limits, queues, outcomes, abandoned answers, followed runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
from loguru import logger

from ...core.settings import Settings
from ..client import CallOutcome, HiAgentClient, Target
from ..emulator import EmulatorServer, Scenario, WorkflowScenario
from ..errors import ErrorType, HiAgentCallError
from ..services import open_services
from ..settings import HiAgentSettings


def target(name: str = "bot", **fields: object) -> Target:
    return Target(key=name, name=name, config_type="agent", app_key=f"app-{name}", **fields)  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def client_with(test_settings: Settings) -> AsyncIterator[Callable[..., HiAgentClient]]:
    """A client with some settings changed: `client_with(max_concurrency=1)`."""
    async with open_services(test_settings, HiAgentSettings(_env_file=None)) as services:
        made: list[HiAgentClient] = []

        def factory(**changes: object) -> HiAgentClient:
            options = HiAgentSettings(_env_file=None, retry_base_delay_s=0.01, **changes)  # type: ignore[arg-type]
            made.append(HiAgentClient(services, options))
            return made[-1]

        yield factory
        for client in made:
            await client.aclose()


async def answer(client: HiAgentClient, which: Target) -> str:
    stream = await client.open_chat(which, "hi", user_id="u")
    return (await stream.collect()).answer


async def test_a_full_process_queue_refuses_at_once(
    client_with: Callable[..., HiAgentClient], hiagent_emulator: EmulatorServer
) -> None:
    client = client_with(max_concurrency=1, max_queue=0)
    hiagent_emulator.set_scenario("app-a", Scenario(latency_seconds=0.3))

    first = asyncio.create_task(answer(client, target("a")))
    await hiagent_emulator.wait_for(lambda: hiagent_emulator.calls("chat_query_v2"))
    with pytest.raises(HiAgentCallError) as refused:
        await answer(client, target("b"))

    assert refused.value.error_type is ErrorType.BUSY
    assert refused.value.retry_after_s == 2
    assert await first == "Hello, world"


async def test_a_caller_waits_for_a_slot_no_longer_than_allowed(
    client_with: Callable[..., HiAgentClient], hiagent_emulator: EmulatorServer
) -> None:
    client = client_with(max_concurrency=1, max_queue=5, queue_timeout_s=0.1)
    hiagent_emulator.set_scenario("app-a", Scenario(latency_seconds=0.5))

    first = asyncio.create_task(answer(client, target("a")))
    await hiagent_emulator.wait_for(lambda: hiagent_emulator.calls("chat_query_v2"))
    with pytest.raises(HiAgentCallError) as refused:
        await answer(client, target("b"))

    assert "no slot became free within 0.1 s" in refused.value.message
    await first
    assert client.process_limiter.in_use == 0


async def test_every_call_reports_its_outcome_once(
    client_with: Callable[..., HiAgentClient], hiagent_emulator: EmulatorServer
) -> None:
    client = client_with()
    outcomes: list[CallOutcome] = []
    hiagent_emulator.set_scenario("app-a", Scenario(input_tokens=3, output_tokens=4))

    stream = await client.open_chat(target("a"), "hi", user_id="u", on_finish=outcomes.append)
    await stream.collect()
    stream.close()

    [outcome] = outcomes
    assert (outcome.status, outcome.tokens_in, outcome.tokens_out) == ("success", 3, 4)
    assert outcome.conversation_id == "conv-1"


async def test_closing_an_answer_early_stops_it_upstream(
    client_with: Callable[..., HiAgentClient], hiagent_emulator: EmulatorServer
) -> None:
    client = client_with()
    outcomes: list[CallOutcome] = []
    hiagent_emulator.set_scenario(
        "app-a",
        Scenario(answer="a b c d", chunks=4, latency_seconds=2, keepalive_seconds=0.05),
    )

    stream = await client.open_chat(target("a"), "hi", user_id="u", on_finish=outcomes.append)
    async with stream:
        first = await anext(stream)

    assert first
    assert "a b c d".startswith(first)
    await hiagent_emulator.wait_for(lambda: hiagent_emulator.stopped_messages)
    assert hiagent_emulator.stopped_messages[0].stream_was_open
    await hiagent_emulator.wait_for(lambda: hiagent_emulator.active_streams == 0)
    assert [outcome.status for outcome in outcomes] == ["cancelled"]


async def test_calls_are_refused_when_hiagent_is_not_configured(
    hiagent_emulator: EmulatorServer,
) -> None:
    client = HiAgentClient(
        None, HiAgentSettings(_env_file=None), problems=["HIAGENT_TOP_ENDPOINT is not set"]
    )

    with pytest.raises(HiAgentCallError) as refused:
        await client.open_chat(target("a"), "hi", user_id="u")

    assert refused.value.error_type is ErrorType.NOT_CONFIGURED
    assert "HIAGENT_TOP_ENDPOINT is not set" in refused.value.message
    assert await client.readiness_problem() == (
        "HiAgent is not configured: HIAGENT_TOP_ENDPOINT is not set"
    )
    assert hiagent_emulator.requests == []


async def test_an_answer_stalling_after_its_first_token_is_a_total_timeout_and_is_stopped(
    client_with: Callable[..., HiAgentClient], hiagent_emulator: EmulatorServer
) -> None:
    client = client_with()
    hiagent_emulator.set_scenario(
        "app-a", Scenario(chunks=2, latency_seconds=5, keepalive_seconds=0.05)
    )

    stream = await client.open_chat(
        target("a", first_token_timeout_s=1.0, total_timeout_s=0.4), "hi", user_id="u"
    )
    with pytest.raises(HiAgentCallError) as timed_out:
        await stream.collect()

    assert timed_out.value.details["timeout"] == "total"
    await hiagent_emulator.wait_for(lambda: hiagent_emulator.stopped_messages)


async def test_a_followed_run_holds_no_slot_between_its_polls(
    client_with: Callable[..., HiAgentClient], hiagent_emulator: EmulatorServer
) -> None:
    client = client_with(config_max_queue=1, queue_timeout_s=0.5)
    hiagent_emulator.set_scenario(
        "app-a", Scenario(workflow=WorkflowScenario(processing_polls=1000))
    )
    workflow = target("a", max_concurrency=1)

    run = await client.run_workflow(workflow, {}, user_id="u", wait=False)
    await hiagent_emulator.wait_for(lambda: hiagent_emulator.calls("query_run_app_process"))
    status = await client.workflow_status(workflow, run.run_id, user_id="u")

    assert client.followed_runs == 1
    assert (status.status, status.deadline_at) == ("processing", run.deadline_at)


async def test_runs_beyond_the_follow_limit_start_unfollowed_and_say_so(
    client_with: Callable[..., HiAgentClient], hiagent_emulator: EmulatorServer
) -> None:
    client = client_with(max_followed_runs=1)
    hiagent_emulator.set_scenario(
        "app-a", Scenario(workflow=WorkflowScenario(processing_polls=1000))
    )
    warnings: list[str] = []
    sink = logger.add(warnings.append, level="WARNING", format="{message}")
    try:
        followed = await client.run_workflow(target("a"), {}, user_id="u", wait=False)
        unfollowed = await client.run_workflow(target("a"), {}, user_id="u", wait=False)
    finally:
        logger.remove(sink)

    assert followed.deadline_at is not None
    assert (unfollowed.status, unfollowed.deadline_at) == ("processing", None)
    assert client.followed_runs == 1
    assert any(
        f"Not following workflow run {unfollowed.run_id}" in line
        and "HIAGENT_MAX_FOLLOWED_RUNS" in line
        for line in warnings
    )
