"""Experiments: sticky splits on the real invoke path, results, the automatic stop, roles."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ....hiagent.emulator import EmulatorServer, Failure, Scenario
from ...analytics.models import RequestLog
from ...gateway.service import Gateway
from ..module import check_periodically
from ..service import ExperimentSplitter, apply_automatic_stop, assigned_to_challenger

EXPERIMENTS = "/api/v1/experiments"


@pytest_asyncio.fixture(autouse=True)
async def _fresh_splits(app: FastAPI) -> None:
    # Tables are emptied between tests; the running experiments held in memory must follow.
    splitter: ExperimentSplitter = app.state.experiments
    await splitter.reload()


async def make_config(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, **fields: Any
) -> dict[str, Any]:
    body = {"name": name, "app_key": f"app-{name}", "config_type": "agent", **fields}
    response = await client.post("/api/v1/agent-configs", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def start(
    client: httpx.AsyncClient, headers: dict[str, str], current: int, challenger: int, **fields: Any
) -> dict[str, Any]:
    body = {"name": "Shorter prompt", "config_id": current, "challenger_id": challenger, **fields}
    response = await client.post(EXPERIMENTS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    started: dict[str, Any] = response.json()
    return started


async def answered_by(app: FastAPI, session: AsyncSession) -> dict[str, set[int | None]]:
    """End user -> the configurations that answered them, from the request log."""
    await app.state.request_recorder.flush()
    rows = await session.exec(select(RequestLog).order_by(col(RequestLog.id)))
    seen: dict[str, set[int | None]] = defaultdict(set)
    for row in rows.all():
        seen[row.user_id].add(row.agent_config_id)
    return seen


def test_the_assignment_is_deterministic_and_follows_the_share() -> None:
    users = [f"user-{n}@example.com" for n in range(10_000)]
    half = [assigned_to_challenger(7, user, 50) for user in users]
    assert half == [assigned_to_challenger(7, user, 50) for user in users]
    assert 4_700 < sum(half) < 5_300
    assert 800 < sum(assigned_to_challenger(7, user, 10) for user in users) < 1_200
    # Another experiment shuffles users afresh: not the same half every time.
    other = [assigned_to_challenger(8, user, 50) for user in users]
    assert 4_700 < sum(a == b for a, b in zip(half, other, strict=True)) < 5_300


async def test_calls_are_split_per_end_user_and_each_user_keeps_their_side(
    app: FastAPI,
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    admin_headers: dict[str, str],
    db_session: AsyncSession,
) -> None:
    current = await make_config(client, configurator_headers, "support-bot")
    challenger = await make_config(client, configurator_headers, "support-bot-v2")
    experiment = await start(
        client, configurator_headers, current["id"], challenger["id"], min_calls=500
    )
    assert experiment["status"] == "running"
    assert experiment["results"]["summary"] == "No calls yet."

    gateway: Gateway = app.state.gateway
    users = [f"customer-{n}" for n in range(160)]
    for _ in range(2):
        for user in users:
            answer = await gateway.invoke("support-bot", "Where is my order?", user_id=user)
            assert answer.answer
    seen = await answered_by(app, db_session)
    assert all(len(seen[user]) == 1 for user in users), "a user changed sides"
    on_challenger = [user for user in users if seen[user] == {challenger["id"]}]
    assert 55 < len(on_challenger) < 105
    assert {user for user in users if seen[user] == {current["id"]}} == set(users) - set(
        on_challenger
    )

    # The HTTP invoke path splits too: the signed-in account is the end user.
    invoked = await client.post(
        "/api/v1/agents/support-bot/invoke", json={"query": "Hello"}, headers=admin_headers
    )
    assert invoked.status_code == 200, invoked.text
    await app.state.request_recorder.flush()

    read = await client.get(f"{EXPERIMENTS}/{experiment['id']}", headers=configurator_headers)
    results = read.json()["results"]
    assert results["challenger"]["calls"] + results["current"]["calls"] == 2 * len(users) + 1
    assert results["challenger"]["calls"] in (2 * len(on_challenger), 2 * len(on_challenger) + 1)
    for side in ("current", "challenger"):
        assert results[side]["failures"] == 0
        assert results[side]["failure_rate"] == 0
        assert results[side]["p95_ms"] is not None
        assert results[side]["tokens_in"] > 0
        assert results[side]["tokens_out"] > 0
    assert results["current"]["config_name"] == "support-bot"
    assert "support-bot-v2 answered" in results["summary"]
    assert "Too early to tell" in results["summary"]


async def test_a_failing_challenger_is_stopped_automatically_and_its_history_kept(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    viewer_headers: dict[str, str],
    hiagent_emulator: EmulatorServer,
    db_session: AsyncSession,
) -> None:
    current = await make_config(client, admin_headers, "support-bot")
    challenger = await make_config(client, admin_headers, "support-bot-v2")
    hiagent_emulator.set_scenario(
        "app-support-bot-v2",
        Scenario(failure=Failure(actions=["chat_query_v2"], kind="http_error", status=500)),
    )
    experiment = await start(client, admin_headers, current["id"], challenger["id"], min_calls=10)
    gateway: Gateway = app.state.gateway
    users = [f"customer-{n}" for n in range(60)]
    failed = 0
    for user in users:
        try:
            await gateway.invoke("support-bot", "Hello", user_id=user)
        except Exception:
            failed += 1
    assert failed >= 10
    await app.state.request_recorder.flush()

    assert await apply_automatic_stop(app.state.database) == [experiment["id"]]
    await app.state.experiments.reload()

    read = (await client.get(f"{EXPERIMENTS}/{experiment['id']}", headers=viewer_headers)).json()
    assert read["status"] == "stopped"
    assert read["stopped_automatically"] is True
    assert read["stopped_at"] is not None
    assert read["stop_reason"].startswith("Stopped automatically: support-bot-v2 failed 100%")
    assert read["results"]["challenger"]["failures"] == failed
    assert read["results"]["current"]["failures"] == 0

    # Every user is answered by the current configuration again.
    for user in users:
        await gateway.invoke("support-bot", "Hello", user_id=user)
    seen = await answered_by(app, db_session)
    challenger_users = {user for user in users if challenger["id"] in seen[user]}
    assert all(seen[user] == {challenger["id"], current["id"]} for user in challenger_users)

    # The history keeps it, with the results as they stood when it stopped.
    listed = (await client.get(EXPERIMENTS, headers=viewer_headers)).json()
    assert listed["total"] == 1
    assert listed["items"][0]["results"] == read["results"]
    # And the configuration can be tried again.
    again = await start(client, admin_headers, current["id"], challenger["id"])
    assert again["id"] != experiment["id"]


async def test_each_process_checks_periodically_and_stops_splitting(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hiagent_emulator: EmulatorServer,
) -> None:
    current = await make_config(client, admin_headers, "support-bot")
    challenger = await make_config(client, admin_headers, "support-bot-v2")
    hiagent_emulator.set_scenario(
        "app-support-bot-v2",
        Scenario(failure=Failure(actions=["chat_query_v2"], kind="http_error", status=500)),
    )
    experiment = await start(client, admin_headers, current["id"], challenger["id"], min_calls=10)
    gateway: Gateway = app.state.gateway
    splitter: ExperimentSplitter = app.state.experiments
    for n in range(60):
        with contextlib.suppress(Exception):  # the challenger fails on purpose
            await gateway.invoke("support-bot", "Hello", user_id=f"customer-{n}")
    await app.state.request_recorder.flush()
    config = await gateway.find("support-bot")
    on_challenger = next(
        f"customer-{n}"
        for n in range(60)
        if assigned_to_challenger(experiment["id"], f"customer-{n}", 50)
    )
    assert (await splitter.pick(gateway, config, on_challenger)).name == "support-bot-v2"

    checking = asyncio.create_task(check_periodically(splitter, 0.05))
    try:
        url = f"{EXPERIMENTS}/{experiment['id']}"
        for _ in range(100):
            if (await client.get(url, headers=admin_headers)).json()["status"] == "stopped":
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # the round that stopped it reloads the splits next
    finally:
        checking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await checking
    assert (await client.get(url, headers=admin_headers)).json()["stopped_automatically"]
    assert (await splitter.pick(gateway, config, on_challenger)).name == "support-bot"


async def test_no_stop_before_the_minimum_sample(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hiagent_emulator: EmulatorServer,
) -> None:
    current = await make_config(client, admin_headers, "support-bot")
    challenger = await make_config(client, admin_headers, "support-bot-v2")
    hiagent_emulator.set_scenario(
        "app-support-bot-v2",
        Scenario(failure=Failure(actions=["chat_query_v2"], kind="http_error", status=500)),
    )
    experiment = await start(client, admin_headers, current["id"], challenger["id"], min_calls=50)
    for n in range(20):
        with contextlib.suppress(Exception):  # the challenger fails on purpose
            await app.state.gateway.invoke("support-bot", "Hello", user_id=f"customer-{n}")
    await app.state.request_recorder.flush()
    assert await apply_automatic_stop(app.state.database) == []
    read = (await client.get(f"{EXPERIMENTS}/{experiment['id']}", headers=admin_headers)).json()
    assert read["status"] == "running"


async def test_stopping_by_hand_keeps_who_and_why(
    client: httpx.AsyncClient, configurator_headers: dict[str, str]
) -> None:
    current = await make_config(client, configurator_headers, "support-bot")
    challenger = await make_config(client, configurator_headers, "support-bot-v2")
    experiment = await start(client, configurator_headers, current["id"], challenger["id"])
    url = f"{EXPERIMENTS}/{experiment['id']}/stop"
    stopped = await client.post(url, json={"reason": "enough"}, headers=configurator_headers)
    assert stopped.status_code == 200, stopped.text
    body = stopped.json()
    assert body["status"] == "stopped"
    assert body["stopped_automatically"] is False
    assert body["stop_reason"].startswith("Stopped by ")
    assert body["stop_reason"].endswith(": enough")
    again = await client.post(url, headers=configurator_headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


async def test_viewers_read_but_cannot_start_or_stop(
    client: httpx.AsyncClient, admin_headers: dict[str, str], viewer_headers: dict[str, str]
) -> None:
    current = await make_config(client, admin_headers, "support-bot")
    challenger = await make_config(client, admin_headers, "support-bot-v2")
    body = {"name": "Try", "config_id": current["id"], "challenger_id": challenger["id"]}
    refused = await client.post(EXPERIMENTS, json=body, headers=viewer_headers)
    assert refused.status_code == 403
    experiment = await start(client, admin_headers, current["id"], challenger["id"])
    stop = await client.post(f"{EXPERIMENTS}/{experiment['id']}/stop", headers=viewer_headers)
    assert stop.status_code == 403
    listed = await client.get(EXPERIMENTS, headers=viewer_headers)
    assert listed.status_code == 200
    assert [item["status"] for item in listed.json()["items"]] == ["running"]
    assert (await client.get(EXPERIMENTS)).status_code == 401


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"challenger_share": 0}, 422),
        ({"challenger_share": 100}, 422),
        ({"min_calls": 1}, 422),
        ({"max_error_rate_increase": 0}, 422),
        ({"name": ""}, 422),
        ({"unknown": 1}, 422),
        ({"name": "x" * 101}, 422),
        ({"config_id": 2**40}, 422),
        ({"challenger_share": "half"}, 422),
        ({"max_p95_increase": 101}, 422),
        ({"challenger_id": "same"}, 422),
        ({"challenger_id": 999_999}, 422),
        ({"config_id": 999_999}, 422),
        ({"challenger_id": "workflow"}, 422),
    ],
)
async def test_bad_input_is_refused(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    change: dict[str, Any],
    status: int,
) -> None:
    current = await make_config(client, admin_headers, "support-bot")
    challenger = await make_config(client, admin_headers, "support-bot-v2")
    workflow = await make_config(
        client, admin_headers, "flow", config_type="workflow", workflow_id="wf-1"
    )
    body = {"name": "Try", "config_id": current["id"], "challenger_id": challenger["id"]}
    aliases = {"same": current["id"], "workflow": workflow["id"]}
    body.update({key: aliases.get(value, value) for key, value in change.items()})
    response = await client.post(EXPERIMENTS, json=body, headers=admin_headers)
    assert response.status_code == status, response.text
    assert (await client.get(EXPERIMENTS, headers=admin_headers)).json()["total"] == 0


async def test_one_running_experiment_per_configuration(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    current = await make_config(client, admin_headers, "support-bot")
    challenger = await make_config(client, admin_headers, "support-bot-v2")
    await start(client, admin_headers, current["id"], challenger["id"])
    body = {"name": "Again", "config_id": current["id"], "challenger_id": challenger["id"]}
    second = await client.post(EXPERIMENTS, json=body, headers=admin_headers)
    assert second.status_code == 409
    assert "already has a running experiment" in second.json()["error"]["message"]
    missing = await client.get(f"{EXPERIMENTS}/12345", headers=admin_headers)
    assert missing.status_code == 404
    overflow = await client.post(f"{EXPERIMENTS}/{2**40}/stop", headers=admin_headers)
    assert overflow.status_code == 422
    garbled = await client.post(
        EXPERIMENTS,
        content=b"{not json",
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert garbled.status_code == 422
