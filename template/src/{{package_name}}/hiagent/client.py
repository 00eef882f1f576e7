"""Resilient calls to HiAgent: limits, one retry loop, a breaker per target, timeouts, metrics.

`HiAgentClient` is built once per process around the SDK services. Every operation
(`open_chat`, `run_workflow`, `workflow_status`, `retrieve`, `exec_tool`) takes a `Target` (one
agent configuration) and follows the same path:

1. ask the target's breaker (refused at once while it is open; one trial call when half-open);
2. take a slot of the target's limit and of the process limit (bounded queues, else BUSY);
3. call the SDK under the deadline, classify failures, retry only what is safe (`retry.py`);
4. tell the breaker how the call went; finish with metrics, a span and `on_finish`.

The breaker judges whole calls: a chat call counts as healthy at its first token.

Chat answers are always streamed (the SDK's `Agent.ainvoke` drops failures and token counts):
`ChatStream` yields the answer's text, handles `message_failed`, `agent_error` and
`message_cost` itself, applies the first-token and whole-answer timeouts, and stops the
upstream message when it is abandoned (see docs/hiagent.md, Streaming).

A workflow started without waiting is followed in the background until it ends or its deadline
(start + `total_timeout_s`) passes: the SDK would poll forever, and HiAgent cannot cancel a run.
The follower holds slots only while it polls, and reports the run's end through `on_run_end`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar

from hiagent_api.chat_types import (
    ChatRequest,
    CreateConversationRequest,
    QueryRunAppProcessRequest,
    RunAppWorkflowRequest,
    StopMessageRequest,
)
from hiagent_api.knowledgebase_types import QueryRequest
from hiagent_api.tool_types import ExecArchivedToolRequest, GetArchivedToolRequest
from loguru import logger
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from ..core.tracing import tracer
from . import metrics
from .breaker import BreakerPolicy, BreakerSnapshot, BreakerState, CircuitBreaker
from .errors import ErrorType, HiAgentCallError, check_answer, classify
from .limits import SlotLimiter
from .ping import ProbeResult, probe
from .retry import RetryPolicy, with_retries
from .services import HiAgentServices
from .settings import HiAgentSettings

T = TypeVar("T")

# Workflow statuses that end a run; any other status means it is still going.
_FINISHED_RUN = frozenset({"success", "failed", "interrupted", "stopped"})
# The status we report for a followed run still unfinished at its deadline (not HiAgent's own).
_RUN_TIMED_OUT = "timeout"
_FIRST_POLL_S = 0.1
# A follower skips a poll refused by our own limits or an open breaker, and tries again later.
_POLL_LATER = frozenset({ErrorType.BUSY, ErrorType.CIRCUIT_OPEN})
# Background clean-up of an abandoned answer (stop_message, closing the stream) gets this long.
_CLEANUP_TIMEOUT_S = 5.0
# A tool id maps to its plugin id for good; the cache only needs a bound on its size.
_PLUGIN_CACHE_SIZE = 1024
# Calls that ended before anything was sent to HiAgent.
_NOT_SENT = frozenset(
    {ErrorType.BUSY, ErrorType.CIRCUIT_OPEN, ErrorType.NOT_CONFIGURED, ErrorType.INTERNAL}
)


@dataclass(frozen=True, slots=True)
class Target:
    """What to call: one agent configuration, as the resilience layer needs it.

    `key` identifies the breaker and limiter (the configuration id); `name` labels metrics.
    """

    key: str
    name: str
    config_type: str
    app_key: str
    workspace_id: str | None = None
    workflow_id: str | None = None
    dataset_ids: tuple[str, ...] = ()
    tool_id: str | None = None
    max_concurrency: int = 8
    first_token_timeout_s: float = 30.0
    total_timeout_s: float = 120.0


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """How one operation ended: `status` is success, error, timeout, rejected or cancelled."""

    status: str
    error: HiAgentCallError | None
    duration_s: float
    tokens_in: int = 0
    tokens_out: int = 0
    conversation_id: str | None = None


FinishCallback = Callable[[CallOutcome], None]


@dataclass(slots=True)
class ChatTotals:
    """What a chat answer amounted to; complete once the stream has ended."""

    conversation_id: str
    answer: str = ""
    message_id: str = ""
    task_id: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    first_token_s: float | None = None


@dataclass(frozen=True, slots=True)
class WorkflowRun:
    """A workflow run; `output` is the workflow's JSON text once `status` is success.

    `deadline_at` (UTC) is set for a run this process follows: past it, an unfinished run is
    reported with status `timeout`.
    """

    run_id: str
    status: str
    output: str = ""
    message: str = ""
    cost_ms: int = 0
    tokens: int = 0
    deadline_at: datetime | None = None


@dataclass(slots=True)
class _FollowedRun:
    """A run followed in the background: its deadline, and the task following it."""

    deadline: float  # event-loop time
    deadline_at: datetime
    task: asyncio.Task[None] | None = None


@dataclass(frozen=True, slots=True)
class Passage:
    """One knowledge-base hit."""

    content: str
    score: float
    dataset_id: str
    dataset_name: str
    document_id: str
    document_name: str
    segment_id: str


def outcome_status(error: HiAgentCallError | None) -> str:
    """The request-log status for a failure (success when None)."""
    if error is None:
        return "success"
    if error.error_type is ErrorType.TIMEOUT:
        return "timeout"
    if error.error_type in (ErrorType.CIRCUIT_OPEN, ErrorType.BUSY, ErrorType.NOT_CONFIGURED):
        return "rejected"
    return "error"


def _ignore(_: CallOutcome) -> None:
    """The default `on_finish`: nothing to record."""


async def _checked(call: Awaitable[Any], action: str) -> Any:
    # ChatService methods return a BaseError instead of raising for a 200 error envelope.
    return check_answer(await call, action)


class _Call:
    """One operation in progress: its slots, deadline, span and outcome.

    `started` (event-loop time) defaults to now; a followed run counts from its start call.
    """

    def __init__(
        self,
        client: HiAgentClient,
        target: Target,
        operation: str,
        on_finish: FinishCallback,
        *,
        started: float | None = None,
    ) -> None:
        self.client = client
        self.target = target
        self.loop = asyncio.get_running_loop()
        self.started = self.loop.time() if started is None else started
        self.deadline = self.started + target.total_timeout_s
        self.breaker = client.breaker_for(target)
        self.span = client.tracer.start_span(
            f"hiagent {operation}",
            attributes={
                "hiagent.config": target.name,
                "hiagent.config_type": target.config_type,
                "hiagent.operation": operation,
            },
        )
        self.context = trace.set_span_in_context(self.span)
        self.tokens_in = 0
        self.tokens_out = 0
        self.conversation_id: str | None = None
        # Set by `open_chat`: the ChatStream finishes the call when the answer ends.
        self.handed_over = False
        self._trial: bool | None = None  # None until the breaker admitted the call
        self._on_finish = on_finish
        self._limiter: SlotLimiter | None = None
        self._finished = False

    @property
    def services(self) -> HiAgentServices:
        """The SDK services (an operation only starts when HiAgent is configured)."""
        assert self.client.services is not None
        return self.client.services

    async def take_slots(self) -> None:
        """A slot of the target's limit, then of the process limit (bounded waits)."""
        limiter = self.client.limiter_for(self.target)
        depth = metrics.QUEUE_DEPTH.labels(self.target.name)
        depth.inc()
        try:
            await limiter.acquire(self._queue_timeout())
            try:
                await self.client.process_limiter.acquire(self._queue_timeout())
            except BaseException:
                limiter.release()
                raise
        finally:
            depth.dec()
        self._limiter = limiter
        metrics.IN_FLIGHT.labels(self.target.name).inc()

    def release_slots(self) -> None:
        """Give the slots back (if held)."""
        if self._limiter is not None:
            self._limiter.release()
            self.client.process_limiter.release()
            metrics.IN_FLIGHT.labels(self.target.name).dec()
            self._limiter = None

    @asynccontextmanager
    async def slots(self) -> AsyncIterator[None]:
        """Slots for the block only: a followed run holds none between two polls."""
        await self.take_slots()
        try:
            yield
        finally:
            self.release_slots()

    def _queue_timeout(self) -> float:
        return min(self.client.settings.queue_timeout_s, self.deadline - self.loop.time())

    def admit(self) -> None:
        """Ask the breaker; raises CIRCUIT_OPEN while it is open."""
        self._trial = self.breaker.before_call()

    def verdict(self, *, failed: bool | None) -> None:
        """Tell the breaker how the call went, once (None: no verdict, e.g. cancelled)."""
        if self._trial is not None:
            self.breaker.after_call(trial=self._trial, failed=failed)
            self._trial = None

    async def attempt(
        self, action: str, send: Callable[[], Awaitable[T]], *, idempotent: bool
    ) -> T:
        """One SDK call under the deadline, in the retry loop; failures are classified."""

        async def once() -> T:
            self.breaker.check()  # another call may have opened it since we started
            with self.client.tracer.start_as_current_span(
                f"hiagent {action}", context=self.context, attributes={"hiagent.action": action}
            ) as span:
                try:
                    async with asyncio.timeout_at(self.deadline):
                        return await send()
                except TimeoutError:
                    error = self.client.deadline_error(self.target, action)
                    span.set_attribute("error.type", error.error_type.value)
                    raise error from None
                except Exception as exc:
                    classified = classify(exc, action)
                    if classified is None:
                        raise
                    span.set_attribute("error.type", classified.error_type.value)
                    raise classified from exc

        def count_retry(_: HiAgentCallError) -> None:
            metrics.RETRIES.labels(self.target.name, action).inc()

        return await with_retries(
            once,
            policy=self.client.retry_policy,
            idempotent=idempotent,
            deadline=self.deadline,
            on_retry=count_retry,
        )

    def finish(self, error: HiAgentCallError | None, *, cancelled: bool = False) -> None:
        """Release the slots and report the outcome, once (metrics, span, `on_finish`)."""
        if self._finished:
            return
        self._finished = True
        self.verdict(failed=None if cancelled else _breaker_verdict(error))
        self.release_slots()
        name = self.target.name
        duration = self.loop.time() - self.started
        status = "cancelled" if cancelled else outcome_status(error)
        metrics.REQUESTS.labels(name, status).inc()
        metrics.DURATION.labels(name).observe(duration)
        if self.tokens_in:
            metrics.TOKENS.labels(name, "input").inc(self.tokens_in)
        if self.tokens_out:
            metrics.TOKENS.labels(name, "output").inc(self.tokens_out)
        self.span.set_attributes(
            {
                "hiagent.status": status,
                "hiagent.tokens_in": self.tokens_in,
                "hiagent.tokens_out": self.tokens_out,
            }
        )
        if error is not None:
            metrics.ERRORS.labels(name, error.error_type.value).inc()
            self.span.set_attribute("error.type", error.error_type.value)
            self.span.set_status(Status(StatusCode.ERROR, error.message))
        self.span.end()
        outcome = CallOutcome(
            status, error, duration, self.tokens_in, self.tokens_out, self.conversation_id
        )
        try:
            self._on_finish(outcome)
        except Exception as exc:  # recording must never turn an answer into an error
            logger.opt(exception=exc).error("recording a HiAgent call failed")


