"""The gateway: call an agent configuration by name, and record every call.

Business code gets the process's `Gateway` from a route (`gateway: GatewayDep`) or from
`app.state.gateway`:

    answer = await gateway.invoke("support-bot", "Where is my order?", user_id=user.email)
    async with await gateway.stream("support-bot", question, user_id=user.email) as stream:
        async for text in stream:
            ...

Failures raise `GatewayError` (an `AppError`: the API answers it with the right status);
an unknown name raises `AgentConfigNotFound` (its `available` lists the names; the API answers
404), disabled or mismatched configurations `ConflictError`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from types import TracebackType
from typing import Any, Protocol, TypeVar

from loguru import logger
from sqlmodel.ext.asyncio.session import AsyncSession

from ...core.context import current_correlation_id
from ...core.db import Database
from ...core.errors import ConflictError, InvalidRequestError
from ...core.events.bus import EventBus
from ...core.models import utcnow
from ...core.settings import Settings
from ...hiagent.breaker import BreakerSnapshot
from ...hiagent.client import (
    CallOutcome,
    ChatStream,
    ChatTotals,
    FinishCallback,
    HiAgentClient,
    Passage,
    Target,
    WorkflowRun,
)
from ...hiagent.errors import HiAgentCallError
from ...hiagent.services import configuration_problems, open_services
from ...hiagent.settings import HiAgentSettings
from ..agents.errors import AgentConfigNotFound
from ..agents.models import AgentConfig, ConfigType
from ..agents.service import find_config
from ..analytics.recorder import CallRecord
from .errors import GatewayError
from .events import HiAgentCallFinished

T = TypeVar("T")

# Configurations remembered for calls from code; a bound, not a tuning knob.
_RECENT_CONFIGS = 1024
# What "recent calls" of a configuration means on the dashboard: at most this many, this new.
_RECENT_OUTCOMES = 20
_RECENT_OUTCOMES_S = 15 * 60
# Outcomes that say how the configuration works; refused and cancelled calls say nothing.
_JUDGED = frozenset({"success", "error", "timeout"})


@dataclass(frozen=True, slots=True)
class RecentCalls:
    """A configuration's last calls in this process, whatever failed: HiAgent, key or agent."""

    calls: int
    failures: int
    last_failed: bool
    last_error_type: str | None


# Which endpoint serves each configuration type, for "wrong type" messages.
_ENDPOINT_OF_TYPE = {
    ConfigType.AGENT: "POST /api/v1/agents/{name}/invoke (or /stream)",
    ConfigType.WORKFLOW: "POST /api/v1/workflows/{name}/run",
    ConfigType.RETRIEVER: "POST /api/v1/retrievers/{name}/query",
    ConfigType.TOOL: "POST /api/v1/tools/{name}/exec",
}


class VariantPicker(Protocol):
    """Which configuration answers an end user (the experiments module's A/B splits)."""

    async def pick(self, gateway: Gateway, config: AgentConfig, user_id: str) -> AgentConfig:
        """`config`, or the configuration tried against it for this user."""
        ...


class CallRecorder(Protocol):
    """Where call records go (the analytics module's request log)."""

    def record(self, record: CallRecord) -> None:
        """Store one record without blocking; never raises."""


@dataclass(frozen=True, slots=True)
class AgentAnswer:
    """A complete agent answer."""

    answer: str
    conversation_id: str
    tokens_in: int
    tokens_out: int
    duration_ms: int
    correlation_id: str


class AnswerStream:
    """An agent answer arriving: `async for text in stream`, then read `totals`.

    Failures while it streams raise `GatewayError`. Leaving early? `close()` it, or use
    `async with stream:`; the upstream message is then stopped.
    """

    def __init__(self, stream: ChatStream) -> None:
        self._stream = stream

    @property
    def totals(self) -> ChatTotals:
        """Answer text, conversation id, tokens; complete once the stream has ended."""
        return self._stream.totals

    def __aiter__(self) -> AnswerStream:
        return self

    async def __anext__(self) -> str:
        try:
            return await self._stream.__anext__()
        except HiAgentCallError as error:
            raise GatewayError(error) from error

    async def __aenter__(self) -> AnswerStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stream.close()

    def close(self) -> None:
        """Stop here: the upstream message is stopped and the slots released."""
        self._stream.close()

    async def aclose(self) -> None:
        """`close()` for callers that await (a response's background task)."""
        self._stream.close()


