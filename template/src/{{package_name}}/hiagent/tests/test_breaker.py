"""The circuit breaker's rules, on a clock the test moves."""

from __future__ import annotations

import pytest

from ..breaker import BreakerPolicy, BreakerState, CircuitBreaker
from ..errors import ErrorType, HiAgentCallError

POLICY = BreakerPolicy(failure_rate=0.5, min_calls=4, window_s=10, cooldown_s=5)


class Clock:
    """A monotonic clock that only moves when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def calls(breaker: CircuitBreaker, *failed: bool) -> None:
    for outcome in failed:
        trial = breaker.before_call()
        breaker.after_call(trial=trial, failed=outcome)


def refusal(breaker: CircuitBreaker) -> HiAgentCallError:
    with pytest.raises(HiAgentCallError) as refused:
        breaker.before_call()
    assert refused.value.error_type is ErrorType.CIRCUIT_OPEN
    return refused.value


def test_opens_at_the_failure_rate_once_enough_calls_were_seen() -> None:
    clock = Clock()
    changes: list[BreakerState] = []
    breaker = CircuitBreaker("bot", POLICY, clock=clock, on_change=lambda _, s: changes.append(s))

    calls(breaker, True, True, True)  # 3 failures, below the minimum volume
    assert breaker.state is BreakerState.CLOSED
    calls(breaker, False)  # 3 of 4 failed, but the last call succeeded
    assert breaker.state is BreakerState.CLOSED
    calls(breaker, True)

    assert breaker.state is BreakerState.OPEN
    assert refusal(breaker).retry_after_s == 5
    assert changes == [BreakerState.OPEN]
    snapshot = breaker.snapshot()
    assert (snapshot.calls, snapshot.failures, snapshot.failure_rate) == (5, 4, 0.8)


def test_old_outcomes_leave_the_window() -> None:
    clock = Clock()
    breaker = CircuitBreaker("bot", POLICY, clock=clock)
    calls(breaker, True, True, True)
    clock.now += 11

    calls(breaker, True)

    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot().calls == 1


def test_after_the_cool_down_one_trial_call_decides() -> None:
    clock = Clock()
    breaker = CircuitBreaker("bot", POLICY, clock=clock)
    calls(breaker, True, True, True, True)
    clock.now += 2
    assert refusal(breaker).retry_after_s == 3
    clock.now += 3

    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.before_call() is True
    assert refusal(breaker).retry_after_s == 1  # only one trial at a time
    breaker.after_call(trial=True, failed=True)
    assert breaker.state is BreakerState.OPEN

    clock.now += 5
    assert breaker.before_call() is True
    breaker.after_call(trial=True, failed=False)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot().calls == 0


def test_a_trial_without_verdict_lets_the_next_call_try() -> None:
    clock = Clock()
    breaker = CircuitBreaker("bot", POLICY, clock=clock)
    calls(breaker, True, True, True, True)
    clock.now += 5

    assert breaker.before_call() is True
    breaker.after_call(trial=True, failed=None)  # e.g. the caller went away

    assert breaker.before_call() is True


def test_check_refuses_while_open_without_taking_the_trial() -> None:
    clock = Clock()
    breaker = CircuitBreaker("bot", POLICY, clock=clock)
    calls(breaker, True, True, True, True)
    with pytest.raises(HiAgentCallError):
        breaker.check()
    clock.now += 5

    breaker.check()

    assert breaker.before_call() is True
