"""What callers rely on: names, refusals in plain words, readiness, metrics, the Python API."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from ....core.errors import ConflictError, NotFoundError, install_error_handlers
from ....hiagent.emulator import EmulatorServer, Failure, Scenario
from ...agents.errors import AgentConfigNotFound
from ..errors import GatewayError
from ..service import Gateway
from .conftest import ConfigFactory, LogReader


async def test_an_unknown_name_is_a_404_listing_the_names(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], make_config: ConfigFactory
) -> None:
    await make_config("support-bot")
    await make_config("sales-bot")

    response = await client.post(
        "/api/v1/agents/nobody/invoke", json={"query": "hi"}, headers=viewer_headers
    )

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["available"] == ["sales-bot", "support-bot"]
    assert "sales-bot, support-bot" in error["message"]


async def test_business_code_asking_for_an_unknown_name_gets_the_names_and_a_404(
    gateway: Gateway, make_config: ConfigFactory
) -> None:
    await make_config("support-bot")
    await make_config("sales-bot")

    with pytest.raises(AgentConfigNotFound) as missing:
        await gateway.invoke("order-bot", "Where is order 42?", user_id="ann@example.com")
    assert missing.value.requested == "order-bot"
    assert missing.value.available == ["sales-bot", "support-bot"]
    assert isinstance(missing.value, NotFoundError)

    # A route of business code that lets it through: the API answers 404 naming the others.
    business = FastAPI()
    install_error_handlers(business)

    @business.get("/orders/{order_id}/status")
    async def order_status(order_id: int) -> dict[str, str]:
        answer = await gateway.invoke("order-bot", f"Order {order_id}?", user_id="ann@example.com")
        return {"status": answer.answer}

    transport = httpx.ASGITransport(app=business)
    async with httpx.AsyncClient(transport=transport, base_url="http://business") as caller:
        response = await caller.get("/orders/42/status")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert error["available"] == ["sales-bot", "support-bot"]
    assert "'order-bot'" in error["message"]
    assert "sales-bot, support-bot" in error["message"]


async def test_an_agent_is_found_by_id_too(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], make_config: ConfigFactory
) -> None:
    config = await make_config("support-bot")

    response = await client.post(
        f"/api/v1/agents/{config['id']}/invoke", json={"query": "hi"}, headers=viewer_headers
    )

    assert response.status_code == 200


async def test_a_disabled_configuration_is_a_409_and_is_logged_as_rejected(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
) -> None:
    await make_config("support-bot", enabled=False)

    response = await client.post(
        "/api/v1/agents/support-bot/stream", json={"query": "hi"}, headers=viewer_headers
    )

    assert response.status_code == 409
    assert "disabled" in response.json()["error"]["message"]
    assert hiagent_emulator.requests == []
    [row] = await request_log()
    assert (row.status, row.error_type) == ("rejected", "disabled")


@pytest.mark.parametrize(
    ("path", "body", "hint"),
    [
        ("/api/v1/agents/report/invoke", {"query": "hi"}, "POST /api/v1/workflows/report/run"),
        ("/api/v1/tools/report/exec", {"inputs": {}}, "POST /api/v1/workflows/report/run"),
        ("/api/v1/retrievers/report/query", {"query": "hi"}, "workflow configuration"),
    ],
)
async def test_the_wrong_type_of_configuration_is_a_409_saying_where_to_go(
    path: str,
    body: dict[str, object],
    hint: str,
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
) -> None:
    await make_config("report", config_type="workflow", workflow_id="wf")

    response = await client.post(path, json=body, headers=viewer_headers)

    assert response.status_code == 409
    assert hint in response.json()["error"]["message"]


async def test_variables_cannot_change_an_existing_conversation(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], make_config: ConfigFactory
) -> None:
    await make_config("support-bot")

    response = await client.post(
        "/api/v1/agents/support-bot/invoke",
        json={"query": "hi", "conversation_id": "conv-9", "variables": {"a": "b"}},
        headers=viewer_headers,
    )

    assert response.status_code == 422
    assert "when a conversation starts" in response.json()["error"]["message"]


async def test_readiness_reports_hiagent_without_failing_the_service(
    client: httpx.AsyncClient, hiagent_emulator: EmulatorServer
) -> None:
    healthy = (await client.get("/health/ready")).json()
    await hiagent_emulator.astop()
    down = await client.get("/health/ready")

    assert healthy["checks"]["hiagent"] == {"ok": True, "critical": False}
    assert down.status_code == 200
    check = down.json()["checks"]["hiagent"]
    assert check["ok"] is False
    assert check["critical"] is False
    assert "refused the connection" in check["detail"]


async def test_metrics_count_calls_tokens_and_errors_by_configuration_name(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    await make_config("metrics-bot", app_key="app-m")
    hiagent_emulator.set_scenario("app-m", Scenario(input_tokens=5, output_tokens=6))
    await client.post(
        "/api/v1/agents/metrics-bot/invoke", json={"query": "hi"}, headers=viewer_headers
    )
    hiagent_emulator.set_scenario(
        "app-m",
        Scenario(
            input_tokens=5,
            output_tokens=6,
            failure=Failure(kind="http_error", status=429, retry_after=0),
            fail_times=1,
        ),
    )
    await client.post(
        "/api/v1/agents/metrics-bot/invoke", json={"query": "hi"}, headers=viewer_headers
    )

    text = (await client.get("/metrics")).text

    assert 'hiagent_request_total{agent_id="metrics-bot",status="success"} 2.0' in text
    assert 'hiagent_tokens_total{agent_id="metrics-bot",direction="input"} 10.0' in text
    assert 'hiagent_tokens_total{agent_id="metrics-bot",direction="output"} 12.0' in text
    assert 'hiagent_request_duration_seconds_count{agent_id="metrics-bot"} 2.0' in text
    assert 'hiagent_time_to_first_token_seconds_count{agent_id="metrics-bot"} 2.0' in text
    assert 'hiagent_in_flight{agent_id="metrics-bot"} 0.0' in text
    assert 'hiagent_queue_depth{agent_id="metrics-bot"} 0.0' in text
    assert 'hiagent_breaker_state{agent_id="metrics-bot"} 0.0' in text
    assert 'hiagent_retries_total{action="create_conversation",agent_id="metrics-bot"} 1.0' in text
    assert "viewer@example.com" not in text


async def test_business_code_calls_an_agent_by_name(
    gateway: Gateway,
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
) -> None:
    await make_config("support-bot", app_key="app-x")
    hiagent_emulator.set_scenario("app-x", Scenario(answer="Shipped.", chunks=2))

    answer = await gateway.invoke(
        "support-bot", "Where is order 42?", user_id="ann@example.com", endpoint="orders.status"
    )
    async with await gateway.stream(
        "support-bot", "And order 43?", user_id="ann@example.com"
    ) as stream:
        pieces = [text async for text in stream]

    assert answer.answer == "Shipped."
    assert pieces == ["Ship", "ped."]
    assert stream.totals.answer == "Shipped."
    rows = await request_log()
    assert [(row.endpoint, row.user_id) for row in rows] == [
        ("orders.status", "ann@example.com"),
        ("gateway", "ann@example.com"),
    ]
    with pytest.raises(AgentConfigNotFound):
        await gateway.invoke("nobody", "hi", user_id="ann@example.com")
    await make_config("off-bot", enabled=False)
    with pytest.raises(ConflictError):
        await gateway.invoke("off-bot", "hi", user_id="ann@example.com")
    hiagent_emulator.set_scenario(
        "app-x", Scenario(failure=Failure(kind="message_failed", message="overloaded"))
    )
    with pytest.raises(GatewayError) as failed:
        await gateway.invoke("support-bot", "hi", user_id="ann@example.com")
    assert failed.value.status_code == 502
    assert failed.value.cause.error_type.value == "agent_failed"
