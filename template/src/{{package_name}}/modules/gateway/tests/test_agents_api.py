"""Asking agents over HTTP: whole answers, streamed answers, conversations, records, spans."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ....hiagent.emulator import EmulatorServer, Scenario, ToolCall
from .conftest import ConfigFactory, LogReader


def sse_events(text: str) -> list[tuple[str, Any]]:
    """(event name, JSON data) of every event in a server-sent events body."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        name = next((line[6:].strip() for line in lines if line.startswith("event:")), "message")
        data = "\n".join(line[5:].strip() for line in lines if line.startswith("data:"))
        if data:
            events.append((name, json.loads(data)))
    return events


async def test_invoke_returns_the_answer_tokens_and_a_new_conversation(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
    span_exporter: InMemorySpanExporter,
) -> None:
    config = await make_config("support-bot", app_key="app-support", variables={"tone": "calm"})
    hiagent_emulator.set_scenario(
        "app-support",
        Scenario(
            answer="Your order ships tomorrow.",
            chunks=3,
            input_tokens=21,
            output_tokens=7,
            think="Check the order first.",
            tool_calls=[ToolCall(name="order_lookup", output="shipped")],
        ),
    )

    response = await client.post(
        "/api/v1/agents/Support-Bot/invoke",
        json={"query": "Where is my order?", "variables": {"lang": "en"}},
        headers={**viewer_headers, "X-Request-ID": "req-invoke-1"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answer"] == "Your order ships tomorrow."
    assert (body["tokens_in"], body["tokens_out"]) == (21, 7)
    assert body["conversation_id"] == "conv-1"
    assert body["correlation_id"] == "req-invoke-1"
    assert body["duration_ms"] >= 0
    created = hiagent_emulator.calls("create_conversation")[0].body
    assert created["Inputs"] == {"tone": "calm", "lang": "en"}
    assert created["UserID"] == "viewer@example.com"
    [row] = await request_log()
    assert (row.status, row.agent_config_id, row.user_id) == (
        "success",
        config["id"],
        "viewer@example.com",
    )
    assert (row.tokens_in, row.tokens_out, row.conversation_id) == (21, 7, "conv-1")
    assert row.endpoint == "/api/v1/agents/{name_or_id}/invoke"
    assert row.correlation_id == "req-invoke-1"
    assert row.query == "Where is my order?"
    spans = {span.name: span for span in span_exporter.get_finished_spans()}
    chat = spans["hiagent chat"]
    assert chat.attributes is not None
    assert chat.attributes["hiagent.config"] == "support-bot"
    assert chat.attributes["hiagent.status"] == "success"
    assert chat.attributes["hiagent.tokens_out"] == 7
    assert "hiagent chat_query_v2" in spans
    assert "hiagent create_conversation" in spans


async def test_a_conversation_continues_without_creating_another(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    await make_config("support-bot")
    first = await client.post(
        "/api/v1/agents/support-bot/invoke", json={"query": "hi"}, headers=viewer_headers
    )
    conversation_id = first.json()["conversation_id"]

    second = await client.post(
        "/api/v1/agents/support-bot/invoke",
        json={"query": "and then?", "conversation_id": conversation_id},
        headers=viewer_headers,
    )

    assert second.status_code == 200, second.text
    assert second.json()["conversation_id"] == conversation_id
    assert len(hiagent_emulator.calls("create_conversation")) == 1
    chats = hiagent_emulator.calls("chat_query_v2")
    assert [c.body["AppConversationID"] for c in chats] == [conversation_id] * 2


async def test_stream_sends_start_message_pieces_and_done(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
) -> None:
    await make_config("support-bot", app_key="app-support")
    hiagent_emulator.set_scenario(
        "app-support", Scenario(answer="one two three", chunks=3, output_tokens=3)
    )

    response = await client.post(
        "/api/v1/agents/support-bot/stream", json={"query": "count"}, headers=viewer_headers
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert (names[0], names[-1]) == ("start", "done")
    assert "".join(data["text"] for name, data in events if name == "message") == "one two three"
    assert names.count("message") == 3
    done = events[-1][1]
    assert done["answer"] == "one two three"
    assert done["tokens_out"] == 3
    assert done["conversation_id"] == events[0][1]["conversation_id"] == "conv-1"
    [row] = await request_log()
    assert (row.status, row.endpoint) == ("success", "/api/v1/agents/{name_or_id}/stream")


async def test_a_failure_inside_a_stream_is_an_error_event(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
) -> None:
    from ....hiagent.emulator import Failure

    await make_config("support-bot", app_key="app-support")
    hiagent_emulator.set_scenario(
        "app-support",
        Scenario(
            answer="partial answer",
            chunks=2,
            failure=Failure(kind="message_failed", message="model overloaded", after_chunks=1),
        ),
    )

    response = await client.post(
        "/api/v1/agents/support-bot/stream", json={"query": "q"}, headers=viewer_headers
    )

    events = sse_events(response.text)
    assert [name for name, _ in events] == ["start", "message", "error"]
    error = events[-1][1]["error"]
    assert error["code"] == "agent_failed"
    assert "model overloaded" in error["message"]
    [row] = await request_log()
    assert (row.status, row.error_type) == ("error", "agent_failed")


async def test_calls_do_not_stall_the_event_loop(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
) -> None:
    await make_config("slow-bot", app_key="app-slow")
    hiagent_emulator.set_scenario(
        "app-slow", Scenario(chunks=4, first_token_seconds=0.2, latency_seconds=0.5)
    )
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    response = await client.post(
        "/api/v1/agents/slow-bot/invoke", json={"query": "q"}, headers=viewer_headers
    )
    ticking.cancel()

    assert response.status_code == 200
    # 0.5 s of answer at one tick per 10 ms: a blocking call would leave only a few ticks.
    assert ticks >= 30
