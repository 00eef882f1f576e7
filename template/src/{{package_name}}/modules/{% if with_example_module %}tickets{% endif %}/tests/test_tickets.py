"""The example module end to end: file a ticket, an agent triages it in the background."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic_settings import BaseSettings
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from ....app import create_app
from ....core.events.models import Event
from ....core.module_settings import override_settings, settings_of
from ....core.settings import ConfigurationError, Settings
from ....hiagent.emulator import EmulatorServer, Failure, Scenario
from ....testing.actors import ActorRunner
from ....testing.events import EventLog
from ..service import parse_triage
from ..settings import TicketSettings

TRIAGE = {"category": "billing", "priority": "high", "summary": "Charged twice in March."}


async def add_triage_agent(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/agent-configs",
        json={"name": "ticket-triage", "app_key": "triage-key"},
        headers=headers,
    )
    assert response.status_code == 201, response.text


async def file_ticket(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/tickets",
        json={"subject": "Double charge", "body": "I was billed twice for March."},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "new"
    return body


async def wait_for_status(
    client: httpx.AsyncClient, headers: dict[str, str], ticket_id: int, wanted: str
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(100):  # bounded: at most about 10 s
        body = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=headers)).json()
        if body["status"] == wanted:
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"ticket stayed {body.get('status')!r}: {body}")


async def test_a_new_ticket_is_triaged_by_the_agent(
    app: FastAPI,
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    hiagent_emulator: EmulatorServer,
    db_session: AsyncSession,
    event_log: EventLog,
) -> None:
    hiagent_emulator.set_scenario("triage-key", Scenario(answer=json.dumps(TRIAGE), chunks=3))
    await add_triage_agent(client, configurator_headers)
    ticket = await file_ticket(client, configurator_headers)
    triaged = await wait_for_status(client, configurator_headers, ticket["id"], "triaged")
    assert (triaged["category"], triaged["priority"]) == ("billing", "high")
    assert triaged["summary"] == "Charged twice in March."
    assert triaged["triaged_by_agent"] == "ticket-triage"
    prompt = hiagent_emulator.calls("chat_query_v2")[-1].body["Query"]
    assert "I was billed twice for March." in prompt
    events = (await db_session.exec(select(Event).order_by(Event.id))).all()  # type: ignore[arg-type]
    ticket_events = [e for e in events if e.event_type.startswith("tickets.")]
    assert [e.event_type for e in ticket_events] == ["tickets.created", "tickets.triaged"]
    assert ticket_events[1].payload["category"] == "billing"
    calls = await event_log.wait_for("hiagent.call_finished")
    assert calls[0].payload["agent"] == "ticket-triage"
    assert calls[0].payload["status"] == "success"
    await app.state.request_recorder.flush()
    log = await client.get(
        "/api/v1/analytics/requests",
        params={"agent": "ticket-triage"},
        headers=configurator_headers,
    )
    assert [row["endpoint"] for row in log.json()["items"]] == ["/api/v1/tickets/triage"]
    assert log.json()["items"][0]["tokens_out"] > 0


async def test_without_a_triage_agent_the_ticket_waits_for_a_person(
    client: httpx.AsyncClient, configurator_headers: dict[str, str]
) -> None:
    ticket = await file_ticket(client, configurator_headers)
    review = await wait_for_status(client, configurator_headers, ticket["id"], "needs_review")
    assert "ticket-triage" in review["triage_error"]


async def test_hiagent_away_is_retried_until_it_answers(
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    hiagent_emulator: EmulatorServer,
) -> None:
    await add_triage_agent(client, configurator_headers)
    hiagent_emulator.set_scenario(
        "triage-key",
        Scenario(
            answer=json.dumps(TRIAGE), failure=Failure(kind="http_error", status=503), fail_times=1
        ),
    )
    ticket = await file_ticket(client, configurator_headers)
    triaged = await wait_for_status(client, configurator_headers, ticket["id"], "triaged")
    assert triaged["category"] == "billing"


async def test_retriage_on_demand_and_roles(
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    viewer_headers: dict[str, str],
    hiagent_emulator: EmulatorServer,
) -> None:
    ticket = await file_ticket(client, configurator_headers)
    await wait_for_status(client, configurator_headers, ticket["id"], "needs_review")
    await add_triage_agent(client, configurator_headers)
    hiagent_emulator.set_scenario("triage-key", Scenario(answer=json.dumps(TRIAGE)))
    denied = await client.post(f"/api/v1/tickets/{ticket['id']}/triage", headers=viewer_headers)
    assert denied.status_code == 403
    again = await client.post(
        f"/api/v1/tickets/{ticket['id']}/triage", headers=configurator_headers
    )
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "triaged"
    listed = await client.get(
        "/api/v1/tickets", params={"status": "triaged"}, headers=viewer_headers
    )
    assert [t["id"] for t in listed.json()["items"]] == [ticket["id"]]


async def test_tickets_needing_review_are_triaged_again_by_background_jobs(
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    viewer_headers: dict[str, str],
    hiagent_emulator: EmulatorServer,
    actor_runner: ActorRunner,
) -> None:
    first = await file_ticket(client, configurator_headers)
    second = await file_ticket(client, configurator_headers)
    for ticket in (first, second):
        await wait_for_status(client, configurator_headers, ticket["id"], "needs_review")
    await add_triage_agent(client, configurator_headers)
    hiagent_emulator.set_scenario("triage-key", Scenario(answer=json.dumps(TRIAGE)))

    denied = await client.post("/api/v1/tickets/retriage", headers=viewer_headers)
    assert denied.status_code == 403
    queued = await client.post("/api/v1/tickets/retriage", headers=configurator_headers)
    assert queued.status_code == 202, queued.text
    assert queued.json() == {"queued": 2, "ticket_ids": [first["id"], second["id"]]}
    assert actor_runner.sent == [
        ("tickets.retriage", (first["id"],), {}),
        ("tickets.retriage", (second["id"],), {}),
    ]
    await actor_runner.drain()
    for ticket in (first, second):
        body = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=viewer_headers)).json()
        assert (body["status"], body["category"]) == ("triaged", "billing")
    nothing_left = await client.post("/api/v1/tickets/retriage", headers=configurator_headers)
    assert nothing_left.json() == {"queued": 0, "ticket_ids": []}


def test_a_wrong_module_setting_stops_start_up_naming_the_module(
    test_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKETS_TRIAGE_AGENT", "")
    with pytest.raises(ConfigurationError) as raised:
        create_app(test_settings)
    [problem] = raised.value.problems
    assert problem.startswith("module 'tickets': TICKETS_TRIAGE_AGENT: String should have at least")


def test_module_settings_come_from_the_environment_or_the_caller(
    test_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKETS_TRIAGE_AGENT", "triage-from-env")
    from_env = create_app(test_settings)
    assert settings_of(from_env, TicketSettings).triage_agent == "triage-from-env"
    given = create_app(test_settings, module_settings=[TicketSettings(triage_agent="mine")])
    assert settings_of(given, TicketSettings).triage_agent == "mine"
    override_settings(given, TicketSettings(triage_agent="from-a-later-module"))
    assert settings_of(given, TicketSettings).triage_agent == "from-a-later-module"

    class Undeclared(BaseSettings):
        pass

    with pytest.raises(LookupError, match="not the `settings` of any loaded module"):
        override_settings(given, Undeclared())


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (json.dumps(TRIAGE), ("billing", "high", "Charged twice in March.")),
        (
            'Sure! {"category": "Technical", "priority": "low", "summary": "x"}',
            ("technical", "low", "x"),
        ),
        ('{"category": "weather", "priority": "normal"}', ("other", "normal", "")),
        ("The customer was charged twice.", ("other", "normal", "The customer was charged twice.")),
        ('{"priority": "soon"}', ("other", "normal", '{"priority": "soon"}')),
    ],
)
def test_agent_answers_are_parsed_defensively(answer: str, expected: tuple[str, str, str]) -> None:
    triage = parse_triage(answer)
    assert (triage.category, triage.priority, triage.summary) == expected
