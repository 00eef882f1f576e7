"""The HiAgent emulator, driven by the real, unmodified HiAgent SDK."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from hiagent_api.chat import ChatService
from hiagent_api.chat_types import (
    BaseError,
    BlockingChatResponse,
    ChatAgainRequest,
    ChatContinueRequest,
    ChatRequest,
    CreateConversationRequest,
    GetConversationListRequest,
    GetConversationMessageRequest,
    GetSuggestedQuestionsRequest,
    QueryRunAppProcessRequest,
    RunAppWorkflowRequest,
    StopMessageRequest,
    SyncRunAppWorkflowRequest,
)
from hiagent_api.knowledgebase import KnowledgebaseService
from hiagent_api.tool import ToolService
from hiagent_api.tool_types import ExecArchivedToolRequest, GetArchivedToolRequest
from hiagent_api.workflow import WorkflowService
from hiagent_api.workflow_types import QueryWorkflowStatusRequest
from hiagent_components.agent import Agent
from hiagent_components.retriever import KnowledgeRetriever
from hiagent_components.tool import Tool
from hiagent_components.workflow import BlockingWorkflow, Workflow
from httpx_sse import SSEError
from pydantic import ValidationError

from ..emulator import (
    EmulatorServer,
    Failure,
    InputField,
    RetrievalResult,
    Scenario,
    StoppedMessage,
    ToolCall,
    ToolScenario,
    WorkflowScenario,
)

AK = "emu-ak"
SK = "emu-sk"
USER = "user-1"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    """One emulator for the module, verifying TOP signatures."""
    with EmulatorServer(access_key=AK, secret_key=SK) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_emulator(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator.reset()
    # The SDK reads credentials at construction; explicit values keep ~/.volc out (it can crash).
    monkeypatch.setenv("VOLC_ACCESSKEY", AK)
    monkeypatch.setenv("VOLC_SECRETKEY", SK)


@asynccontextmanager
async def connected(factory: Callable[..., Any], emulator: EmulatorServer) -> AsyncIterator[Any]:
    """An SDK service pointed at the emulator, built and closed inside the test's loop."""
    service = factory(endpoint=emulator.top_endpoint)
    if hasattr(service, "set_app_base_url"):
        service.set_app_base_url(emulator.app_base_url)
    try:
        yield service
    finally:
        await service.async_http_client.aclose()
        service.http_client.close()


def chat_request(app_key: str, conversation_id: str, query: str = "hi") -> Any:
    """A ChatRequest; the SDK overwrites ResponseMode per call."""
    return ChatRequest(
        app_key=app_key,
        app_conversation_id=conversation_id,
        query=query,
        response_mode="streaming",
        user_id=USER,
    )


async def new_conversation(chat: Any, app_key: str) -> str:
    """A conversation id from the async create_conversation."""
    created = await chat.acreate_conversation(
        app_key, CreateConversationRequest(app_key=app_key, inputs={}, user_id=USER)
    )
    return str(created.conversation.app_conversation_id)


async def stream_events(chat: Any, app_key: str) -> list[Any]:
    """Every event of one streamed answer in a fresh conversation."""
    conversation_id = await new_conversation(chat, app_key)
    return [e async for e in chat.achat_streaming(app_key, chat_request(app_key, conversation_id))]


# Chat


async def test_agent_streams_chunks_and_token_usage(emulator: EmulatorServer) -> None:
    emulator.set_scenario(
        "app-chat", Scenario(answer="Hello, world", chunks=3, input_tokens=21, output_tokens=34)
    )
    async with connected(ChatService, emulator) as chat:
        chat.set_product_code("prod-emu")
        agent = await Agent.ainit(chat, "app-chat", USER, {})
        events = [e async for e in agent.astream({"query": "hi"})]

    assert [e.event for e in events] == [
        "message_start",
        "message_output_start",
        "message",
        "message",
        "message",
        "message_output_end",
        "message_cost",
        "message_end",
    ]
    assert [e.answer for e in events if e.event == "message"] == ["Hell", "o, w", "orld"]
    cost = events[6]
    assert (cost.input_tokens, cost.output_tokens) == (21, 34)
    assert (agent.name, agent.conversation_id) == ("Emu Agent", "conv-1")
    assert {e.conversation_id for e in events} == {"inner-conv-1"}
    assert {(e.task_id, e.id) for e in events} == {("task-1", "msg-1")}
    assert [(r.action, r.app_key, r.product_code) for r in emulator.requests] == [
        ("get_app_config_preview", "app-chat", "prod-emu"),
        ("create_conversation", "app-chat", "prod-emu"),
        ("chat_query_v2", "app-chat", "prod-emu"),
    ]
    assert emulator.calls("chat_query_v2")[0].body["AppConversationID"] == "conv-1"


