"""What configurators read: plain failures with the right runbook, recent outcomes, trying
unsaved settings, checking an app key with HiAgent, and whether agents can be called now."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ....hiagent.emulator import EmulatorServer, Failure, Scenario
from ....hiagent.errors import ErrorType
from ...agents.models import AgentConfig, AgentTestRun
from ...runbooks.catalog import default_directory, load_runbooks
from ..errors import PLAIN_WORDS, RUNBOOKS
from .conftest import ConfigFactory, LogReader

REJECTED_KEY = Scenario(
    failure=Failure(kind="http_error", status=401, code="InvalidApiKey", message="invalid key")
)
DRAFT = {"name": "new-helper", "config_type": "agent", "app_key": "app-draft", "enabled": True}


def runs_url(config_id: int) -> str:
    return f"/api/v1/agent-configs/{config_id}/test-runs"


@pytest.mark.parametrize("error_type", list(ErrorType))
def test_every_kind_of_failure_has_a_runbook_that_exists(error_type: ErrorType) -> None:
    books = load_runbooks(default_directory())
    assert RUNBOOKS[error_type] in books, f"{error_type}: no runbook {RUNBOOKS[error_type]!r}"


def test_a_rejected_app_key_leads_to_the_app_key_runbook_not_the_secrets_one() -> None:
    assert RUNBOOKS[ErrorType.AUTH] == "app-key-rejected"
    assert RUNBOOKS[ErrorType.CIRCUIT_OPEN] == "agent-paused"
    assert RUNBOOKS[ErrorType.CONNECT] == "hiagent-unreachable"
    assert "rotate-secrets" not in RUNBOOKS.values()


async def test_a_rejected_app_key_is_said_in_plain_words(
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    config = await make_config("support-bot", app_key="app-bad")
    hiagent_emulator.set_scenario("app-bad", REJECTED_KEY)

    tested = await client.post(
        runs_url(config["id"]), json={"query": "hi"}, headers=configurator_headers
    )
    called = await client.post(
        "/api/v1/agents/support-bot/invoke", json={"query": "hi"}, headers=viewer_headers
    )

    run = tested.json()
    assert run["status"] == "failure"
    assert run["error"].startswith("HiAgent did not accept this app key.")
    assert "InvalidApiKey: invalid key" in run["error"]  # what HiAgent said, without jargon
    assert "create_conversation" not in run["error"]
    assert "401" not in run["error"]
    error = called.json()["error"]
    assert (error["code"], error["runbook"]) == ("hiagent_auth_failed", "app-key-rejected")
    assert error["message"].startswith(PLAIN_WORDS[ErrorType.AUTH])
    assert "401" in error["detail"]
    assert "create_conversation" in error["detail"]


async def test_after_two_failed_tests_the_recent_calls_say_so(
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    config = await make_config("support-bot", app_key="app-bad")
    hiagent_emulator.set_scenario("app-bad", REJECTED_KEY)
    for _ in range(2):
        await client.post(
            runs_url(config["id"]), json={"query": "hi"}, headers=configurator_headers
        )

    breaker = (
        await client.get(
            f"/api/v1/agent-configs/{config['id']}/breaker", headers=configurator_headers
        )
    ).json()

    # A refused key says nothing about HiAgent's health (the breaker stays closed) ...
    assert breaker["state"] == "closed"
    # ... but the calls did fail, and the dashboard must not say they worked.
    assert (breaker["recent_calls"], breaker["recent_failures"]) == (2, 2)
    assert (breaker["last_failed"], breaker["last_error_type"]) == (True, "auth")
    status = (await client.get("/api/v1/hiagent/status", headers=configurator_headers)).json()
    assert status["failing"] == [config["id"]]

    hiagent_emulator.set_scenario("app-bad", Scenario())
    await client.post(runs_url(config["id"]), json={"query": "hi"}, headers=configurator_headers)
    breaker = (
        await client.get(
            f"/api/v1/agent-configs/{config['id']}/breaker", headers=configurator_headers
        )
    ).json()
    assert (breaker["recent_calls"], breaker["recent_failures"]) == (3, 2)
    assert (breaker["last_failed"], breaker["last_error_type"]) == (False, "auth")


async def test_trying_unsaved_settings_keeps_nothing(
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
    db_session: AsyncSession,
) -> None:
    hiagent_emulator.set_scenario("app-draft", Scenario(answer="Draft answer", output_tokens=2))

    response = await client.post(
        "/api/v1/agent-configs/draft-test-runs",
        json={"config": DRAFT, "test": {"query": "hello"}},
        headers=configurator_headers,
    )
    streamed = await client.post(
        "/api/v1/agent-configs/draft-test-runs",
        json={"config": DRAFT, "test": {"query": "hello"}},
        headers={**configurator_headers, "Accept": "text/event-stream"},
    )

    assert response.status_code == 200, response.text
    run = response.json()
    assert (run["status"], run["test_output"], run["tokens_out"]) == ("success", "Draft answer", 2)
    assert "event: done" in streamed.text
    assert "Draft answer" in streamed.text
    assert hiagent_emulator.calls("chat_query_v2"), "the draft really called HiAgent"
    configs = await db_session.exec(select(func.count()).select_from(AgentConfig))
    runs = await db_session.exec(select(func.count()).select_from(AgentTestRun))
    assert (configs.one(), runs.one()) == (0, 0)
    assert await request_log() == []
    # The name stays free: saving now is not refused as taken.
    saved = await client.post("/api/v1/agent-configs", json=DRAFT, headers=configurator_headers)
    assert saved.status_code == 201, saved.text


async def test_trying_unsaved_settings_checks_them_and_needs_a_configurator(
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    viewer_headers: dict[str, str],
) -> None:
    url = "/api/v1/agent-configs/draft-test-runs"
    no_question = await client.post(
        url, json={"config": DRAFT, "test": {}}, headers=configurator_headers
    )
    workflow_without_id = await client.post(
        url,
        json={"config": {**DRAFT, "config_type": "workflow"}, "test": {}},
        headers=configurator_headers,
    )
    viewer = await client.post(
        url, json={"config": DRAFT, "test": {"query": "hi"}}, headers=viewer_headers
    )

    assert no_question.status_code == 422
    assert "needs a question" in no_question.json()["error"]["message"]
    assert workflow_without_id.status_code == 422
    assert viewer.status_code == 403


async def test_an_app_key_is_checked_with_hiagent_before_saving(
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    hiagent_emulator: EmulatorServer,
) -> None:
    hiagent_emulator.set_scenario("app-good", Scenario(app_name="Order help"))
    hiagent_emulator.set_scenario("app-bad", REJECTED_KEY)
    url = "/api/v1/agent-configs/app-key-check"

    good = await client.post(url, json={"app_key": "app-good"}, headers=configurator_headers)
    bad = await client.post(url, json={"app_key": "app-bad"}, headers=configurator_headers)
    await hiagent_emulator.astop()
    away = await client.post(url, json={"app_key": "app-good"}, headers=configurator_headers)

    assert good.status_code == 200, good.text
    assert good.json() == {
        "verdict": "accepted",
        "message": "HiAgent accepted this app key. It belongs to the app \u201cOrder help\u201d.",
        "runbook": None,
    }
    assert bad.json()["verdict"] == "rejected"
    assert bad.json()["message"].startswith("HiAgent did not accept this app key.")
    assert bad.json()["runbook"] == "app-key-rejected"
    assert away.json()["verdict"] == "unknown"
    assert "cannot be reached" in away.json()["message"]
    # One harmless call each, nothing else, and nothing stored.
    previews = hiagent_emulator.calls("get_app_config_preview")
    assert len(previews) == 2
    assert hiagent_emulator.calls("create_conversation") == []


async def test_the_agents_list_learns_when_hiagent_cannot_be_reached(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    hiagent_emulator: EmulatorServer,
) -> None:
    up = (await client.get("/api/v1/hiagent/status", headers=viewer_headers)).json()
    await hiagent_emulator.astop()
    down = (await client.get("/api/v1/hiagent/status", headers=viewer_headers)).json()

    assert up == {"reachable": True, "message": "", "paused": [], "failing": []}
    assert down["reachable"] is False
    assert down["message"] == PLAIN_WORDS[ErrorType.CONNECT]
