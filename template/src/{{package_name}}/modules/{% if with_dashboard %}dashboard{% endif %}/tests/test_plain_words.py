"""The text the backend sends to the dashboard passes the same jargon check as the dashboard's
own copy: failure messages, sizing labels, units and reasons, runbook titles and summaries,
the app-key check and HiAgent's status."""

from __future__ import annotations

import httpx
import pytest

from ....hiagent.emulator import EmulatorServer, Failure, Scenario
from ....hiagent.errors import ErrorType, HiAgentCallError
from ...gateway.errors import PLAIN_WORDS, GatewayError
from ...sizing.calculator import SizingInput, recommend
from ...sizing.router import WORKER_SIZING
from ..plain_words import jargon_in

# A cause as the SDK layer words it: action names, statuses and HiAgent's own code.
TECHNICAL = "HiAgent answered 502 to create_conversation: InternalError: boom (HTTP, JSON)"


def test_the_check_finds_what_it_should() -> None:
    assert jargon_in("HiAgent rejected the credentials for create_conversation (401 …)") == [
        "401",
        "create_conversation",
    ]
    assert jargon_in("Set HIAGENT_MAX_CONCURRENCY and PostgreSQL max_connections") == [
        "HIAGENT_MAX_CONCURRENCY",
        "max_connections",
    ]
    assert jargon_in("HiAgent did not accept this app key.") == []


@pytest.mark.parametrize("error_type", list(ErrorType))
def test_failure_messages_are_plain(error_type: ErrorType) -> None:
    cause = HiAgentCallError(error_type, TECHNICAL, status=502)
    message = GatewayError(cause).message
    if error_type in PLAIN_WORDS:
        assert jargon_in(message) == [], message
    assert jargon_in(PLAIN_WORDS.get(error_type, "")) == []


def test_sizing_words_are_plain() -> None:
    for worker in {None, WORKER_SIZING}:  # the worker's own figures, when the product has it
        for load in (SizingInput(), SizingInput(peak_requests_per_minute=6000)):
            result = recommend(load, worker=worker)
            for item in result.recommendations:
                for words in (item.label, item.unit, item.reason):
                    assert jargon_in(words) == [], f"{item.key}: {words!r}"


async def test_what_the_api_sends_the_dashboard_is_plain(
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    hiagent_emulator: EmulatorServer,
) -> None:
    texts: list[str] = []
    for body in ({}, {"use_observed": True}):
        sized = (
            await client.post("/api/v1/sizing", json=body, headers=configurator_headers)
        ).json()
        texts.append(sized["source"])
        for item in sized["recommendations"]:
            texts += [item["label"], item["unit"], item["reason"]]
    books = (await client.get("/api/v1/runbooks", headers=configurator_headers)).json()
    assert books["items"]
    for book in books["items"]:
        texts += [book["title"], book["summary"]]
    hiagent_emulator.set_scenario(
        "bad-key", Scenario(failure=Failure(kind="http_error", status=401, code="InvalidApiKey"))
    )
    for key in ("good-key", "bad-key"):
        checked = await client.post(
            "/api/v1/agent-configs/app-key-check",
            json={"app_key": key},
            headers=configurator_headers,
        )
        # HiAgent's own words are quoted after ours; ours must be plain.
        texts.append(checked.json()["message"].split(" HiAgent said:")[0])
    await hiagent_emulator.astop()
    down = (await client.get("/api/v1/hiagent/status", headers=configurator_headers)).json()
    texts.append(down["message"])

    found = {text: jargon_in(text) for text in texts if jargon_in(text)}
    assert found == {}
