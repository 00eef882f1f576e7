"""The one retry loop for calls to HiAgent (the SDK's `with_retry` retries everything: unused).

Exponential back-off with full jitter; a `Retry-After` from HiAgent (429, 503) is the minimum
wait. A call is sent again only when `HiAgentCallError.retryable` allows it, never past the
caller's deadline, and never after a wait longer than `max_delay_s` would be needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_random_exponential,
)

from .errors import HiAgentCallError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many attempts, and how long to wait between them."""

    attempts: int
    base_delay_s: float
    max_delay_s: float


def _failure(state: RetryCallState) -> HiAgentCallError | None:
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    return error if isinstance(error, HiAgentCallError) else None


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    idempotent: bool,
    deadline: float,
    on_retry: Callable[[HiAgentCallError], None],
) -> T:
    """Run `attempt` until it succeeds or a failure must not (or cannot) be retried.

    `deadline` is in event-loop time; `on_retry` is told about each failure before the wait.
    """
    loop = asyncio.get_running_loop()
    backoff = wait_random_exponential(multiplier=policy.base_delay_s, max=policy.max_delay_s)

    def wait(state: RetryCallState) -> float:
        error = _failure(state)
        delay = backoff(state)
        if error is not None and error.retry_after_s is not None:
            delay = max(delay, error.retry_after_s)
        return delay

    def stop(state: RetryCallState) -> bool:
        upcoming = state.upcoming_sleep
        return (
            state.attempt_number >= policy.attempts
            or upcoming > policy.max_delay_s
            or loop.time() + upcoming >= deadline
        )

    def before_sleep(state: RetryCallState) -> None:
        error = _failure(state)
        if error is not None:
            on_retry(error)

    retrying = AsyncRetrying(
        stop=stop,
        wait=wait,
        retry=retry_if_exception(
            lambda exc: isinstance(exc, HiAgentCallError) and exc.retryable(idempotent=idempotent)
        ),
        before_sleep=before_sleep,
        reraise=True,
    )
    return await retrying(attempt)
