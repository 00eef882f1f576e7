"""Who may follow a workflow run: whoever started it, and admins; anyone else gets 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from ....hiagent.emulator import EmulatorServer, Scenario, WorkflowScenario
from ....testing.plugin import UserFactory
from ...users.models import Role, User
from .conftest import ConfigFactory

RUNS = "/api/v1/workflows/{name}/runs/{run_id}"
SECRET_OUTPUT = '{"salary_report": "confidential"}'


def url_of(name: str, run_id: str) -> str:
    return RUNS.format(name=name, run_id=run_id)


async def start_report(
    client: httpx.AsyncClient, headers: dict[str, str], mode: str = "async"
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/workflows/report/run",
        params={"mode": mode},
        json={"inputs": {"month": "2026-10"}},
        headers=headers,
    )
    assert response.status_code in (200, 202), response.text
    body: dict[str, Any] = response.json()
    return body


async def add_report(make_config: ConfigFactory, emulator: EmulatorServer) -> None:
    await make_config("report", app_key="app-report", config_type="workflow", workflow_id="wf")
    emulator.set_scenario(
        "app-report", Scenario(workflow=WorkflowScenario(output=SECRET_OUTPUT, cost_tokens=5))
    )


async def test_a_run_is_readable_by_whoever_started_it_and_by_admins_only(
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    viewer_headers: dict[str, str],
    admin_headers: dict[str, str],
    make_user: UserFactory,
    token_for: Callable[[User], dict[str, str]],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    await add_report(make_config, hiagent_emulator)
    started = await start_report(client, configurator_headers)
    other_configurator = token_for(await make_user(Role.CONFIGURATOR, username="carl"))
    url = RUNS.format(name="report", run_id=started["run_id"])
    bare_url = RUNS.format(name="report", run_id=started["hiagent_run_id"])

    # The attack: a viewer (or another configurator) reads someone else's run output.
    for headers in (viewer_headers, other_configurator):
        for attempt in (url, bare_url):
            denied = await client.get(attempt, headers=headers)
            assert denied.status_code == 404, denied.text
            assert denied.json()["error"]["code"] == "not_found"
            assert "confidential" not in denied.text

    own = await client.get(url, headers=configurator_headers)
    assert own.status_code == 200, own.text
    assert own.json()["output"] == {"salary_report": "confidential"}
    assert own.json()["run_id"] == started["run_id"]
    for admin_url in (url, bare_url):
        seen = await client.get(admin_url, headers=admin_headers)
        assert seen.status_code == 200, seen.text
        assert seen.json()["hiagent_run_id"] == started["hiagent_run_id"]
    # The owner cannot read it by HiAgent's bare id either: only by the run_id given.
    assert (await client.get(bare_url, headers=configurator_headers)).status_code == 404


async def test_a_run_id_is_bound_to_its_workflow_and_cannot_be_forged(
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    await add_report(make_config, hiagent_emulator)
    await make_config("other", app_key="app-report", config_type="workflow", workflow_id="wf")
    started = await start_report(client, configurator_headers)
    mine = await start_report(client, viewer_headers)
    handle: str = started["run_id"]
    run, _, signature = handle.rpartition(".")
    forged = [
        f"{run}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        # A viewer's valid signature, moved onto someone else's run.
        f"{run}.{mine['run_id'].rpartition('.')[2]}",
        f"{run}.",
        f"{run}.{'x' * 22}",
    ]
    for attempt in forged:
        denied = await client.get(url_of("report", attempt), headers=viewer_headers)
        assert denied.status_code == 404, (attempt, denied.text)
    # The same run through another configuration with the same app key: not the run given.
    other = await client.get(url_of("other", handle), headers=configurator_headers)
    assert other.status_code == 404
    own = await client.get(url_of("report", handle), headers=configurator_headers)
    assert own.status_code == 200, own.text


async def test_a_blocking_run_gives_a_run_id_its_owner_can_read_again(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    configurator_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    await add_report(make_config, hiagent_emulator)
    done = await start_report(client, viewer_headers, mode="blocking")
    assert done["status"] == "success"
    url = RUNS.format(name="report", run_id=done["run_id"])
    assert (await client.get(url, headers=viewer_headers)).status_code == 200
    assert (await client.get(url, headers=configurator_headers)).status_code == 404


async def test_run_ids_longer_than_200_characters_are_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get(RUNS.format(name="report", run_id="r" * 201), headers=admin_headers)
    assert response.status_code == 422


async def test_a_run_hiagent_does_not_know_is_404_not_502(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    await add_report(make_config, hiagent_emulator)
    response = await client.get(url_of("report", "no-such-run"), headers=admin_headers)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"
