"""Test runs of a configuration: JSON or streamed, stored with their outcome, listed for all."""

from __future__ import annotations

import httpx

from ....hiagent.emulator import EmulatorServer, Failure, Scenario
from .conftest import ConfigFactory, LogReader
from .test_agents_api import sse_events


def runs_url(config_id: int) -> str:
    return f"/api/v1/agent-configs/{config_id}/test-runs"


async def test_a_configurator_tests_an_agent_and_the_run_is_stored(
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
) -> None:
    config = await make_config("support-bot", app_key="app-x", enabled=False)
    hiagent_emulator.set_scenario("app-x", Scenario(answer="Hi there", output_tokens=2))

    response = await client.post(
        runs_url(config["id"]),
        json={"query": "hello", "variables": {"tone": "warm"}},
        headers=configurator_headers,
    )

    assert response.status_code == 201, response.text
    run = response.json()
    assert (run["status"], run["test_output"], run["tokens_out"]) == ("success", "Hi there", 2)
    assert run["test_input"] == {"query": "hello", "variables": {"tone": "warm"}}
    assert run["tested_by"] is not None
    history = await client.get(runs_url(config["id"]), headers=viewer_headers)
    assert history.status_code == 200
    assert [item["id"] for item in history.json()["items"]] == [run["id"]]
    [row] = await request_log()
    assert row.endpoint == "/api/v1/agent-configs/{config_id}/test-runs"


async def test_a_streamed_test_run_sends_pieces_then_the_stored_run(
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    config = await make_config("support-bot", app_key="app-x")
    hiagent_emulator.set_scenario("app-x", Scenario(answer="a b c", chunks=3))

    response = await client.post(
        runs_url(config["id"]),
        json={"query": "hello"},
        headers={**configurator_headers, "Accept": "text/event-stream"},
    )

    assert response.status_code == 200
    events = sse_events(response.text)
    assert [name for name, _ in events] == ["message", "message", "message", "done"]
    assert events[-1][1]["status"] == "success"
    assert events[-1][1]["test_output"] == "a b c"


async def test_failures_and_timeouts_are_stored_as_such(
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    failing = await make_config("failing-bot", app_key="app-fail")
    slow = await make_config("slow-bot", app_key="app-slow", first_token_timeout_s=0.2)
    hiagent_emulator.set_scenario(
        "app-fail", Scenario(failure=Failure(kind="agent_error", message="tool crashed"))
    )
    hiagent_emulator.set_scenario(
        "app-slow", Scenario(failure=Failure(kind="hang", actions=["chat_query_v2"]))
    )

    failed = await client.post(
        runs_url(failing["id"]), json={"query": "q"}, headers=configurator_headers
    )
    timed_out = await client.post(
        runs_url(slow["id"]),
        json={"query": "q"},
        headers={**configurator_headers, "Accept": "text/event-stream"},
    )

    assert failed.status_code == 201
    assert failed.json()["status"] == "failure"
    assert "tool crashed" in failed.json()["error"]
    events = sse_events(timed_out.text)
    assert [name for name, _ in events] == ["error", "done"]
    assert events[0][1]["error"]["code"] == "hiagent_timeout"
    assert events[1][1]["status"] == "timeout"


async def test_workflows_retrievers_and_tools_can_be_tested(
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    make_config: ConfigFactory,
) -> None:
    workflow = await make_config("report", config_type="workflow", workflow_id="wf")
    retriever = await make_config("handbook", config_type="retriever", dataset_ids=["ds"])
    tool = await make_config("weather", config_type="tool", tool_id="tool-weather")

    ran = await client.post(
        runs_url(workflow["id"]), json={"inputs": {"q": "x"}}, headers=configurator_headers
    )
    searched = await client.post(
        runs_url(retriever["id"]), json={"query": "refund"}, headers=configurator_headers
    )
    executed = await client.post(
        runs_url(tool["id"]),
        json={"inputs": {"city": "Paris"}},
        headers={**configurator_headers, "Accept": "text/event-stream"},
    )

    assert ran.json()["status"] == "success"
    assert ran.json()["test_output"] == '{"result": "ok"}'
    assert "emulator answers every query" in searched.json()["test_output"]
    assert sse_events(executed.text)[-1][1]["status"] == "success"


async def test_an_agent_test_needs_a_question_and_a_viewer_cannot_run_one(
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
) -> None:
    config = await make_config("support-bot")

    missing = await client.post(runs_url(config["id"]), json={}, headers=configurator_headers)
    forbidden = await client.post(
        runs_url(config["id"]), json={"query": "q"}, headers=viewer_headers
    )
    unknown = await client.post(runs_url(999), json={"query": "q"}, headers=configurator_headers)

    assert missing.status_code == 422
    assert "needs a question" in missing.json()["error"]["message"]
    assert forbidden.status_code == 403
    assert unknown.status_code == 404