async def test_tool_and_think_events_reach_the_agent(emulator: EmulatorServer) -> None:
    scenario = Scenario(answer="Hello", think="Let me think", tool_calls=[ToolCall()])
    emulator.set_scenario("app-tools", scenario)
    async with connected(ChatService, emulator) as chat:
        conversation_id = await new_conversation(chat, "app-tools")
        agent = Agent(chat, "app-tools", USER, conversation_id, "agent", "")
        names = [e.event async for e in agent.astream({"query": "weather?"})]
        answer = await agent.ainvoke({"query": "weather?"})

    assert names[:9] == [
        "message_start",
        "think_message_output_start",
        "think_message",
        "think_message_output_end",
        "agent_thought",
        "tool_message_output_start",
        "tool_message",
        "tool_message_output_end",
        "agent_thought_end",
    ]
    assert answer == "Sunny 25C\n\nHello"


async def test_blocking_chat(emulator: EmulatorServer) -> None:
    emulator.set_scenario(
        "app-block", Scenario(answer="Blocking!", think="hmm", tool_calls=[ToolCall()])
    )
    async with connected(ChatService, emulator) as chat:
        conversation_id = await new_conversation(chat, "app-block")
        reply = await chat.achat_blocking("app-block", chat_request("app-block", conversation_id))

    assert isinstance(reply, BlockingChatResponse)
    assert (reply.answer, reply.think_messages, reply.tool_messages) == (
        "Blocking!",
        ["hmm"],
        ["Sunny 25C"],
    )
    assert reply.conversation_id == f"inner-{conversation_id}"
    assert emulator.calls("chat_query_v2")[0].body["ResponseMode"] == "blocking"


async def test_answer_timing_follows_the_scenario(emulator: EmulatorServer) -> None:
    scenario = Scenario(chunks=3, first_token_seconds=0.15, latency_seconds=0.35)
    emulator.set_scenario("app-slow", scenario)
    async with connected(ChatService, emulator) as chat:
        conversation_id = await new_conversation(chat, "app-slow")
        started = time.monotonic()
        arrivals: dict[str, float] = {}
        events = []
        async for event in chat.achat_streaming(
            "app-slow", chat_request("app-slow", conversation_id)
        ):
            arrivals.setdefault(event.event, time.monotonic() - started)
            events.append(event)
        total = time.monotonic() - started

    assert 0.15 <= arrivals["message"] < 0.3
    assert 0.35 <= total < 0.6
    cost = next(e for e in events if e.event == "message_cost")
    assert (cost.latency_first_resp, cost.latency) == (150, 0.35)


async def test_raw_stream_framing(emulator: EmulatorServer) -> None:
    emulator.set_scenario("app-raw", Scenario(latency_seconds=0.2, keepalive_seconds=0.05))
    body = {"AppConversationID": "conv-x", "Query": "hi", "ResponseMode": "streaming"}
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{emulator.app_base_url}/chat_query_v2", json=body, headers={"Apikey": "app-raw"}
        )

    assert response.headers["content-type"].startswith("text/event-stream")
    lines = [line for line in response.text.split("\n") if line]
    assert all(line.startswith(("data: ", ": ")) for line in lines)
    assert ": keep-alive" in lines
    events = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    assert events[-1]["event"] == "message_end"
    assert response.text.endswith("\n\n")


