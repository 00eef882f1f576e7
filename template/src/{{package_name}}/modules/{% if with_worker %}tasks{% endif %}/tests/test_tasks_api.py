"""Background tasks over HTTP, on real Redis and PostgreSQL, run in-process by the runner.

The runner here is the one the worker's actor calls (`execute_task`); the tests that start
real worker processes are in `worker/tests`.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from ....core.events.models import Event
from ....core.models import utcnow
from ....hiagent.emulator import EmulatorServer, Failure, Scenario
from ....worker.queue import TaskQueue
from ...users.models import Role
from ..events import TaskFinished
from ..models import Task
from ..runner import execute_task
from ..service import purge_expired
from .conftest import ConfigFactory, LogReader


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def submit(
    client: httpx.AsyncClient, headers: dict[str, str], name: str = "support-bot", **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/agents/{name}/tasks",
        json={"query": "Where is my order?", **body},
        headers=headers,
    )


async def test_a_submission_answers_202_with_the_queued_task_and_where_to_follow_it(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
) -> None:
    await make_config()
    queued_before = sample("task_submissions_total", mode="queued")

    response = await submit(client, viewer_headers)

    assert response.status_code == 202, response.text
    task = response.json()
    assert task["status"] == "queued"
    assert task["inline"] is False
    assert (task["kind"], task["target"], task["attempts"]) == ("agent", "support-bot", 0)
    assert task["status_url"] == f"/api/v1/tasks/{task['task_id']}"
    assert task["events_url"] == f"/api/v1/tasks/{task['task_id']}/events"
    assert response.headers["location"] == task["status_url"]
    assert sample("task_submissions_total", mode="queued") == queued_before + 1
    again = await client.get(task["status_url"], headers=viewer_headers)
    assert again.json() == task


async def test_a_task_runs_once_and_keeps_its_result_linked_to_the_request(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
    db_session: AsyncSession,
) -> None:
    config = await make_config()
    hiagent_emulator.set_scenario(
        "app-support-bot", Scenario(answer="It ships today.", input_tokens=9, output_tokens=4)
    )
    headers = {**viewer_headers, "X-Request-ID": "req-task-1"}
    task = (await submit(client, headers)).json()

    assert await execute_task(app, task["task_id"]) == "succeeded"
    assert await execute_task(app, task["task_id"]) is None  # finished: a second run is refused

    done = (await client.get(task["status_url"], headers=viewer_headers)).json()
    assert done["status"] == "succeeded"
    assert done["result"]["answer"] == "It ships today."
    assert (done["result"]["tokens_in"], done["result"]["tokens_out"]) == (9, 4)
    assert done["result"]["conversation_id"]
    assert done["correlation_id"] == "req-task-1"
    assert done["error"] is None
    assert done["finished_at"] is not None
    [row] = await request_log()
    assert row.endpoint == "/api/v1/agents/{name_or_id}/tasks"
    assert (row.correlation_id, row.agent_config_id) == ("req-task-1", config["id"])
    events = (
        await db_session.exec(select(Event).where(Event.event_type == TaskFinished.event_type))
    ).all()
    assert [(e.payload["task_id"], e.correlation_id) for e in events] == [
        (task["task_id"], "req-task-1")
    ]


async def test_a_workflow_runs_in_the_background(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
) -> None:
    await make_config("report", config_type="workflow", workflow_id="wf-1")
    response = await client.post(
        "/api/v1/workflows/report/tasks", json={"inputs": {"query": "q3"}}, headers=viewer_headers
    )
    assert response.status_code == 202, response.text
    task = response.json()
    await execute_task(app, task["task_id"])
    done = (await client.get(task["status_url"], headers=viewer_headers)).json()
    assert done["status"] == "succeeded"
    assert done["result"]["status"] == "success"
    assert done["result"]["output"] == {"result": "ok"}


async def test_the_same_idempotency_key_gives_back_the_same_task(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    db_session: AsyncSession,
) -> None:
    await make_config()
    headers = {**viewer_headers, "Idempotency-Key": "order-42"}
    first = await submit(client, headers)
    second = await submit(client, headers)
    other = await submit(client, headers, query="Something else")

    assert second.status_code == 202
    assert second.json()["task_id"] == first.json()["task_id"]
    assert second.headers["idempotent-replayed"] == "true"
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()["error"]["message"]
    assert len((await db_session.exec(select(Task))).all()) == 1


async def test_a_task_is_visible_to_its_submitter_and_to_admins_only(
    client: httpx.AsyncClient,
    role_headers: dict[Role, dict[str, str]],
    make_config: ConfigFactory,
) -> None:
    await make_config()
    admin, configurator, viewer = (role_headers[role] for role in Role)
    task = (await submit(client, viewer)).json()

    assert (await client.get(task["status_url"], headers=viewer)).status_code == 200
    assert (await client.get(task["status_url"], headers=admin)).status_code == 200
    hidden = await client.get(task["status_url"], headers=configurator)
    assert hidden.status_code == 404
    assert "no task" in hidden.json()["error"]["message"]


async def test_refused_submissions_say_why(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    admin_headers: dict[str, str],
    make_config: ConfigFactory,
) -> None:
    await make_config("report", config_type="workflow", workflow_id="wf-1")
    paused = await make_config("paused")
    await client.patch(
        f"/api/v1/agent-configs/{paused['id']}", json={"enabled": False}, headers=admin_headers
    )

    unknown = await submit(client, viewer_headers, name="nobody")
    wrong_type = await submit(client, viewer_headers, name="report")
    disabled = await submit(client, viewer_headers, name="paused")
    mixed = await submit(client, viewer_headers, name="paused", conversation_id="c", variables={})

    assert unknown.status_code == 404
    assert wrong_type.status_code == 409
    assert "/api/v1/workflows/report/tasks" in wrong_type.json()["error"]["message"]
    assert disabled.status_code == 409
    assert "disabled" in disabled.json()["error"]["message"]
    assert mixed.status_code in (409, 422)


async def test_a_retryable_failure_is_retried_after_a_pause_then_succeeds(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    await make_config()
    # HiAgent refuses (503) more times than the gateway's own retry loop tries.
    attempts_per_call = app.state.gateway.client.settings.retry_attempts
    hiagent_emulator.set_scenario(
        "app-support-bot",
        Scenario(
            failure=Failure(kind="http_error", status=503, retry_after=0),
            fail_times=attempts_per_call,
        ),
    )
    task = (await submit(client, viewer_headers)).json()

    assert await execute_task(app, task["task_id"]) == "queued"
    waiting = (await client.get(task["status_url"], headers=viewer_headers)).json()
    assert (waiting["status"], waiting["attempts"]) == ("queued", 1)
    assert waiting["error"]["type"] == "upstream_error"
    assert await execute_task(app, task["task_id"]) is None  # not due yet: the back-off holds

    await asyncio.sleep(app.state.worker_settings.task_retry_base_delay_s + 0.1)
    assert await execute_task(app, task["task_id"]) == "succeeded"
    done = (await client.get(task["status_url"], headers=viewer_headers)).json()
    assert (done["status"], done["attempts"], done["error"]) == ("succeeded", 2, None)


async def test_a_failure_that_a_retry_cannot_fix_is_kept_with_its_reason(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    await make_config()
    hiagent_emulator.set_scenario(
        "app-support-bot",
        Scenario(failure=Failure(kind="http_error", status=400, message="bad variables")),
    )
    failures_before = sample("task_failures_total", task_type="agent", reason="upstream_error")
    task = (await submit(client, viewer_headers)).json()

    assert await execute_task(app, task["task_id"]) == "failed"
    failed = (await client.get(task["status_url"], headers=viewer_headers)).json()
    assert (failed["status"], failed["attempts"], failed["result"]) == ("failed", 1, None)
    assert failed["error"]["type"] == "upstream_error"
    assert "bad variables" in failed["error"]["message"]
    after = sample("task_failures_total", task_type="agent", reason="upstream_error")
    assert after == failures_before + 1


async def test_progress_and_the_outcome_arrive_as_server_sent_events(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    await make_config()
    hiagent_emulator.set_scenario(
        "app-support-bot", Scenario(answer="one two three", chunks=3, latency_seconds=0.3)
    )
    task = (await submit(client, viewer_headers)).json()
    queue: TaskQueue = app.state.task_queue
    channel = f"{queue.settings.redis_namespace}:task:{task['task_id']}"

    following = asyncio.create_task(client.get(task["events_url"], headers=viewer_headers))
    while not (await queue.redis.pubsub_numsub(channel))[0][1]:  # noqa: ASYNC110 - no event for it
        await asyncio.sleep(0.02)
    await execute_task(app, task["task_id"])
    response = await asyncio.wait_for(following, timeout=10)

    events = sse_events(response.text)
    statuses = [data["status"] for name, data in events if name == "status"]
    deltas = "".join(data["text"] for name, data in events if name == "delta")
    assert statuses[0] == "queued"
    assert statuses[-1] == "succeeded"
    assert deltas == "one two three"
    assert events[-1][1]["result"]["answer"] == "one two three"


async def test_finished_results_are_deleted_after_their_retention(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    db_session: AsyncSession,
) -> None:
    await make_config()
    old = (await submit(client, viewer_headers)).json()
    recent = (await submit(client, viewer_headers)).json()
    for task_id in (old["task_id"], recent["task_id"]):
        await execute_task(app, task_id)
    stored = await db_session.get(Task, old["task_id"])
    assert stored is not None
    stored.finished_at = utcnow() - timedelta(hours=25)
    await db_session.commit()

    assert await purge_expired(app.state.database, ttl_hours=24) == 1

    assert (await client.get(old["status_url"], headers=viewer_headers)).status_code == 404
    assert (await client.get(recent["status_url"], headers=viewer_headers)).status_code == 200


def sse_events(text: str) -> list[tuple[str, Any]]:
    """(event name, JSON data) of every event in a server-sent events body."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        name = next((line[6:].strip() for line in lines if line.startswith("event:")), "message")
        data = "\n".join(line[5:].strip() for line in lines if line.startswith("data:"))
        if data:
            events.append((name, json.loads(data)))
    return events
