"""Who reads what people asked: admins and configurators see the request text of the request
log; viewers see the calls with their text withheld (`query` null, `text_redacted` true)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from ....hiagent.emulator import EmulatorServer, Scenario
from ...users.models import Role

API = "/api/v1/analytics"
PRIVATE_QUESTION = "My account 4711 was charged twice, my salary is late"


async def test_viewers_get_the_request_log_without_what_was_asked(
    app: FastAPI,
    client: httpx.AsyncClient,
    role_headers: dict[Role, dict[str, str]],
    hiagent_emulator: EmulatorServer,
) -> None:
    admin, configurator, viewer = (role_headers[role] for role in Role)
    created = await client.post(
        "/api/v1/agent-configs",
        json={"name": "support-bot", "app_key": "app-support-bot"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    hiagent_emulator.set_scenario("app-support-bot", Scenario(answer="We will refund you."))
    asked = await client.post(
        "/api/v1/agents/support-bot/invoke", json={"query": PRIVATE_QUESTION}, headers=configurator
    )
    assert asked.status_code == 200, asked.text
    await app.state.request_recorder.flush()

    # The attack: a viewer lists the request log to read what others asked.
    seen = await client.get(f"{API}/requests", headers=viewer)

    assert seen.status_code == 200, seen.text
    assert "4711" not in seen.text
    [row] = seen.json()["items"]
    assert (row["query"], row["text_redacted"]) == (None, True)
    assert (row["agent_name"], row["status"], row["endpoint"]) == (
        "support-bot",
        "success",
        "/api/v1/agents/{name_or_id}/invoke",
    )
    by_correlation = await client.get(
        f"{API}/requests", params={"correlation_id": row["correlation_id"]}, headers=viewer
    )
    assert by_correlation.json()["items"][0]["query"] is None
    for headers in (configurator, admin):
        full = (await client.get(f"{API}/requests", headers=headers)).json()["items"][0]
        assert (full["query"], full["text_redacted"]) == (PRIVATE_QUESTION, False)


async def test_agent_names_that_look_like_numbers_never_break_the_filters(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    for endpoint in ("summary", "timeseries", "requests", "live"):
        odd = await client.get(f"{API}/{endpoint}", params={"agent": "²"}, headers=viewer_headers)
        assert odd.status_code == 404, (endpoint, odd.text)
        huge = await client.get(
            f"{API}/{endpoint}", params={"agent": str(2**31)}, headers=viewer_headers
        )
        assert huge.status_code == 422, (endpoint, huge.text)