@contextmanager
def _finishing(call: _Call) -> Iterator[None]:
    """Finish `call` with how the block ended: its error, a cancellation, or success.

    A call handed over (a chat stream) is finished later by whoever took it.
    """
    try:
        yield
    except HiAgentCallError as error:
        call.finish(error)
        raise
    except Exception as exc:
        call.finish(HiAgentCallError(ErrorType.INTERNAL, f"{type(exc).__name__}: {exc}"))
        raise
    except BaseException:
        call.finish(None, cancelled=True)
        raise
    if not call.handed_over:
        call.finish(None)


class ChatStream:
    """A chat answer arriving from HiAgent: `async for text in stream`, then read `totals`.

    Failures inside the stream raise `HiAgentCallError` (AGENT_FAILED, TIMEOUT, BAD_ANSWER,
    ...). Leaving early? `close()` it (or use `async with stream:`): the upstream message is
    stopped and the slots are released.
    """

    def __init__(
        self,
        call: _Call,
        events: AsyncGenerator[Any, None],
        first_event: Any,
        *,
        conversation_id: str,
        first_token_deadline: float,
        user_id: str,
    ) -> None:
        self._call = call
        self._events = events
        self._pending: Any = first_event
        self._first_token_deadline = first_token_deadline
        self._user_id = user_id
        self._ended = False
        self._done = False
        self.totals = ChatTotals(conversation_id=conversation_id)

    def __aiter__(self) -> ChatStream:
        return self

    async def __anext__(self) -> str:
        while not self._done:
            event, self._pending = self._pending, None
            if event is None:
                event = await self._next_event()
                if event is None:
                    self._complete()
                    break
            text = self._take(event)
            if text:
                return text
        raise StopAsyncIteration

    async def __aenter__(self) -> ChatStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def collect(self) -> ChatTotals:
        """Read the whole answer and return its totals."""
        async for _ in self:
            pass
        return self.totals

    def close(self) -> None:
        """Leave before the end: stop the upstream message and release the slots."""
        if not self._done:
            self._abandon()

    async def aclose(self) -> None:
        """`close()` for callers that await (e.g. a response's background task)."""
        self.close()

    async def _next_event(self) -> Any:
        waiting_for_first_token = self.totals.first_token_s is None
        deadline = self._call.deadline
        if waiting_for_first_token:
            deadline = min(self._first_token_deadline, deadline)
        try:
            async with asyncio.timeout_at(deadline):
                return await anext(self._events)
        except StopAsyncIteration:
            return None
        except TimeoutError:
            error = self._call.client.deadline_error(
                self._call.target,
                "chat_query_v2",
                first_token=waiting_for_first_token and deadline < self._call.deadline,
            )
            raise self._fail(error, stop_upstream=True) from None
        except asyncio.CancelledError:
            self._abandon()
            raise
        except Exception as exc:
            classified = classify(exc, "chat_query_v2")
            if classified is None:
                self._abandon()
                raise
            raise self._fail(classified) from exc

    def _take(self, event: Any) -> str:
        totals = self.totals
        kind = event.event
        if not totals.task_id and event.task_id:
            totals.task_id = event.task_id
        if not totals.message_id and event.id:
            totals.message_id = event.id
        if kind == "message":
            self._first_token()
            totals.answer += event.answer
            return str(event.answer)
        if kind in ("think_message", "tool_message", "agent_thought"):
            self._first_token()  # the model is working: the first-token wait is over
        elif kind == "message_cost":
            totals.tokens_in += event.input_tokens
            totals.tokens_out += event.output_tokens
        elif kind == "message_end":
            self._ended = True
        elif kind == "message_failed":
            raise self._fail(self._agent_failed(event.error))
        elif kind == "agent_error":
            raise self._fail(self._agent_failed(event.error_msg))
        return ""

    def _agent_failed(self, why: str) -> HiAgentCallError:
        partial = {"partial_answer": self.totals.answer} if self.totals.answer else None
        return HiAgentCallError(
            ErrorType.AGENT_FAILED,
            f"The agent {self._call.target.name!r} could not answer: {why or 'no reason given'}",
            details=partial,
        )

    def _first_token(self) -> None:
        if self.totals.first_token_s is not None:
            return
        elapsed = self._call.loop.time() - self._call.started
        self.totals.first_token_s = elapsed
        metrics.FIRST_TOKEN.labels(self._call.target.name).observe(elapsed)
        self._call.verdict(failed=False)  # HiAgent is answering: healthy, however it ends

    def _complete(self) -> None:
        if not self._ended and not self.totals.answer:
            raise self._fail(
                HiAgentCallError(
                    ErrorType.BAD_ANSWER, "HiAgent ended the answer without any text or end event"
                )
            )
        self._finish(None)

    def _fail(self, error: HiAgentCallError, *, stop_upstream: bool = False) -> HiAgentCallError:
        self._release_upstream(stop=stop_upstream)
        self._finish(error)
        return error

    def _abandon(self) -> None:
        self._release_upstream(stop=True)
        self._finish(None, cancelled=True)

    def _release_upstream(self, *, stop: bool) -> None:
        totals = self.totals
        stop_request = None
        if stop and totals.task_id and totals.message_id:
            stop_request = StopMessageRequest(
                app_key=self._call.target.app_key,
                user_id=self._user_id,
                task_id=totals.task_id,
                message_id=totals.message_id,
            )
        client = self._call.client
        client.in_background(client.discard_answer(self._call.target, self._events, stop_request))

    def _finish(self, error: HiAgentCallError | None, *, cancelled: bool = False) -> None:
        self._done = True
        call = self._call
        call.tokens_in = self.totals.tokens_in
        call.tokens_out = self.totals.tokens_out
        call.finish(error, cancelled=cancelled)


