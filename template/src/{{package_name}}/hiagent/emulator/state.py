"""Everything the emulator remembers: scenarios, the request log, conversations, runs, streams.

The state is shared between the server thread and the test thread, so every access goes through
one lock. It outlives the HTTP server: `EmulatorServer.stop()` / `start()` keep it.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from .scenarios import DEFAULT_SCENARIO_KEY, STREAM_FAILURE_KINDS, Failure, Scenario

# How often a pause looks at the stopping flag; bounds how long EmulatorServer.stop() takes.
PAUSE_POLL_SECONDS = 0.02

# Prefix that turns an AppConversationID into the platform's internal conversation id.
INTERNAL_CONVERSATION_PREFIX = "inner-"


class RecordedRequest(BaseModel):
    """One request as the emulator saw it (headers lower-cased, body parsed when JSON)."""

    surface: Literal["app", "top"]
    action: str
    app_key: str | None
    product_code: str | None
    headers: dict[str, str]
    body: Any
    status: int = 0  # 0 until the answer starts


class StoppedMessage(BaseModel):
    """A `stop_message` call, and whether it matched a stream that was still open."""

    app_key: str
    task_id: str
    message_id: str
    stream_was_open: bool


@dataclass
class StreamHandle:
    """An SSE answer in flight; `stopped` ends it at the next event boundary."""

    task_id: str
    stopped: threading.Event = field(default_factory=threading.Event)


@dataclass
class ChatRecord:
    """One answered query, as `get_conversation_messages` reports it."""

    query_id: str
    query: str
    message_id: str
    task_id: str
    answer: str
    created_at: int
    total_tokens: int
    latency: float


@dataclass
class ConversationRecord:
    """A conversation created by `create_conversation` (or adopted on first use)."""

    app_conversation_id: str
    app_key: str
    user_id: str
    name: str
    created_at: int
    chats: list[ChatRecord] = field(default_factory=list)

    @property
    def internal_id(self) -> str:
        """The platform's own id, deliberately different from AppConversationID."""
        return INTERNAL_CONVERSATION_PREFIX + self.app_conversation_id


@dataclass
class WorkflowRun:
    """An asynchronous workflow run and how many more polls answer `processing`."""

    run_id: str
    app_key: str
    polls_left: int


