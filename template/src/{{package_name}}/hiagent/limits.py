"""Bounded concurrency: a number of slots and a bounded queue of callers waiting for one.

A full queue, or a wait longer than allowed, refuses the call at once with a `Retry-After`
instead of letting requests pile up behind a slow platform.
"""

from __future__ import annotations

import asyncio

from .errors import ErrorType, HiAgentCallError


class SlotLimiter:
    """`capacity` calls at once; at most `max_waiting` more wait, first come first served."""

    def __init__(self, name: str, capacity: int, max_waiting: int, retry_after_s: int) -> None:
        self.name = name
        self.capacity = capacity
        self.max_waiting = max_waiting
        self.retry_after_s = retry_after_s
        self.waiting = 0
        self.in_use = 0
        self._slots = asyncio.Semaphore(capacity)

    async def acquire(self, timeout_s: float) -> None:
        """Take a slot, waiting at most `timeout_s`; raise `HiAgentCallError(BUSY)` otherwise."""
        if not self._slots.locked():
            await self._slots.acquire()  # free slot, nobody queued: returns without waiting
            self.in_use += 1
            return
        if self.waiting >= self.max_waiting:
            raise self._busy(f"{self.waiting} calls are already waiting")
        self.waiting += 1
        try:
            async with asyncio.timeout(max(timeout_s, 0.0)):
                await self._slots.acquire()
        except TimeoutError:
            raise self._busy(f"no slot became free within {timeout_s:.1f} s") from None
        finally:
            self.waiting -= 1
        self.in_use += 1

    def release(self) -> None:
        """Give a slot back."""
        self.in_use -= 1
        self._slots.release()

    def _busy(self, why: str) -> HiAgentCallError:
        return HiAgentCallError(
            ErrorType.BUSY,
            f"Too many calls to {self.name} at once ({self.capacity} allowed; {why}); "
            f"try again in {self.retry_after_s} s",
            retry_after_s=self.retry_after_s,
        )
