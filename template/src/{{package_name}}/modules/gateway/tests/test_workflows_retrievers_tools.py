"""Blocking workflow runs (output, deadline, failure, retried polls), retrievers and tools.

Runs started with `mode=async` are in `test_async_workflow_runs.py`.
"""

from __future__ import annotations

import httpx

from ....hiagent.emulator import (
    EmulatorServer,
    Failure,
    RetrievalResult,
    Scenario,
    ToolScenario,
    WorkflowScenario,
)
from .conftest import ConfigFactory, LogReader


async def test_a_blocking_workflow_run_returns_its_output(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
) -> None:
    await make_config(
        "monthly-report",
        app_key="app-report",
        config_type="workflow",
        workflow_id="wf-report",
        variables={"format": "short"},
    )
    hiagent_emulator.set_scenario(
        "app-report",
        Scenario(
            workflow=WorkflowScenario(output='{"rows": 12}', processing_polls=2, cost_tokens=40)
        ),
    )

    response = await client.post(
        "/api/v1/workflows/monthly-report/run",
        json={"inputs": {"month": "2026-10"}},
        headers=viewer_headers,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["output"], body["tokens"]) == ("success", {"rows": 12}, 40)
    started = hiagent_emulator.calls("run_app_workflow")[0].body
    assert started["InputData"] == '{"format": "short", "month": "2026-10"}'
    assert len(hiagent_emulator.calls("query_run_app_process")) == 3
    [row] = await request_log()
    assert (row.status, row.tokens_out, row.endpoint) == (
        "success",
        40,
        "/api/v1/workflows/{name}/run",
    )


async def test_a_run_past_its_deadline_answers_504_with_the_run_id(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
) -> None:
    await make_config(
        "report",
        app_key="app-report",
        config_type="workflow",
        workflow_id="wf",
        total_timeout_s=0.5,
    )
    hiagent_emulator.set_scenario(
        "app-report", Scenario(workflow=WorkflowScenario(processing_polls=1000))
    )

    response = await client.post(
        "/api/v1/workflows/report/run", json={"inputs": {}}, headers=viewer_headers
    )

    assert response.status_code == 504
    error = response.json()["error"]
    assert error["hiagent_run_id"] == "run-1"
    assert "0.5 s" in error["message"]
    [row] = await request_log()
    assert row.status == "timeout"
    # The run can still be followed, by whoever started it, with the run_id given.
    followed = await client.get(
        f"/api/v1/workflows/report/runs/{error['run_id']}", headers=viewer_headers
    )
    assert followed.status_code == 200, followed.text
    assert followed.json()["hiagent_run_id"] == "run-1"


async def test_a_failed_workflow_is_a_502_with_its_message(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    await make_config("report", app_key="app-report", config_type="workflow", workflow_id="wf")
    hiagent_emulator.set_scenario(
        "app-report",
        Scenario(workflow=WorkflowScenario(status="failed", message="node 3 divided by zero")),
    )

    response = await client.post(
        "/api/v1/workflows/report/run", json={"inputs": {}}, headers=viewer_headers
    )

    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "workflow_failed"
    assert "divided by zero" in error["message"]
    assert error["run_status"] == "failed"


async def test_a_status_poll_is_a_read_and_is_retried(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    await make_config("report", app_key="app-report", config_type="workflow", workflow_id="wf")
    hiagent_emulator.set_scenario(
        "app-report",
        Scenario(
            failure=Failure(kind="http_error", status=500, actions=["query_run_app_process"]),
            fail_times=1,
        ),
    )

    response = await client.post(
        "/api/v1/workflows/report/run", json={"inputs": {}}, headers=viewer_headers
    )

    assert response.status_code == 200, response.text
    assert [r.status for r in hiagent_emulator.calls("query_run_app_process")] == [500, 200]
    assert len(hiagent_emulator.calls("run_app_workflow")) == 1


async def test_a_retriever_returns_passages_best_first(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
) -> None:
    await make_config(
        "handbook",
        config_type="retriever",
        workspace_id="ws-1",
        dataset_ids=["ds-handbook"],
    )
    hiagent_emulator.set_scenario(
        "ds-handbook",
        Scenario(
            retrieval=[
                RetrievalResult(content="Refunds take 5 days.", score=0.92),
                RetrievalResult(content="Shipping is free.", score=0.4),
            ]
        ),
    )

    response = await client.post(
        "/api/v1/retrievers/handbook/query",
        json={"query": "refund", "top_k": 3, "score_threshold": 0.5},
        headers=viewer_headers,
    )

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["content"] for r in results] == ["Refunds take 5 days."]
    sent = hiagent_emulator.calls("Query")[0].body
    assert (sent["Keywords"], sent["DatasetIds"], sent["TopK"]) == (["refund"], ["ds-handbook"], 3)
    [row] = await request_log()
    assert (row.status, row.query) == ("success", "refund")


async def test_a_retriever_search_is_a_read_and_is_retried(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    await make_config("handbook", config_type="retriever", dataset_ids=["ds-handbook"])
    hiagent_emulator.set_scenario(
        "ds-handbook", Scenario(failure=Failure(kind="http_error", status=502), fail_times=2)
    )

    response = await client.post(
        "/api/v1/retrievers/handbook/query", json={"query": "refund"}, headers=viewer_headers
    )

    assert response.status_code == 200, response.text
    assert [r.status for r in hiagent_emulator.calls("Query")] == [502, 502, 200]


async def test_a_tool_runs_and_its_json_output_comes_back_as_data(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    await make_config("weather", config_type="tool", workspace_id="ws-1", tool_id="tool-weather")
    hiagent_emulator.set_scenario(
        "tool-weather", Scenario(tool=ToolScenario(output='{"temp": 21}'))
    )

    first = await client.post(
        "/api/v1/tools/weather/exec", json={"inputs": {"city": "Paris"}}, headers=viewer_headers
    )
    second = await client.post(
        "/api/v1/tools/weather/exec", json={"inputs": {"city": "Oslo"}}, headers=viewer_headers
    )

    assert first.status_code == 200, first.text
    assert first.json()["output"] == {"temp": 21}
    assert second.status_code == 200
    executed = hiagent_emulator.calls("ExecArchivedTool")
    assert [call.body["InputData"] for call in executed] == [
        '{"city": "Paris"}',
        '{"city": "Oslo"}',
    ]
    assert executed[0].body["PluginID"] == "plugin-emu"
    assert len(hiagent_emulator.calls("GetArchivedTool")) == 1  # the plugin id is remembered


async def test_a_tool_that_fails_is_a_502_with_its_reason(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
) -> None:
    await make_config("weather", config_type="tool", tool_id="tool-weather")
    hiagent_emulator.set_scenario(
        "tool-weather", Scenario(tool=ToolScenario(success=False, reason="city unknown"))
    )

    response = await client.post(
        "/api/v1/tools/weather/exec", json={"inputs": {"city": "?"}}, headers=viewer_headers
    )

    assert response.status_code == 502
    error = response.json()["error"]
    assert (error["code"], error["error_type"]) == ("tool_failed", "tool_failed")
    assert "city unknown" in error["message"]
    [row] = await request_log()
    assert (row.status, row.error_type) == ("error", "tool_failed")