async def test_conversation_management_actions(emulator: EmulatorServer) -> None:
    emulator.set_scenario("app-conv", Scenario(suggestions=["And tomorrow?"]))
    async with connected(ChatService, emulator) as chat:
        conversation_id = await new_conversation(chat, "app-conv")
        first = await chat.achat_blocking(
            "app-conv", chat_request("app-conv", conversation_id, "q1")
        )
        await chat.achat_blocking("app-conv", chat_request("app-conv", conversation_id, "q2"))
        listed = await chat.aget_conversation_list(
            "app-conv", GetConversationListRequest(app_key="app-conv", user_id=USER)
        )
        messages = await chat.aget_conversation_messages(
            "app-conv",
            GetConversationMessageRequest(
                app_key="app-conv", user_id=USER, app_conversation_id=conversation_id, limit=1
            ),
        )
        suggested = await chat.aget_suggested_questions(
            "app-conv",
            GetSuggestedQuestionsRequest(app_key="app-conv", user_id=USER, message_id=first.id),
        )
        again = [
            e.event
            async for e in chat.achat_again(
                "app-conv",
                ChatAgainRequest(
                    app_key="app-conv",
                    app_conversation_id=conversation_id,
                    message_id=first.id,
                    user_id=USER,
                ),
            )
        ]
        continued = [
            e
            async for e in chat.achat_continue(
                "app-conv",
                ChatContinueRequest(
                    app_key="app-conv", user_id=USER, message_id=first.id, resp_data_standard=True
                ),
            )
        ]
        with pytest.raises(Exception, match="ConversationNotFound"):
            await chat.achat_blocking("app-conv", chat_request("app-conv", first.conversation_id))

    conversation = listed.conversation_list[0]
    assert (conversation.app_conversation_id, conversation.conversation_id) == (
        conversation_id,
        f"inner-{conversation_id}",
    )
    assert [m.query for m in messages.messages] == ["q2"]
    assert messages.messages[0].answer_info.total_tokens == 20
    assert suggested.suggested_questions == ["And tomorrow?"]
    assert again[0] == "message_start"
    assert again[-1] == "message_end"
    assert {e.id for e in continued} == {first.id}


# Failures


async def test_missing_apikey_is_rejected(emulator: EmulatorServer) -> None:
    async with connected(ChatService, emulator) as chat:
        with pytest.raises(Exception, match="InvalidApiKey"):
            await new_conversation(chat, "")

    assert emulator.requests[-1].status == 401


async def test_fail_times_and_retry_after(emulator: EmulatorServer) -> None:
    failure = Failure(
        kind="http_error",
        status=429,
        retry_after=7,
        code="TooManyRequests",
        actions=["create_conversation"],
    )
    emulator.set_scenario("app-busy", Scenario(failure=failure, fail_times=2))
    async with httpx.AsyncClient() as http:
        raw = await http.post(
            f"{emulator.app_base_url}/create_conversation",
            json={"Inputs": {}, "UserID": USER},
            headers={"Apikey": "app-busy"},
        )
    async with connected(ChatService, emulator) as chat:
        with pytest.raises(Exception, match="TooManyRequests"):
            await new_conversation(chat, "app-busy")
        assert await new_conversation(chat, "app-busy") == "conv-1"

    assert (raw.status_code, raw.headers["Retry-After"]) == (429, "7")
    assert raw.json()["ResponseMetadata"]["Error"]["Code"] == "TooManyRequests"
    assert [r.status for r in emulator.requests] == [429, 429, 200]


async def test_http_error_on_a_stream_is_an_sse_error(emulator: EmulatorServer) -> None:
    failure = Failure(kind="http_error", status=503, actions=["chat_query_v2"])
    emulator.set_scenario("app-down", Scenario(failure=failure))
    async with connected(ChatService, emulator) as chat:
        with pytest.raises(SSEError):
            await stream_events(chat, "app-down")


@pytest.mark.parametrize(
    ("kind", "error_field", "expected"),
    [
        (
            "message_failed",
            "error",
            ["message_start", "message_output_start", "message", "message_failed"],
        ),
        (
            "agent_error",
            "error_msg",
            ["message_start", "message_output_start", "message", "agent_error", "message_end"],
        ),
    ],
)
async def test_failure_events_inside_the_stream(
    emulator: EmulatorServer, kind: Any, error_field: str, expected: list[str]
) -> None:
    failure = Failure(kind=kind, message="model overloaded", after_chunks=1)
    emulator.set_scenario("app-fail", Scenario(chunks=2, failure=failure))
    async with connected(ChatService, emulator) as chat:
        events = await stream_events(chat, "app-fail")

    assert [e.event for e in events] == expected
    assert getattr(events[3], error_field) == "model overloaded"
    assert events[2].answer == "Hello,"


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("malformed_event", ValidationError),
        ("non_json_data", json.JSONDecodeError),
        ("missing_event_key", KeyError),
    ],
)
async def test_malformed_frames_break_the_sdk(
    emulator: EmulatorServer, kind: Any, error: type[Exception]
) -> None:
    emulator.set_scenario("app-broken", Scenario(failure=Failure(kind=kind)))
    async with connected(ChatService, emulator) as chat:
        with pytest.raises(error):
            await stream_events(chat, "app-broken")