class EmulatorState:
    """Thread-safe store behind the emulator app; one per emulator."""

    def __init__(
        self,
        scenarios: Mapping[str, Scenario] | None = None,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.stopping = threading.Event()
        self._lock = threading.RLock()
        self._initial = dict(scenarios or {})
        self._scenarios: dict[str, Scenario] = dict(self._initial)
        self._failures_served: dict[str, int] = defaultdict(int)
        self._requests: list[RecordedRequest] = []
        self._stopped: list[StoppedMessage] = []
        self._streams: dict[str, StreamHandle] = {}
        self._conversations: dict[str, ConversationRecord] = {}
        self._message_conversations: dict[str, str] = {}
        self._runs: dict[str, WorkflowRun] = {}
        self._counters: dict[str, Iterator[int]] = defaultdict(lambda: itertools.count(1))

    async def pause(self, seconds: float) -> None:
        """Sleep `seconds` (may be infinite), returning early once the emulator is stopping."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        # Polled: `stopping` is set from another thread, whatever loop this runs on.
        while not self.stopping.is_set() and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(min(PAUSE_POLL_SECONDS, deadline - loop.time()))

    # Scenarios

    def scenario_for(self, key: str) -> Scenario:
        """The scenario for a key, else the "*" scenario, else the built-in default."""
        with self._lock:
            found = self._scenarios.get(key) or self._scenarios.get(DEFAULT_SCENARIO_KEY)
        return found or Scenario()

    def has_scenario(self, key: str) -> bool:
        """Whether a scenario was set for exactly this key."""
        with self._lock:
            return key in self._scenarios

    def scenarios(self) -> dict[str, Scenario]:
        """A copy of the configured scenarios by key."""
        with self._lock:
            return dict(self._scenarios)

    def set_scenario(self, key: str, scenario: Scenario) -> None:
        """Use `scenario` for `key` from now on; restarts its `fail_times` count."""
        with self._lock:
            self._scenarios[key] = scenario
            self._failures_served.pop(key, None)

    def remove_scenario(self, key: str) -> None:
        """Fall back to the default scenario for `key`."""
        with self._lock:
            self._scenarios.pop(key, None)
            self._failures_served.pop(key, None)

    def clear_scenarios(self) -> None:
        """Drop every scenario, including "*" and those loaded at start."""
        with self._lock:
            self._scenarios.clear()
            self._failures_served.clear()

    def reset(self) -> None:
        """Back to the state at construction: start-up scenarios, empty logs, counters at 1."""
        with self._lock:
            self._scenarios = dict(self._initial)
            self._failures_served.clear()
            self._requests.clear()
            self._stopped.clear()
            self._conversations.clear()
            self._message_conversations.clear()
            self._runs.clear()
            self._counters.clear()
            for handle in self._streams.values():
                handle.stopped.set()

    def claim_failure(
        self, key: str, scenario: Scenario, action: str, *, streaming: bool
    ) -> Failure | None:
        """The failure to inject into this call, counting it against `fail_times`."""
        failure = scenario.failure
        if failure is None:
            return None
        if failure.actions is not None and action not in failure.actions:
            return None
        if failure.kind in STREAM_FAILURE_KINDS and not streaming:
            return None
        with self._lock:
            if scenario.fail_times is not None:
                if self._failures_served[key] >= scenario.fail_times:
                    return None
                self._failures_served[key] += 1
        return failure

    # Ids

    def next_id(self, prefix: str) -> str:
        """A deterministic id such as `conv-1`, counted per prefix."""
        with self._lock:
            return f"{prefix}-{next(self._counters[prefix])}"

    # Request log

    def record(self, request: RecordedRequest) -> None:
        """Append a request to the log."""
        with self._lock:
            self._requests.append(request)

    def requests(self) -> list[RecordedRequest]:
        """A copy of the request log, oldest first."""
        with self._lock:
            return list(self._requests)

    # Conversations and messages

    def add_conversation(self, record: ConversationRecord) -> None:
        """Remember a new conversation."""
        with self._lock:
            self._conversations[record.app_conversation_id] = record

    def conversation(self, app_conversation_id: str) -> ConversationRecord | None:
        """A conversation by its AppConversationID."""
        with self._lock:
            return self._conversations.get(app_conversation_id)

    def conversations_of(self, app_key: str, user_id: str) -> list[ConversationRecord]:
        """The conversations one user has with one app, oldest first."""
        with self._lock:
            return [
                c
                for c in self._conversations.values()
                if c.app_key == app_key and c.user_id == user_id
            ]

    def add_chat(self, conversation: ConversationRecord, chat: ChatRecord) -> None:
        """Append an answered query to its conversation."""
        with self._lock:
            conversation.chats.append(chat)
            self._message_conversations[chat.message_id] = conversation.app_conversation_id

    def conversation_of_message(self, message_id: str) -> ConversationRecord | None:
        """The conversation a message id belongs to."""
        with self._lock:
            conversation_id = self._message_conversations.get(message_id)
            return None if conversation_id is None else self._conversations.get(conversation_id)

    # Streams and stops

    def open_stream(self, handle: StreamHandle) -> None:
        """Register an SSE answer in flight."""
        with self._lock:
            self._streams[handle.task_id] = handle

    def close_stream(self, handle: StreamHandle) -> None:
        """Forget an SSE answer once its body is closed (finished, stopped or abandoned)."""
        with self._lock:
            self._streams.pop(handle.task_id, None)

    def active_streams(self) -> int:
        """How many SSE answers are open right now."""
        with self._lock:
            return len(self._streams)

    def stop_message(self, app_key: str, task_id: str, message_id: str) -> None:
        """Record a `stop_message` call and end the matching open stream, if any."""
        with self._lock:
            handle = self._streams.get(task_id)
            if handle is not None:
                handle.stopped.set()
            self._stopped.append(
                StoppedMessage(
                    app_key=app_key,
                    task_id=task_id,
                    message_id=message_id,
                    stream_was_open=handle is not None,
                )
            )

    def stopped_messages(self) -> list[StoppedMessage]:
        """A copy of the `stop_message` calls, oldest first."""
        with self._lock:
            return list(self._stopped)

    # Workflow runs

    def add_run(self, run: WorkflowRun) -> None:
        """Remember an asynchronous workflow run."""
        with self._lock:
            self._runs[run.run_id] = run

    def poll_run(self, run_id: str) -> tuple[WorkflowRun, bool] | None:
        """The run and whether this poll still reports `processing` (consumes one poll)."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return None
            if run.polls_left > 0:
                run.polls_left -= 1
                return run, True
            return run, False