def target_of(config: AgentConfig) -> Target:
    """What the resilience layer needs to know about a configuration."""
    return Target(
        # Drafts (not saved yet) share one breaker and limit, apart from saved configurations.
        key=str(config.id) if config.id is not None else "draft",
        name=config.name,
        config_type=config.config_type.value,
        app_key=config.app_key,
        workspace_id=config.workspace_id,
        workflow_id=config.workflow_id,
        dataset_ids=tuple(config.dataset_ids),
        tool_id=config.tool_id,
        max_concurrency=config.max_concurrency,
        first_token_timeout_s=config.first_token_timeout_s,
        total_timeout_s=config.total_timeout_s,
    )


# A workflow run handle is HiAgent's run id, a dot, and this many characters of signature.
_RUN_SIGNATURE_CHARS = 22
_RUN_SIGNATURE = re.compile(rf"[A-Za-z0-9_-]{{{_RUN_SIGNATURE_CHARS}}}")


@lru_cache(maxsize=4)
def _run_handle_key(secret: str) -> bytes:
    # A key of its own, derived from the sign-in secret: a handle is never a valid token.
    return hmac.new(secret.encode(), b"workflow-run-handle", hashlib.sha256).digest()


class RunHandles:
    """Workflow run ids as the API hands them out: bound to the user who started the run.

    HiAgent does not tell who started a run, so the id it gives is signed (HMAC with a key
    derived from HIAGENT_JWT_SECRET) for the configuration and the user: `<run id>.<signature>`.
    Only that user can follow the run with it; admins can follow any run, even by HiAgent's
    bare run id. Nothing is stored, so every API process accepts the handles of the others.
    """

    def __init__(self, secret: str) -> None:
        self._key = _run_handle_key(secret)

    def _signature(self, config_id: int | None, user_id: int | None, run_id: str) -> str:
        message = f"{config_id}\n{user_id}\n{run_id}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()[:_RUN_SIGNATURE_CHARS]

    def issue(self, config_id: int | None, user_id: int | None, run_id: str) -> str:
        """The handle of a run `user_id` just started with configuration `config_id`."""
        return f"{run_id}.{self._signature(config_id, user_id, run_id)}"

    def resolve(
        self, handle: str, *, config_id: int | None, user_id: int | None, any_owner: bool
    ) -> str | None:
        """HiAgent's run id behind `handle` when this user may follow it, else None.

        `any_owner` (admins): a handle issued to anyone, or a bare HiAgent run id.
        """
        run_id, dot, signature = handle.rpartition(".")
        signed = bool(dot and run_id and _RUN_SIGNATURE.fullmatch(signature))
        if any_owner:
            return run_id if signed else handle
        if not signed:
            return None
        expected = self._signature(config_id, user_id, run_id)
        return run_id if hmac.compare_digest(expected, signature) else None


def correlation_id() -> str:
    """The request's correlation id, or a new one outside a request (worker, scripts)."""
    return current_correlation_id() or uuid.uuid4().hex