async def test_error_envelope_with_status_200_is_returned_as_base_error(
    emulator: EmulatorServer,
) -> None:
    failure = Failure(kind="error_envelope", code="QuotaExceeded", actions=["chat_query_v2"])
    emulator.set_scenario("app-quota", Scenario(failure=failure))
    async with connected(ChatService, emulator) as chat:
        conversation_id = await new_conversation(chat, "app-quota")
        reply = await chat.achat_blocking("app-quota", chat_request("app-quota", conversation_id))

    assert isinstance(reply, BaseError)
    assert reply.response_metadata.error.code == "QuotaExceeded"


async def test_timeout_outlasts_the_client_then_answers(emulator: EmulatorServer) -> None:
    emulator.set_scenario(
        "app-timeout", Scenario(failure=Failure(kind="timeout", delay_seconds=0.3))
    )
    async with connected(ChatService, emulator) as chat:
        conversation_id = await new_conversation(chat, "app-timeout")
        chat.async_http_client.timeout = httpx.Timeout(0.1)
        with pytest.raises(httpx.ReadTimeout):
            await new_conversation(chat, "app-timeout")
        chat.async_http_client.timeout = httpx.Timeout(5)
        started = time.monotonic()
        request = chat_request("app-timeout", conversation_id)
        events = [e.event async for e in chat.achat_streaming("app-timeout", request)]

    assert time.monotonic() - started >= 0.3
    assert events[-1] == "message_end"


async def test_stop_message_ends_a_hanging_stream(emulator: EmulatorServer) -> None:
    failure = Failure(kind="hang", actions=["chat_query_v2"])
    emulator.set_scenario("app-hang", Scenario(failure=failure, keepalive_seconds=0.05))
    async with connected(ChatService, emulator) as chat:
        conversation_id = await new_conversation(chat, "app-hang")
        stream = chat.achat_streaming("app-hang", chat_request("app-hang", conversation_id))
        start = await anext(stream)
        assert emulator.active_streams == 1
        await chat.astop_message(
            "app-hang",
            StopMessageRequest(
                app_key="app-hang", user_id=USER, task_id=start.task_id, message_id=start.id
            ),
        )
        rest = [e async for e in stream]

    assert rest == []
    assert emulator.stopped_messages == [
        StoppedMessage(
            app_key="app-hang", task_id="task-1", message_id="msg-1", stream_was_open=True
        )
    ]
    await emulator.wait_for(lambda: emulator.active_streams == 0)


async def test_abandoned_stream_is_no_longer_tracked(emulator: EmulatorServer) -> None:
    emulator.set_scenario("app-long", Scenario(chunks=5, latency_seconds=5))
    async with connected(ChatService, emulator) as chat:
        conversation_id = await new_conversation(chat, "app-long")
        stream = chat.achat_streaming("app-long", chat_request("app-long", conversation_id))
        await anext(stream)
        assert emulator.active_streams == 1
        await stream.aclose()
        await emulator.wait_for(lambda: emulator.active_streams == 0)

    assert emulator.stopped_messages == []


# Workflows


async def test_blocking_workflow(emulator: EmulatorServer) -> None:
    inputs = [InputField(name="city", required=True), InputField(name="days", type=1)]
    emulator.set_scenario("wf-1", Scenario(workflow=WorkflowScenario(inputs=inputs)))
    emulator.set_scenario(
        "app-wf", Scenario(workflow=WorkflowScenario(output='{"answer": 42}', cost_tokens=99))
    )
    async with (
        connected(WorkflowService, emulator) as workflows,
        connected(ChatService, emulator) as chat,
    ):
        workflow = await BlockingWorkflow.ainit(workflows, "app-wf", "ws-1", "wf-1", USER)
        output = await workflow.ainvoke({"city": "Paris", "days": 2})
        run = await chat.async_run_app_workflow(
            "app-wf",
            SyncRunAppWorkflowRequest(
                app_key="app-wf", user_id=USER, input_data="{}", no_debug=True
            ),
        )

    assert workflow.input_schema["required"] == ["city"]
    assert workflow.input_schema["properties"]["days"]["type"] == "integer"
    assert output == '{"answer": 42}'
    assert (run.status, run.cost_token) == ("success", 99)
    assert json.loads(emulator.calls("sync_run_app_workflow")[0].body["InputData"]) == {
        "city": "Paris",
        "days": 2,
    }