class HiAgentClient:
    """Every call this process makes to HiAgent; one per process, built in the lifespan.

    `services` is None when HiAgent is not configured: calls are then refused with
    `not_configured`, and `problems` says what to set.
    """

    def __init__(
        self,
        services: HiAgentServices | None,
        settings: HiAgentSettings,
        *,
        problems: list[str] | None = None,
    ) -> None:
        self.services = services
        self.settings = settings
        self.problems = problems or []
        self.tracer = tracer("hiagent")  # the app's provider is set up before the lifespan
        self.retry_policy = RetryPolicy(
            attempts=settings.retry_attempts,
            base_delay_s=settings.retry_base_delay_s,
            max_delay_s=settings.retry_max_delay_s,
        )
        self.breaker_policy = BreakerPolicy(
            failure_rate=settings.breaker_failure_rate,
            min_calls=settings.breaker_min_calls,
            window_s=settings.breaker_window_s,
            cooldown_s=settings.breaker_cooldown_s,
        )
        self.process_limiter = SlotLimiter(
            "this service",
            settings.max_concurrency,
            settings.max_queue,
            settings.busy_retry_after_s,
        )
        self._breakers: dict[str, CircuitBreaker] = {}
        self._limiters: dict[str, SlotLimiter] = {}
        self._plugin_ids: dict[tuple[str, str], str] = {}
        self._background: set[asyncio.Task[None]] = set()
        # Runs followed now, and runs that passed their deadline unfinished (oldest first).
        self._following: dict[tuple[str, str], _FollowedRun] = {}
        self._overdue: OrderedDict[tuple[str, str], _FollowedRun] = OrderedDict()
        self._probe_lock = asyncio.Lock()
        self._probed_at: float | None = None
        self._probe_results: list[ProbeResult] = []

    # State per target

    def breaker_for(self, target: Target) -> CircuitBreaker:
        """The target's breaker, created closed on first use."""
        breaker = self._breakers.get(target.key)
        if breaker is None:
            breaker = CircuitBreaker(target.name, self.breaker_policy, on_change=_breaker_changed)
            self._breakers[target.key] = breaker
            metrics.BREAKER_STATE.labels(target.name).set(BreakerState.CLOSED.level)
        breaker.name = target.name  # follows renames
        return breaker

    def limiter_for(self, target: Target) -> SlotLimiter:
        """The target's limiter; a new one when its `max_concurrency` was changed."""
        limiter = self._limiters.get(target.key)
        if limiter is None or limiter.capacity != target.max_concurrency:
            limiter = SlotLimiter(
                repr(target.name),
                target.max_concurrency,
                self.settings.config_max_queue,
                self.settings.busy_retry_after_s,
            )
            self._limiters[target.key] = limiter
        return limiter

    def breaker_snapshot(self, target: Target) -> BreakerSnapshot:
        """The target's breaker, for people and dashboards."""
        return self.breaker_for(target).snapshot()

    def open_breakers(self) -> list[tuple[str, BreakerSnapshot]]:
        """Name and state of every breaker that is not closed."""
        snapshots = [(breaker.name, breaker.snapshot()) for breaker in self._breakers.values()]
        return [(name, snap) for name, snap in snapshots if snap.state is not BreakerState.CLOSED]

    def reset(self) -> None:
        """Forget every breaker, limiter, cached plugin id and followed run (tests; after an
        incident); followers still running are cancelled."""
        self._breakers.clear()
        self._limiters.clear()
        self._plugin_ids.clear()
        for followed in self._following.values():
            if followed.task is not None:
                followed.task.cancel()
        self._following.clear()
        self._overdue.clear()

    @property
    def followed_runs(self) -> int:
        """Workflow runs followed in the background right now."""
        return len(self._following)

    def deadline_error(
        self, target: Target, action: str, *, first_token: bool = False
    ) -> HiAgentCallError:
        """The timeout error for a deadline that passed during `action`."""
        if first_token:
            return HiAgentCallError(
                ErrorType.TIMEOUT,
                f"{target.name!r} did not start answering within "
                f"{target.first_token_timeout_s:g} s",
                details={"timeout": "first_token", "timeout_s": target.first_token_timeout_s},
            )
        return HiAgentCallError(
            ErrorType.TIMEOUT,
            f"{target.name!r} did not finish within {target.total_timeout_s:g} s "
            f"(waiting for {action})",
            details={"timeout": "total", "timeout_s": target.total_timeout_s},
        )

    # Health

    async def readiness_problem(self) -> str | None:
        """Unreachable surfaces and paused agents in plain words; None when all is well.

        Probe results are reused for `probe_cache_s`, so frequent readiness probes do not
        load the platform.
        """
        if self.services is None:
            return "HiAgent is not configured: " + "; ".join(self.problems)
        problems = [
            f"{result.surface} at {result.address}: {result.message}"
            for result in await self._cached_probe(self.services)
            if not result.ok
        ]
        paused = [
            f"{name!r} ({snap.state.value.replace('_', '-')}"
            + (f", {snap.retry_after_s} s left)" if snap.retry_after_s else ")")
            for name, snap in self.open_breakers()
        ]
        if paused:
            problems.append("paused after repeated failures: " + ", ".join(paused))
        return "; ".join(problems) or None

    async def app_api_problem(self) -> str | None:
        """Why the App API (which agents are called through) cannot be used; None if it can.

        The same cached probe as readiness, so the dashboard asking often costs nothing.
        """
        if self.services is None:
            return "HiAgent is not configured: " + "; ".join(self.problems)
        for result in await self._cached_probe(self.services):
            if not result.ok and result.address == self.services.app_base_url:
                return f"{result.surface} at {result.address}: {result.message}"
        return None

    def breaker_states(self) -> dict[str, BreakerState]:
        """The state of every breaker that is not closed, by target key (configuration id)."""
        return {
            key: state
            for key, breaker in self._breakers.items()
            if (state := breaker.state) is not BreakerState.CLOSED
        }

    async def _cached_probe(self, services: HiAgentServices) -> list[ProbeResult]:
        async with self._probe_lock:
            now = asyncio.get_running_loop().time()
            if self._probed_at is None or now - self._probed_at >= self.settings.probe_cache_s:
                self._probe_results = await probe(services, timeout_s=self.settings.probe_timeout_s)
                self._probed_at = asyncio.get_running_loop().time()
            return self._probe_results

    # Background work and shutdown

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run clean-up outside the request (it may be cancelled); kept until done."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def discard_answer(
        self, target: Target, events: AsyncGenerator[Any, None], stop: StopMessageRequest | None
    ) -> None:
        """Stop an abandoned answer upstream and close its connection (it would stay busy)."""
        try:
            async with asyncio.timeout(_CLEANUP_TIMEOUT_S):
                if stop is not None and self.services is not None:
                    check_answer(
                        await self.services.chat.astop_message(target.app_key, stop),
                        "stop_message",
                    )
                with contextlib.suppress(RuntimeError):  # still running: it ends by itself
                    await events.aclose()
        except Exception as exc:
            logger.bind(agent=target.name).warning(
                f"Stopping an abandoned answer of {target.name!r} failed: {exc}"
            )

    async def aclose(self) -> None:
        """Stop following runs, then wait (briefly) for background clean-up; the services are
        closed by their owner."""
        await self.stop_following()
        if self._background:
            await asyncio.wait(self._background, timeout=_CLEANUP_TIMEOUT_S)

    async def stop_following(self) -> None:
        """Cancel every follower and wait for them: their runs are reported `cancelled`."""
        tasks = [f.task for f in self._following.values() if f.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # Operations

    @asynccontextmanager
    async def _operation(
        self, target: Target, operation: str, on_finish: FinishCallback
    ) -> AsyncIterator[_Call]:
        call = _Call(self, target, operation, on_finish)
        with _finishing(call):
            if self.services is None:
                raise HiAgentCallError(
                    ErrorType.NOT_CONFIGURED,
                    "HiAgent is not configured: " + "; ".join(self.problems),
                    retry_after_s=60,
                )
            call.admit()
            await call.take_slots()
            yield call

    async def open_chat(
        self,
        target: Target,
        query: str,
        *,
        user_id: str,
        conversation_id: str | None = None,
        variables: dict[str, str] | None = None,
        on_finish: FinishCallback = _ignore,
    ) -> ChatStream:
        """Start an answer, in a new conversation (with `variables`) unless `conversation_id`.

        Failures before the first event raise `HiAgentCallError`; later ones come from the
        stream. A chat message is never sent twice unless HiAgent refused it (429, 503) or the
        connection was never made.
        """
        async with self._operation(target, "chat", on_finish) as call:
            chat = call.services.chat
            if not conversation_id:
                request = CreateConversationRequest(
                    app_key=target.app_key, inputs=variables or {}, user_id=user_id
                )
                created = await call.attempt(
                    "create_conversation",
                    lambda: _checked(
                        chat.acreate_conversation(target.app_key, request), "create_conversation"
                    ),
                    idempotent=False,
                )
                conversation_id = _conversation_id(created)
            call.conversation_id = conversation_id
            stream = await call.attempt(
                "chat_query_v2",
                lambda: self._start_answer(call, query, user_id, conversation_id),
                idempotent=False,
            )
            call.handed_over = True
        return stream

    async def _start_answer(
        self, call: _Call, query: str, user_id: str, conversation_id: str
    ) -> ChatStream:
        target = call.target
        request = ChatRequest(
            app_key=target.app_key,
            app_conversation_id=conversation_id,
            query=query,
            response_mode="streaming",
            user_id=user_id,
        )
        first_token_deadline = min(call.loop.time() + target.first_token_timeout_s, call.deadline)
        events = call.services.chat.achat_streaming(target.app_key, request)
        try:
            async with asyncio.timeout_at(first_token_deadline):
                first = await anext(events)
        except StopAsyncIteration:
            raise HiAgentCallError(
                ErrorType.BAD_ANSWER, "HiAgent closed the answer before sending anything"
            ) from None
        except TimeoutError:
            raise self.deadline_error(
                target, "chat_query_v2", first_token=first_token_deadline < call.deadline
            ) from None
        return ChatStream(
            call,
            events,
            first,
            conversation_id=conversation_id,
            first_token_deadline=first_token_deadline,
            user_id=user_id,
        )

    async def run_workflow(
        self,
        target: Target,
        inputs: dict[str, Any],
        *,
        user_id: str,
        wait: bool = True,
        on_finish: FinishCallback = _ignore,
        on_run_end: FinishCallback = _ignore,
    ) -> WorkflowRun:
        """Start a workflow run; with `wait`, poll it to the end within the target's deadline.

        A run that fails raises WORKFLOW_FAILED; a deadline raises TIMEOUT with the run id in
        `details`, so the caller can ask for its status later (never the SDK's endless polling).

        Without `wait` the run comes back at once, with its `deadline_at`, and is followed in
        the background (at most `max_followed_runs` at a time): `on_finish` reports the start,
        `on_run_end` the run's end (success, WORKFLOW_FAILED, TIMEOUT, or cancelled at
        shutdown) with its tokens.
        """
        operation = "workflow_run" if wait else "workflow_start"
        async with self._operation(target, operation, on_finish) as call:
            chat = call.services.chat
            request = RunAppWorkflowRequest(
                app_key=target.app_key,
                user_id=user_id,
                input_data=json.dumps(inputs, ensure_ascii=False),
                no_debug=True,
            )
            started = await call.attempt(
                "run_app_workflow",
                lambda: _checked(
                    chat.arun_app_workflow(target.app_key, request), "run_app_workflow"
                ),
                idempotent=False,
            )
            if not started.run_id:
                raise HiAgentCallError(ErrorType.BAD_ANSWER, "HiAgent started a run without an id")
            run = WorkflowRun(run_id=started.run_id, status="processing")
            if wait:
                run_id = run.run_id
                run = await self._follow_run(
                    call, run_id, lambda: self._query_run(call, run_id, user_id)
                )
            else:
                run = self._follow_in_background(call, run, user_id, on_run_end)
        return run

    async def _follow_run(
        self, call: _Call, run_id: str, poll: Callable[[], Awaitable[WorkflowRun | None]]
    ) -> WorkflowRun:
        """Poll (None: no answer this time) with growing pauses until the run ends or the
        deadline passes; the run's tokens go to `call`."""
        delay = _FIRST_POLL_S
        try:
            while (run := await poll()) is None or run.status not in _FINISHED_RUN:
                await self._pause_before_poll(call, delay)
                delay = min(delay * 2, self.settings.workflow_poll_interval_s)
        except HiAgentCallError as error:
            error.details["run_id"] = run_id
            raise
        call.tokens_out = run.tokens  # a failed run may have used tokens too
        if run.status != "success":
            raise HiAgentCallError(
                ErrorType.WORKFLOW_FAILED,
                f"The workflow {call.target.name!r} ended with status {run.status!r}"
                + (f": {run.message}" if run.message else ""),
                details={"run_id": run_id, "run_status": run.status},
            )
        return run

    async def _pause_before_poll(self, call: _Call, delay: float) -> None:
        """Wait `delay`; when the deadline comes first, wait for it and raise TIMEOUT (so a
        run is given up exactly at its deadline, and never polled past it)."""
        remaining = call.deadline - call.loop.time()
        if remaining > delay:
            await asyncio.sleep(delay)
            return
        await asyncio.sleep(max(remaining, 0.0))
        raise self.deadline_error(call.target, "the workflow to finish")

    def _follow_in_background(
        self, start: _Call, run: WorkflowRun, user_id: str, on_run_end: FinishCallback
    ) -> WorkflowRun:
        """Follow a run just started, if the bound allows; the run with its `deadline_at`."""
        target = start.target
        if len(self._following) >= self.settings.max_followed_runs:
            logger.bind(agent=target.name).warning(
                f"Not following workflow run {run.run_id} of {target.name!r}: "
                f"{len(self._following)} runs are followed already (HIAGENT_MAX_FOLLOWED_RUNS); "
                "its deadline is not enforced and its end is not recorded"
            )
            return run
        deadline_at = datetime.now(UTC) + timedelta(seconds=start.deadline - start.loop.time())
        # The follow is a call of its own (span, metrics, `on_run_end`) that counts from the
        # start. It is not admitted by the breaker: it must not hold a half-open breaker's one
        # trial call for a whole run; its polls still respect an open breaker.
        call = _Call(self, target, "workflow_follow", on_run_end, started=start.started)
        followed = _FollowedRun(deadline=call.deadline, deadline_at=deadline_at)
        key = (target.key, run.run_id)
        self._following[key] = followed
        followed.task = call.loop.create_task(self._follow_to_end(call, key, followed, user_id))
        return replace(run, deadline_at=deadline_at)

    async def _follow_to_end(
        self, call: _Call, key: tuple[str, str], followed: _FollowedRun, user_id: str
    ) -> None:
        run_id = key[1]
        try:
            with _finishing(call):
                await self._follow_run(
                    call, run_id, lambda: self._poll_when_free(call, run_id, user_id)
                )
        except HiAgentCallError as error:  # already reported by `_finishing`
            if error.error_type is ErrorType.TIMEOUT:
                self._remember_overdue(key, followed)
        except Exception as exc:  # reported as INTERNAL by `_finishing`; nobody else will log it
            logger.opt(exception=exc).error(f"Following workflow run {run_id} failed")
        finally:
            if self._following.get(key) is followed:  # not forgotten by `reset` meanwhile
                del self._following[key]

    async def _poll_when_free(self, call: _Call, run_id: str, user_id: str) -> WorkflowRun | None:
        """One status poll, holding slots only meanwhile; None when our own limits or an open
        breaker refuse it for now (the follower tries again after its next pause)."""
        try:
            async with call.slots():
                return await self._query_run(call, run_id, user_id)
        except HiAgentCallError as error:
            if error.error_type in _POLL_LATER:
                return None
            raise

    def _remember_overdue(self, key: tuple[str, str], followed: _FollowedRun) -> None:
        self._overdue[key] = followed
        while len(self._overdue) > self.settings.max_followed_runs:
            self._overdue.popitem(last=False)

    def _judged(self, target: Target, run: WorkflowRun) -> WorkflowRun:
        """HiAgent's view of a run, plus ours when we follow it: unfinished past its deadline
        is `timeout` (a run that did finish, even late, keeps HiAgent's status and output)."""
        key = (target.key, run.run_id)
        followed = self._following.get(key) or self._overdue.get(key)
        if followed is None:
            return run
        run = replace(run, deadline_at=followed.deadline_at)
        if run.status in _FINISHED_RUN or asyncio.get_running_loop().time() < followed.deadline:
            return run
        return replace(
            run,
            status=_RUN_TIMED_OUT,
            message=f"{target.name!r} did not finish by its deadline "
            f"({followed.deadline_at.isoformat(timespec='seconds')}); "
            f"HiAgent still reports it {run.status!r}",
        )

    async def _query_run(self, call: _Call, run_id: str, user_id: str) -> WorkflowRun:
        target = call.target
        request = QueryRunAppProcessRequest(app_key=target.app_key, user_id=user_id, run_id=run_id)
        chat = call.services.chat
        status = await call.attempt(
            "query_run_app_process",
            lambda: _checked(
                chat.aquery_run_app_process(target.app_key, request), "query_run_app_process"
            ),
            idempotent=True,
        )
        return WorkflowRun(
            run_id=status.run_id or run_id,
            status=status.status,
            output=status.output,
            message=status.message or status.msg,
            cost_ms=status.cost_ms,
            tokens=status.cost_token,
        )

    async def workflow_status(
        self, target: Target, run_id: str, *, user_id: str, on_finish: FinishCallback = _ignore
    ) -> WorkflowRun:
        """The current status of a run (a failed run is returned, not raised); a followed run
        still unfinished past its deadline has status `timeout`."""
        async with self._operation(target, "workflow_status", on_finish) as call:
            run = self._judged(target, await self._query_run(call, run_id, user_id))
        return run

    async def retrieve(
        self,
        target: Target,
        query: str,
        *,
        top_k: int = 5,
        score_threshold: float = 0.5,
        on_finish: FinishCallback = _ignore,
    ) -> list[Passage]:
        """Passages of the target's knowledge bases that match `query`, best first."""
        async with self._operation(target, "retrieve", on_finish) as call:
            knowledgebase = call.services.knowledgebase
            request = QueryRequest(
                workspace_id=target.workspace_id or "",
                dataset_ids=list(target.dataset_ids),
                keywords=[query],
                top_k=top_k,
                score_threshold=score_threshold,
            )
            response = await call.attempt(
                "Query", lambda: knowledgebase.aquery(request), idempotent=True
            )
            passages = [
                Passage(
                    content=hit.content,
                    score=hit.score,
                    dataset_id=hit.dataset_id,
                    dataset_name=hit.dataset_name,
                    document_id=hit.document_id,
                    document_name=hit.document_name,
                    segment_id=hit.segment_id,
                )
                for hit in response.results
            ]
        return passages

    async def exec_tool(
        self, target: Target, inputs: dict[str, Any], *, on_finish: FinishCallback = _ignore
    ) -> str:
        """Run the target's plugin tool once; its output text, with `Success` checked."""
        async with self._operation(target, "tool_exec", on_finish) as call:
            tools = call.services.tool
            workspace_id = target.workspace_id or ""
            tool_id = target.tool_id or ""
            plugin_id = await self._plugin_id(call, workspace_id, tool_id)
            request = ExecArchivedToolRequest(
                workspace_id=workspace_id,
                plugin_id=plugin_id,
                tool_id=tool_id,
                config="",
                input_data=json.dumps(inputs, ensure_ascii=False),
            )
            result = await call.attempt(
                "ExecArchivedTool", lambda: tools.aexec_archived_tool(request), idempotent=False
            )
            if not result.success:
                raise HiAgentCallError(
                    ErrorType.TOOL_FAILED,
                    f"The tool {target.name!r} failed: {result.reason or 'no reason given'}",
                )
        return str(result.output)

    async def _plugin_id(self, call: _Call, workspace_id: str, tool_id: str) -> str:
        cached = self._plugin_ids.get((workspace_id, tool_id))
        if cached is not None:
            return cached
        tools = call.services.tool
        request = GetArchivedToolRequest(workspace_id=workspace_id, id=tool_id)
        tool = await call.attempt(
            "GetArchivedTool", lambda: tools.aget_archived_tool(request), idempotent=True
        )
        if len(self._plugin_ids) >= _PLUGIN_CACHE_SIZE:
            self._plugin_ids.clear()
        self._plugin_ids[(workspace_id, tool_id)] = tool.plugin_id
        return str(tool.plugin_id)


def _conversation_id(created: Any) -> str:
    conversation = getattr(created, "conversation", None)
    conversation_id = getattr(conversation, "app_conversation_id", "") if conversation else ""
    if not conversation_id:
        raise HiAgentCallError(ErrorType.BAD_ANSWER, "HiAgent created a conversation without an id")
    return str(conversation_id)


def _breaker_verdict(error: HiAgentCallError | None) -> bool | None:
    # Whether a finished call failed in the breaker's eyes; None when HiAgent was not asked.
    if error is None:
        return False
    if error.error_type in _NOT_SENT:
        return None
    return error.counts_as_failure


def _breaker_changed(name: str, state: BreakerState) -> None:
    metrics.BREAKER_STATE.labels(name).set(state.level)
    logger.bind(agent=name, breaker=state.value).warning(
        f"Circuit breaker of {name!r} is now {state.value.replace('_', '-')}"
    )
