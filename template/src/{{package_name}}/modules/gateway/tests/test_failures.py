"""Every way HiAgent can fail, as a caller of `/invoke` sees it: status, code, retries, log."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from ....hiagent.emulator import EmulatorServer, Failure, Scenario
from .conftest import ConfigFactory, LogReader


@dataclass(frozen=True)
class Case:
    """A scenario on `chat_query_v2` and what the caller must get."""

    id: str
    scenario: Scenario
    status: int
    code: str
    error_type: str
    chat_calls: int
    log_status: str = "error"


def chat_failure(**fields: object) -> Failure:
    return Failure(actions=["chat_query_v2"], **fields)  # type: ignore[arg-type]


CASES = [
    Case(
        "400 is passed on, not retried",
        Scenario(failure=chat_failure(kind="http_error", status=400, code="InvalidParameter")),
        502,
        "hiagent_error",
        "upstream_error",
        1,
    ),
    Case(
        "401 is an auth failure",
        Scenario(failure=chat_failure(kind="http_error", status=401, code="InvalidApiKey")),
        502,
        "hiagent_auth_failed",
        "auth",
        1,
    ),
    Case(
        "500 on a chat is never sent twice",
        Scenario(failure=chat_failure(kind="http_error", status=500)),
        502,
        "hiagent_error",
        "upstream_error",
        1,
    ),
    Case(
        "429 is retried until the attempts run out",
        Scenario(failure=chat_failure(kind="http_error", status=429, retry_after=0)),
        429,
        "hiagent_rate_limited",
        "rate_limited",
        3,
    ),
    Case(
        "a slow first token times out",
        Scenario(failure=chat_failure(kind="timeout", delay_seconds=5)),
        504,
        "hiagent_timeout",
        "timeout",
        1,
        "timeout",
    ),
    Case(
        "a hanging stream times out",
        Scenario(failure=chat_failure(kind="hang"), keepalive_seconds=0.05),
        504,
        "hiagent_timeout",
        "timeout",
        1,
        "timeout",
    ),
    Case(
        "a whole answer that takes too long times out",
        Scenario(chunks=5, latency_seconds=5, keepalive_seconds=0.05),
        504,
        "hiagent_timeout",
        "timeout",
        1,
        "timeout",
    ),
    Case(
        "message_failed is a failed answer",
        Scenario(failure=chat_failure(kind="message_failed", message="model overloaded")),
        502,
        "agent_failed",
        "agent_failed",
        1,
    ),
    Case(
        "agent_error is a failed answer",
        Scenario(failure=chat_failure(kind="agent_error", message="tool crashed")),
        502,
        "agent_failed",
        "agent_failed",
        1,
    ),
    Case(
        "a malformed frame is a bad answer",
        Scenario(failure=chat_failure(kind="malformed_event", after_chunks=1), chunks=2),
        502,
        "hiagent_bad_answer",
        "bad_answer",
        1,
    ),
    Case(
        "data that is not JSON is a bad answer",
        Scenario(failure=chat_failure(kind="non_json_data")),
        502,
        "hiagent_bad_answer",
        "bad_answer",
        1,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_failure_modes(
    case: Case,
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
) -> None:
    await make_config(
        "support-bot", app_key="app-x", first_token_timeout_s=0.3, total_timeout_s=0.8
    )
    hiagent_emulator.set_scenario("app-x", case.scenario)

    response = await client.post(
        "/api/v1/agents/support-bot/invoke", json={"query": "hi"}, headers=viewer_headers
    )

    assert response.status_code == case.status, response.text
    error = response.json()["error"]
    assert error["code"] == case.code
    assert error["error_type"] == case.error_type
    assert error["correlation_id"]
    assert len(hiagent_emulator.calls("chat_query_v2")) == case.chat_calls
    if case.status in (429, 503):
        assert int(response.headers["Retry-After"]) >= 1
    [row] = await request_log()
    assert (row.status, row.error_type) == (case.log_status, case.error_type)


async def test_a_refused_message_is_sent_again_and_answers(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
) -> None:
    await make_config("support-bot", app_key="app-x")
    hiagent_emulator.set_scenario(
        "app-x",
        Scenario(failure=chat_failure(kind="http_error", status=503), fail_times=1),
    )

    response = await client.post(
        "/api/v1/agents/support-bot/invoke", json={"query": "hi"}, headers=viewer_headers
    )

    assert response.status_code == 200, response.text
    assert [r.status for r in hiagent_emulator.calls("chat_query_v2")] == [503, 200]
    [row] = await request_log()
    assert row.status == "success"


async def test_retry_after_from_hiagent_is_waited_for(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    await make_config("support-bot", app_key="app-x")
    hiagent_emulator.set_scenario(
        "app-x",
        Scenario(failure=chat_failure(kind="http_error", status=429, retry_after=1), fail_times=1),
    )

    response = await client.post(
        "/api/v1/agents/support-bot/invoke", json={"query": "hi"}, headers=viewer_headers
    )

    assert response.status_code == 200, response.text
    assert [r.status for r in hiagent_emulator.calls("chat_query_v2")] == [429, 200]
    assert response.json()["duration_ms"] >= 1000


async def test_a_retry_after_longer_than_we_wait_is_passed_on(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    await make_config("support-bot", app_key="app-x")
    hiagent_emulator.set_scenario(
        "app-x", Scenario(failure=chat_failure(kind="http_error", status=429, retry_after=30))
    )

    response = await client.post(
        "/api/v1/agents/support-bot/invoke", json={"query": "hi"}, headers=viewer_headers
    )

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert len(hiagent_emulator.calls("chat_query_v2")) == 1


async def test_an_error_envelope_with_status_200_is_an_error(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
) -> None:
    await make_config("support-bot", app_key="app-x")
    hiagent_emulator.set_scenario(
        "app-x",
        Scenario(
            failure=Failure(
                kind="error_envelope",
                code="AppNotPublished",
                message="the app is not published",
                actions=["create_conversation"],
            )
        ),
    )

    response = await client.post(
        "/api/v1/agents/support-bot/invoke", json={"query": "hi"}, headers=viewer_headers
    )

    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "hiagent_error"
    assert "AppNotPublished" in error["message"]
    assert hiagent_emulator.calls("chat_query_v2") == []
    [row] = await request_log()
    assert (row.status, row.error_type) == ("error", "upstream_error")


async def test_hiagent_down_answers_503_quickly_after_connection_retries(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
) -> None:
    await make_config("support-bot")
    await hiagent_emulator.astop()

    response = await client.post(
        "/api/v1/agents/support-bot/invoke", json={"query": "hi"}, headers=viewer_headers
    )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    error = response.json()["error"]
    assert (error["code"], error["error_type"]) == ("hiagent_unreachable", "connect")
    assert error["message"] == "HiAgent cannot be reached right now. Try again in a moment."
    assert "refused" in error["detail"]  # the technical cause, for engineers
    assert error["runbook"] == "hiagent-unreachable"
    [row] = await request_log()
    assert (row.status, row.error_type) == ("error", "connect")
