"""A circuit breaker per agent configuration.

Closed: calls pass; their outcomes fill a rolling window. When at least `min_calls` calls in the
window failed at `failure_rate` or more, the breaker opens: calls are refused at once for
`cooldown_s`. Then it is half-open: one trial call goes through; success closes the breaker,
failure opens it again.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .errors import ErrorType, HiAgentCallError

# Retry-After for calls refused while the half-open trial call is still running.
_TRIAL_RETRY_AFTER_S = 1


class BreakerState(StrEnum):
    """Where a breaker stands; the gauge `hiagent_breaker_state` uses `level`."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    @property
    def level(self) -> int:
        """0 closed, 1 open, 2 half-open."""
        return {"closed": 0, "open": 1, "half_open": 2}[self.value]


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """When a breaker opens and for how long."""

    failure_rate: float
    min_calls: int
    window_s: float
    cooldown_s: float


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """A breaker's state for people: API, readiness and dashboard."""

    state: BreakerState
    calls: int
    failures: int
    failure_rate: float
    retry_after_s: int
    open_since: float | None


class CircuitBreaker:
    """One breaker; not thread-safe (one event loop uses it)."""

    def __init__(
        self,
        name: str,
        policy: BreakerPolicy,
        *,
        on_change: Callable[[str, BreakerState], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.policy = policy
        self._on_change = on_change
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._outcomes: deque[tuple[float, bool]] = deque()
        self._failures = 0
        self._open_since: float | None = None
        self._open_until = 0.0
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        """The current state (an expired cool-down reads as half-open)."""
        if self._state is BreakerState.OPEN and self._clock() >= self._open_until:
            return BreakerState.HALF_OPEN
        return self._state

    def check(self) -> None:
        """Raise `HiAgentCallError(CIRCUIT_OPEN)` while open, without taking the trial call."""
        if self._state is BreakerState.OPEN:
            remaining = self._open_until - self._clock()
            if remaining > 0:
                raise self._refusal(math.ceil(remaining))

    def before_call(self) -> bool:
        """Admit a call or raise `HiAgentCallError(CIRCUIT_OPEN)`; True for the trial call."""
        if self._state is BreakerState.CLOSED:
            return False
        now = self._clock()
        if self._state is BreakerState.OPEN:
            if now < self._open_until:
                raise self._refusal(math.ceil(self._open_until - now))
            self._set_state(BreakerState.HALF_OPEN)
        if self._trial_running:
            raise self._refusal(_TRIAL_RETRY_AFTER_S)
        self._trial_running = True
        return True

    def after_call(self, *, trial: bool, failed: bool | None) -> None:
        """Record an admitted call's outcome; `failed=None` when it gave no verdict (cancelled)."""
        if trial:
            self._trial_running = False
            if failed is None:
                return
            if failed:
                self._open(self._clock())
            else:
                self._close()
            return
        if failed is None or self._state is not BreakerState.CLOSED:
            return  # a late outcome of a call admitted before the breaker opened
        now = self._clock()
        self._outcomes.append((now, failed))
        self._failures += failed
        self._forget_before(now - self.policy.window_s)
        calls = len(self._outcomes)
        if (
            failed
            and calls >= self.policy.min_calls
            and self._failures / calls >= self.policy.failure_rate
        ):
            self._open(now)

    def snapshot(self) -> BreakerSnapshot:
        """Counts in the current window and, when open, the seconds left."""
        now = self._clock()
        self._forget_before(now - self.policy.window_s)
        calls = len(self._outcomes)
        state = self.state
        retry_after = 0
        if state is BreakerState.OPEN:
            retry_after = math.ceil(self._open_until - now)
        return BreakerSnapshot(
            state=state,
            calls=calls,
            failures=self._failures,
            failure_rate=round(self._failures / calls, 3) if calls else 0.0,
            retry_after_s=retry_after,
            open_since=self._open_since,
        )

    def _refusal(self, retry_after_s: int) -> HiAgentCallError:
        return HiAgentCallError(
            ErrorType.CIRCUIT_OPEN,
            f"Calls to {self.name!r} are paused after repeated failures; "
            f"try again in {retry_after_s} s",
            retry_after_s=retry_after_s,
        )

    def _forget_before(self, cutoff: float) -> None:
        outcomes = self._outcomes
        while outcomes and outcomes[0][0] < cutoff:
            self._failures -= outcomes.popleft()[1]

    def _open(self, now: float) -> None:
        self._open_since = now if self._state is BreakerState.CLOSED else self._open_since
        self._open_until = now + self.policy.cooldown_s
        self._set_state(BreakerState.OPEN)

    def _close(self) -> None:
        self._outcomes.clear()
        self._failures = 0
        self._open_since = None
        self._set_state(BreakerState.CLOSED)

    def _set_state(self, state: BreakerState) -> None:
        if state is not self._state:
            self._state = state
            if self._on_change is not None:
                self._on_change(self.name, state)