async def test_workflow_run_is_polled_until_done(emulator: EmulatorServer) -> None:
    emulator.set_scenario("app-poll", Scenario(workflow=WorkflowScenario(processing_polls=2)))
    async with (
        connected(WorkflowService, emulator) as workflows,
        connected(ChatService, emulator) as chat,
    ):
        started = await chat.arun_app_workflow(
            "app-poll",
            RunAppWorkflowRequest(app_key="app-poll", user_id=USER, input_data="{}", no_debug=True),
        )
        poll = QueryWorkflowStatusRequest(app_key="app-poll", run_id=started.run_id, user_id=USER)
        polls = [await workflows.aquery_workflow_status("app-poll", poll) for _ in range(3)]
        by_chat = await chat.aquery_run_app_process(
            "app-poll",
            QueryRunAppProcessRequest(app_key="app-poll", user_id=USER, run_id=started.run_id),
        )

        emulator.set_scenario("app-poll", Scenario(workflow=WorkflowScenario(processing_polls=1)))
        workflow = Workflow(workflows, "app-poll", USER, {}, "wf", "")
        output = await workflow.ainvoke({"query": "go"})

    assert started.run_id == "run-1"
    assert [(p.status, p.output) for p in polls] == [
        ("processing", ""),
        ("processing", ""),
        ("success", '{"result": "ok"}'),
    ]
    assert by_chat.cost_token == 30
    assert output == '{"result": "ok"}'


async def test_failed_workflow_raises(emulator: EmulatorServer) -> None:
    emulator.set_scenario("app-wf-fail", Scenario(workflow=WorkflowScenario(status="failed")))
    async with connected(WorkflowService, emulator) as workflows:
        workflow = BlockingWorkflow(workflows, "app-wf-fail", USER, {}, "wf", "")
        with pytest.raises(Exception, match="workflow completed with status failed"):
            await workflow.ainvoke({"query": "go"})


# Knowledge and tools (signed TOP)


async def test_knowledge_retriever(emulator: EmulatorServer) -> None:
    hits = [
        RetrievalResult(content="alpha", score=0.9),
        RetrievalResult(content="beta", score=0.4),
        RetrievalResult(content="gamma", score=0.8),
    ]
    emulator.set_scenario("ds-1", Scenario(retrieval=hits))
    async with connected(KnowledgebaseService, emulator) as knowledge:
        retriever = KnowledgeRetriever(knowledge, "kb", "docs", "ws-1", ["ds-1"])
        found = await retriever.ainvoke({"query": "what?"})
        top_one = await KnowledgeRetriever(
            knowledge, "kb", "docs", "ws-1", ["ds-1"], top_k=1
        ).ainvoke({"query": "what?"})

    assert [r.content for r in found.results] == ["alpha", "gamma"]
    assert [r.content for r in top_one.results] == ["alpha"]
    assert emulator.calls("Query")[0].body["Keywords"] == ["what?"]


async def test_tool_success_and_failure(emulator: EmulatorServer) -> None:
    emulator.set_scenario("tool-ok", Scenario(tool=ToolScenario(output='{"temp": 25}')))
    emulator.set_scenario(
        "tool-bad", Scenario(tool=ToolScenario(success=False, reason="quota exhausted"))
    )
    async with connected(ToolService, emulator) as tools:
        tools.set_product_code("prod-emu")
        tool = await Tool.ainit(tools, "ws-1", "tool-ok")
        output = await tool.ainvoke({"city": "Paris"})
        failed = await tools.aexec_archived_tool(
            ExecArchivedToolRequest(
                workspace_id="ws-1",
                plugin_id="plugin-emu",
                tool_id="tool-bad",
                config="",
                input_data="{}",
            )
        )

    assert tool.input_schema["required"] == ["city"]
    assert output == '{"temp": 25}'
    assert (failed.success, failed.reason, failed.output) == (False, "quota exhausted", "")
    executed = emulator.calls("ExecArchivedTool")[0]
    assert (executed.product_code, json.loads(executed.body["InputData"])) == (
        "prod-emu",
        {"city": "Paris"},
    )


