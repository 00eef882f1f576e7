"""The SSE answer of `chat_query_v2`, `query_again_v2` and `chat_continue`.

Framing follows what the SDK parses: one JSON object with an "event" key per `data:` line, a
blank line after each frame, keep-alives only as `:` comments, never `id:` or `retry:`, and the
body closed right after the last event.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from .scenarios import Failure, Scenario
from .state import PAUSE_POLL_SECONDS, StreamHandle

KEEPALIVE_FRAME = b": keep-alive\n\n"


@dataclass(frozen=True)
class ChatTurn:
    """Ids and clock shared by every event of one answer."""

    task_id: str
    message_id: str
    conversation_id: str
    created_at_ms: int


def split_answer(answer: str, chunks: int) -> list[str]:
    """Cut `answer` into `chunks` consecutive pieces of near-equal length."""
    size = len(answer)
    return [answer[size * i // chunks : size * (i + 1) // chunks] for i in range(chunks)]


def sse_frame(payload: dict[str, Any], *, event_line: bool = False) -> bytes:
    """One SSE frame carrying `payload` as JSON, optionally preceded by an `event:` line."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    prefix = f"event: {payload['event']}\n" if event_line and "event" in payload else ""
    return f"{prefix}data: {data}\n\n".encode()


class ChatStream:
    """Produces the frames of one answer, honouring timing, failures and stops."""

    def __init__(
        self,
        scenario: Scenario,
        turn: ChatTurn,
        handle: StreamHandle,
        failure: Failure | None,
        stopping: threading.Event,
    ) -> None:
        self._scenario = scenario
        self._turn = turn
        self._handle = handle
        self._failure = failure
        self._stopping = stopping

    async def frames(self) -> AsyncIterator[bytes]:
        """Yield the SSE frames; returns early once stopped (the body then closes)."""
        for delay, frame in self._plan():
            async for keepalive in self._pause(delay):
                yield keepalive
            if self._ended():
                return
            yield frame
        if self._failure is not None and self._failure.kind == "hang":
            async for keepalive in self._pause(math.inf):
                yield keepalive

    def _ended(self) -> bool:
        return self._handle.stopped.is_set() or self._stopping.is_set()

    async def _pause(self, seconds: float) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        next_keepalive = loop.time() + self._scenario.keepalive_seconds
        while not self._ended():
            now = loop.time()
            if now >= deadline:
                return
            if now >= next_keepalive:
                yield KEEPALIVE_FRAME
                next_keepalive += self._scenario.keepalive_seconds
            await asyncio.sleep(min(PAUSE_POLL_SECONDS, deadline - now, next_keepalive - now))

    def _event(self, name: str, **fields: Any) -> bytes:
        payload = {
            "event": name,
            "task_id": self._turn.task_id,
            "id": self._turn.message_id,
            "conversation_id": self._turn.conversation_id,
            "created_at": self._turn.created_at_ms // 1000,
            **fields,
        }
        return sse_frame(payload, event_line=self._scenario.event_lines)

    def _plan(self) -> list[tuple[float, bytes]]:
        """(delay before, frame) pairs for the whole answer."""
        plan = [(0.0, self._event("message_start"))]
        failure = self._failure
        if failure is not None and failure.kind == "hang":
            return plan
        if failure is not None:
            return plan + self._failure_plan(failure)
        plan += self._think_plan() + self._tool_plan()
        return plan + self._answer_plan()

    def _think_plan(self) -> list[tuple[float, bytes]]:
        if self._scenario.think is None:
            return []
        return [
            (0.0, self._event("think_message_output_start")),
            (0.0, self._event("think_message", answer=self._scenario.think)),
            (0.0, self._event("think_message_output_end")),
        ]

    def _tool_plan(self) -> list[tuple[float, bytes]]:
        plan: list[tuple[float, bytes]] = []
        for position, call in enumerate(self._scenario.tool_calls, start=1):
            plan += [
                (
                    0.0,
                    self._event(
                        "agent_thought",
                        message_id=self._turn.message_id,
                        position=position,
                        thought=call.thought,
                        skill_type="tool",
                        tool=call.name,
                        tool_input=call.input,
                    ),
                ),
                (0.0, self._event("tool_message_output_start", message_title=call.name)),
                (0.0, self._event("tool_message", answer=call.output, message_title=call.name)),
                (0.0, self._event("tool_message_output_end", message_title=call.name)),
                (
                    0.0,
                    self._event(
                        "agent_thought_end",
                        position=position,
                        observation=call.output,
                        latency=0.0,
                        tool_latency=0.0,
                        thought_latency=0.0,
                    ),
                ),
            ]
        return plan

    def _answer_plan(self) -> list[tuple[float, bytes]]:
        scenario = self._scenario
        chunks = split_answer(scenario.answer, scenario.chunks)
        remaining = max(0.0, scenario.latency_seconds - scenario.first_token_seconds)
        gap = remaining / (len(chunks) - 1) if len(chunks) > 1 else 0.0
        tail = remaining if len(chunks) == 1 else 0.0
        first_token_ms = round(scenario.first_token_seconds * 1000)
        plan = [(0.0, self._event("message_output_start"))]
        plan += [
            (scenario.first_token_seconds if i == 0 else gap, self._event("message", answer=chunk))
            for i, chunk in enumerate(chunks)
        ]
        plan += [
            (tail, self._event("message_output_end")),
            (
                0.0,
                self._event(
                    "message_cost",
                    input_tokens=scenario.input_tokens,
                    output_tokens=scenario.output_tokens,
                    start_time_first_resp=self._turn.created_at_ms + first_token_ms,
                    latency_first_resp=first_token_ms,
                    latency=max(scenario.latency_seconds, scenario.first_token_seconds),
                ),
            ),
        ]
        if scenario.suggestions:
            plan.append((0.0, self._event("suggestion", suggested_questions=scenario.suggestions)))
        return [*plan, (0.0, self._event("message_end"))]

    def _failure_plan(self, failure: Failure) -> list[tuple[float, bytes]]:
        chunks = split_answer(self._scenario.answer, self._scenario.chunks)
        partial = chunks[: failure.after_chunks]
        plan = [(0.0, self._event("message_output_start"))] if partial else []
        plan += [(0.0, self._event("message", answer=chunk)) for chunk in partial]
        if failure.kind == "message_failed":
            plan.append((0.0, self._event("message_failed", error=failure.message)))
        elif failure.kind == "agent_error":
            plan.append((0.0, self._event("agent_error", error_msg=failure.message)))
        elif failure.kind == "malformed_event":
            plan.append((0.0, self._event("message")))
        elif failure.kind == "non_json_data":
            plan.append((0.0, b"data: {not json\n\n"))
        elif failure.kind == "missing_event_key":
            plan.append((0.0, sse_frame({"task_id": self._turn.task_id, "answer": "?"})))
        if failure.ends_with_message_end:
            plan.append((0.0, self._event("message_end")))
        return plan