class Gateway:
    """Calls HiAgent by configuration name or id; one per process (`app.state.gateway`)."""

    def __init__(
        self,
        client: HiAgentClient,
        database: Database,
        recorder: CallRecorder | None,
        events: EventBus | None = None,
    ) -> None:
        self.client = client
        self.database = database
        self.recorder = recorder
        self.events = events
        self._recent: dict[str, tuple[float, AgentConfig]] = {}
        self._reading: dict[str, asyncio.Future[AgentConfig]] = {}
        self._generation = 0
        self._outcomes: dict[int, deque[tuple[float, str | None]]] = {}
        # Set by the experiments module while it runs; None: every call goes as named.
        self.experiments: VariantPicker | None = None

    # Configurations

    async def find(self, name_or_id: str, session: AsyncSession | None = None) -> AgentConfig:
        """The configuration by name (any case) or id; `AgentConfigNotFound` lists the others.

        With `session` it is read there and then (the HTTP API). Without, code calling by name
        pays no query: a configuration is read again at most every `HIAGENT_CONFIG_CACHE_S`,
        once (callers share the read), and while it is read again in the background the one
        read before still serves. After twice that time unused it is read before answering.
        """
        if session is not None:
            return await find_config(session, name_or_id)
        key = name_or_id.lower()
        recent = self._recent.get(key)
        if recent is not None:
            age = time.monotonic() - recent[0]
            cache_s = self.client.settings.config_cache_s
            if age < cache_s:
                return recent[1]
            if age < 2 * cache_s:
                self._reading_of(key, name_or_id)  # fresh for the next calls
                return recent[1]
        return await asyncio.shield(self._reading_of(key, name_or_id))

    def _reading_of(self, key: str, name_or_id: str) -> asyncio.Future[AgentConfig]:
        # One read per configuration at a time, whoever waits for it.
        reading = self._reading.get(key)
        if reading is None:
            reading = asyncio.ensure_future(self._read(key, name_or_id, self._generation))
            reading.add_done_callback(_retrieve_exception)
            self._reading[key] = reading
        return reading

    async def _read(self, key: str, name_or_id: str, generation: int) -> AgentConfig:
        started = time.monotonic()
        try:
            async with self.database.session() as own_session:
                config = await find_config(own_session, name_or_id)
        except AgentConfigNotFound:
            self._recent.pop(key, None)  # deleted or renamed: the next call says so
            raise
        finally:
            if generation == self._generation:
                self._reading.pop(key, None)
        if generation == self._generation:  # not from before a reset
            if len(self._recent) >= _RECENT_CONFIGS:
                self._recent.clear()
            self._recent[key] = (started, config)
        return config

    async def _usable(
        self,
        agent: AgentConfig | str,
        config_type: ConfigType,
        *,
        endpoint: str,
        user_id: str,
        query: str,
        allow_disabled: bool,
    ) -> AgentConfig:
        config = agent if isinstance(agent, AgentConfig) else await self.find(agent)
        problem = None
        if config.config_type is not config_type:
            how = _ENDPOINT_OF_TYPE[config.config_type].format(name=config.name)
            problem = (
                "wrong_type",
                f"{config.name!r} is a {config.config_type.value} configuration, not a "
                f"{config_type.value}: call it with {how}.",
            )
        elif not config.enabled and not allow_disabled:
            problem = (
                "disabled",
                f"{config.name!r} is disabled: an admin or configurator can enable it.",
            )
        if problem is not None:
            self._record(config, endpoint, user_id, query, "rejected", problem[0], 0.0, None)
            raise ConflictError(problem[1], error_type=problem[0])
        return config

    def reset(self) -> None:
        """Forget remembered configurations, breakers and limits (tests; after an incident)."""
        self._generation += 1
        self._recent.clear()
        self._reading.clear()
        self._outcomes.clear()
        self.client.reset()

    def breaker(self, config: AgentConfig) -> BreakerSnapshot:
        """The configuration's circuit breaker (state, recent failures, seconds left)."""
        return self.client.breaker_snapshot(target_of(config))

    def recent_calls(self, config: AgentConfig) -> RecentCalls:
        """How the configuration's last calls ended (the last 20 of the last 15 minutes)."""
        return self._recent_of(config.id or 0)

    def _recent_of(self, config_id: int) -> RecentCalls:
        outcomes = self._outcomes.get(config_id, deque())
        cutoff = time.monotonic() - _RECENT_OUTCOMES_S
        kept = [error for at, error in outcomes if at >= cutoff]
        return RecentCalls(
            calls=len(kept),
            failures=sum(error is not None for error in kept),
            last_failed=bool(kept) and kept[-1] is not None,
            last_error_type=next((error for error in reversed(kept) if error), None),
        )

    def failing(self) -> list[int]:
        """Configurations whose recent calls (at least two) all failed."""
        found = []
        for config_id in list(self._outcomes):
            recent = self._recent_of(config_id)
            if recent.calls >= 2 and recent.failures == recent.calls:
                found.append(config_id)
        return sorted(found)

    def _remember(self, config: AgentConfig, status: str, error_type: str | None) -> None:
        if config.id is None or status not in _JUDGED:
            return
        if config.id not in self._outcomes and len(self._outcomes) >= _RECENT_CONFIGS:
            self._outcomes.clear()
        outcomes = self._outcomes.setdefault(config.id, deque(maxlen=_RECENT_OUTCOMES))
        failed = error_type or (None if status == "success" else status)
        outcomes.append((time.monotonic(), failed))

    # Calls

    async def stream(
        self,
        agent: AgentConfig | str,
        query: str,
        *,
        user_id: str,
        conversation_id: str | None = None,
        variables: dict[str, str] | None = None,
        endpoint: str = "gateway",
        allow_disabled: bool = False,
    ) -> AnswerStream:
        """Start an agent answer; iterate it for text, close it if you leave early.

        `variables` (merged over the configuration's) start a new conversation; they cannot
        change an existing one.
        """
        if conversation_id and variables:
            raise InvalidRequestError(
                "variables can only be set when a conversation starts; "
                "leave out conversation_id to start a new one."
            )
        config = await self._usable(
            agent,
            ConfigType.AGENT,
            endpoint=endpoint,
            user_id=user_id,
            query=query,
            allow_disabled=allow_disabled,
        )
        if self.experiments is not None and not allow_disabled:  # not for test runs
            config = await self.experiments.pick(self, config, user_id)
        stream = await self._call(
            lambda on_finish: self.client.open_chat(
                target_of(config),
                query,
                user_id=user_id,
                conversation_id=conversation_id,
                variables={**config.variables, **(variables or {})},
                on_finish=on_finish,
            ),
            self._recorder_for(config, endpoint, user_id, query),
        )
        return AnswerStream(stream)

    async def invoke(
        self,
        agent: AgentConfig | str,
        query: str,
        *,
        user_id: str,
        conversation_id: str | None = None,
        variables: dict[str, str] | None = None,
        endpoint: str = "gateway",
    ) -> AgentAnswer:
        """The agent's whole answer (streamed from HiAgent and collected)."""
        started = time.perf_counter()
        stream = await self.stream(
            agent,
            query,
            user_id=user_id,
            conversation_id=conversation_id,
            variables=variables,
            endpoint=endpoint,
        )
        async with stream:
            async for _ in stream:
                pass
        totals = stream.totals
        return AgentAnswer(
            answer=totals.answer,
            conversation_id=totals.conversation_id,
            tokens_in=totals.tokens_in,
            tokens_out=totals.tokens_out,
            duration_ms=round((time.perf_counter() - started) * 1000),
            correlation_id=correlation_id(),
        )

    async def run_workflow(
        self,
        workflow: AgentConfig | str,
        inputs: dict[str, Any],
        *,
        user_id: str,
        wait: bool = True,
        endpoint: str = "gateway",
        allow_disabled: bool = False,
    ) -> WorkflowRun:
        """Run a workflow (inputs merged over the configuration's variables).

        With `wait` the run is followed to its end within the configuration's total timeout;
        without, the run id and `deadline_at` come back at once (ask `workflow_status` later),
        and the run is followed in the background: its end (or its timeout) becomes a second
        request-log row with the same correlation id, carrying the run's tokens.
        """
        text = _as_text(inputs)
        config = await self._usable(
            workflow,
            ConfigType.WORKFLOW,
            endpoint=endpoint,
            user_id=user_id,
            query=text,
            allow_disabled=allow_disabled,
        )
        return await self._call(
            lambda on_finish: self.client.run_workflow(
                target_of(config),
                {**config.variables, **inputs},
                user_id=user_id,
                wait=wait,
                on_finish=on_finish,
                on_run_end=on_finish,  # the start and the end are recorded alike
            ),
            self._recorder_for(config, endpoint, user_id, text),
        )

    async def workflow_status(
        self, workflow: AgentConfig | str, run_id: str, *, user_id: str, endpoint: str = "gateway"
    ) -> WorkflowRun:
        """Where a workflow run stands (a failed run is returned, not raised); a run started
        without waiting and unfinished past its `deadline_at` has status `timeout`."""
        config = await self._usable(
            workflow,
            ConfigType.WORKFLOW,
            endpoint=endpoint,
            user_id=user_id,
            query=run_id,
            allow_disabled=True,
        )
        return await self._call(
            lambda on_finish: self.client.workflow_status(
                target_of(config), run_id, user_id=user_id, on_finish=on_finish
            ),
            self._recorder_for(config, endpoint, user_id, run_id),
        )

    async def retrieve(
        self,
        retriever: AgentConfig | str,
        query: str,
        *,
        user_id: str,
        top_k: int = 5,
        score_threshold: float = 0.5,
        endpoint: str = "gateway",
        allow_disabled: bool = False,
    ) -> list[Passage]:
        """Knowledge-base passages matching `query`, best first."""
        config = await self._usable(
            retriever,
            ConfigType.RETRIEVER,
            endpoint=endpoint,
            user_id=user_id,
            query=query,
            allow_disabled=allow_disabled,
        )
        return await self._call(
            lambda on_finish: self.client.retrieve(
                target_of(config),
                query,
                top_k=top_k,
                score_threshold=score_threshold,
                on_finish=on_finish,
            ),
            self._recorder_for(config, endpoint, user_id, query),
        )

    async def exec_tool(
        self,
        tool: AgentConfig | str,
        inputs: dict[str, Any],
        *,
        user_id: str,
        endpoint: str = "gateway",
        allow_disabled: bool = False,
    ) -> str:
        """Run a plugin tool once; its output text."""
        text = _as_text(inputs)
        config = await self._usable(
            tool,
            ConfigType.TOOL,
            endpoint=endpoint,
            user_id=user_id,
            query=text,
            allow_disabled=allow_disabled,
        )
        return await self._call(
            lambda on_finish: self.client.exec_tool(target_of(config), inputs, on_finish=on_finish),
            self._recorder_for(config, endpoint, user_id, text),
        )

    async def _call(
        self, start: Callable[[FinishCallback], Awaitable[T]], on_finish: FinishCallback
    ) -> T:
        try:
            return await start(on_finish)
        except HiAgentCallError as error:
            raise GatewayError(error) from error

    # Request log

    def _recorder_for(
        self, config: AgentConfig, endpoint: str, user_id: str, query: str
    ) -> FinishCallback:
        correlation = correlation_id()

        def record(outcome: CallOutcome) -> None:
            error_type = outcome.error.error_type.value if outcome.error else None
            self._record(
                config,
                endpoint,
                user_id,
                query,
                outcome.status,
                error_type,
                outcome.duration_s,
                outcome.conversation_id,
                tokens_in=outcome.tokens_in,
                tokens_out=outcome.tokens_out,
                correlation=correlation,
            )

        return record

    def _record(
        self,
        config: AgentConfig,
        endpoint: str,
        user_id: str,
        query: str,
        status: str,
        error_type: str | None,
        duration_s: float,
        conversation_id: str | None,
        *,
        tokens_in: int = 0,
        tokens_out: int = 0,
        correlation: str | None = None,
    ) -> None:
        correlation = correlation or correlation_id()
        if config.id is None:
            return  # a draft being tried is not a call of any configuration
        self._remember(config, status, error_type)
        if self.events is not None:
            # Off the hot path: batched with other calls' events, never waited for.
            self.events.emit_soon(
                HiAgentCallFinished(
                    agent_config_id=config.id,
                    agent=config.name,
                    endpoint=endpoint,
                    status=status,
                    error_type=error_type,
                    duration_ms=round(duration_s * 1000),
                    tokens_in=tokens_in,
                    tokens_out=tokens_out,
                ),
                source="hiagent",
                correlation_id=correlation,
            )
        if self.recorder is None:
            return
        self.recorder.record(
            CallRecord(
                correlation_id=correlation,
                endpoint=endpoint,
                agent_config_id=config.id,
                user_id=user_id,
                query=query,
                status=status,
                error_type=error_type,
                duration_ms=round(duration_s * 1000),
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                conversation_id=conversation_id,
                timestamp=utcnow(),
            )
        )


def _retrieve_exception(reading: asyncio.Future[AgentConfig]) -> None:
    # A background re-read nobody awaited may fail (404, database away): the next call sees it.
    if not reading.cancelled():
        reading.exception()


def _as_text(inputs: dict[str, Any]) -> str:
    return json.dumps(inputs, ensure_ascii=False, default=str)


@asynccontextmanager
async def open_gateway(
    settings: Settings,
    options: HiAgentSettings,
    *,
    database: Database,
    recorder: CallRecorder | None,
    events: EventBus | None = None,
) -> AsyncIterator[Gateway]:
    """The process's gateway: SDK services built once, closed (with their clients) on exit.

    Without HiAgent endpoints the gateway still starts; its calls answer 503 saying what to set.
    """
    async with AsyncExitStack() as stack:
        problems = configuration_problems(settings)
        if problems:
            logger.warning("HiAgent is not configured: " + "; ".join(problems))
            client = HiAgentClient(None, options, problems=problems)
        else:
            services = await stack.enter_async_context(open_services(settings, options))
            client = HiAgentClient(services, options)
        stack.push_async_callback(client.aclose)
        yield Gateway(client, database, recorder, events)