@pytest.mark.parametrize(
    ("access_key", "secret_key", "code"),
    [
        (AK, "wrong-secret", "SignatureDoesNotMatch"),
        ("other-ak", SK, "InvalidAccessKey"),
    ],
)
async def test_wrong_credentials_are_rejected(
    emulator: EmulatorServer, access_key: str, secret_key: str, code: str
) -> None:
    async with connected(ToolService, emulator) as tools:
        tools.set_ak(access_key)
        tools.set_sk(secret_key)
        with pytest.raises(Exception, match=code) as raised:
            await tools.aget_archived_tool(GetArchivedToolRequest(workspace_id="ws-1", id="t"))

    assert isinstance(raised.value.args[0], bytes)
    assert emulator.requests[-1].status == 401


async def test_unsigned_top_call_is_rejected(emulator: EmulatorServer) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{emulator.top_endpoint}/?Action=GetWorkflow&Version=2023-08-01", json={"ID": "wf"}
        )

    assert response.status_code == 401
    assert response.json()["ResponseMetadata"]["Error"]["Code"] == "MissingAuthorization"


# Running the emulator


async def test_restart_on_the_same_port() -> None:
    async with (
        EmulatorServer() as emulator,
        connected(ChatService, emulator) as chat,
        connected(ToolService, emulator) as tools,
    ):
        port = emulator.port
        assert await new_conversation(chat, "app") == "conv-1"
        # Without configured AK/SK any signature is accepted.
        tools.set_sk("anything")
        await tools.aget_archived_tool(GetArchivedToolRequest(workspace_id="ws", id="t"))
        emulator.set_scenario("app-hang", Scenario(failure=Failure(kind="hang")))
        hanging = asyncio.create_task(new_conversation(chat, "app-hang"))
        await emulator.wait_for(
            lambda: emulator.calls("create_conversation")[-1].app_key == "app-hang"
        )

        started = time.monotonic()
        await emulator.astop()
        stopped = time.monotonic()
        with pytest.raises(httpx.ConnectError):
            await new_conversation(chat, "app")
        await emulator.astart()
        restarted = time.monotonic()

        assert emulator.port == port
        assert await new_conversation(chat, "app") == "conv-2"
        with pytest.raises(Exception, match="EmulatorStopping"):
            await hanging
    assert stopped - started < 0.5
    assert restarted - stopped < 0.5


def test_admin_api_and_scenarios_file(tmp_path: Path) -> None:
    scenarios_file = tmp_path / "scenarios.json"
    scenarios_file.write_text(json.dumps({"*": {"answer": "from file"}}))
    with (
        EmulatorServer(scenarios_file=scenarios_file) as emulator,
        httpx.Client(base_url=f"{emulator.top_endpoint}/_emulator") as admin,
    ):
        chat: Any = ChatService(endpoint=emulator.top_endpoint)
        chat.set_app_base_url(emulator.app_base_url)

        def answer(app_key: str) -> str:
            conversation = chat.create_conversation(
                app_key, CreateConversationRequest(app_key=app_key, inputs={}, user_id=USER)
            ).conversation.app_conversation_id
            return str(chat.chat_blocking(app_key, chat_request(app_key, conversation)).answer)

        put = admin.put("/scenarios/app-x", json={"answer": "over http", "chunks": 2})
        invalid = admin.put("/scenarios/app-x", json={"chunks": 0, "typo": True})
        answers = [answer("app-x"), answer("app-y")]
        logged = admin.get("/requests", params={"action": "chat_query_v2"}).json()
        deleted = admin.delete("/scenarios/app-x")
        after_delete = answer("app-x")
        streams = admin.get("/streams").json()
        admin.post("/reset")
        chat.http_client.close()

        assert put.status_code == 200
        assert invalid.status_code == 422
        assert answers == ["over http", "from file"]
        assert [entry["app_key"] for entry in logged] == ["app-x", "app-y"]
        assert deleted.status_code == 204
        assert after_delete == "from file"
        assert streams == {"active": 0, "stopped": []}
        assert emulator.requests == []
        assert list(admin.get("/scenarios").json()) == ["*"]
