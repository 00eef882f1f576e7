"""cancel_and_wait: a task that swallowed its cancellation is stopped anyway, within bounds."""

from __future__ import annotations

import asyncio
import contextlib
import time

from ..aio import RECANCEL_EVERY_S, cancel_and_wait


async def test_a_task_that_swallows_one_cancellation_is_cancelled_again() -> None:
    swallowed = 0

    async def loop_on() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:  # what Python 3.11's wait_for does at times
                swallowed += 1
                if swallowed > 1:
                    raise

    task = asyncio.create_task(loop_on())
    await asyncio.sleep(0.02)
    started = time.monotonic()
    await cancel_and_wait([task], within_s=5)
    assert task.cancelled()
    assert swallowed == 2
    assert time.monotonic() - started < RECANCEL_EVERY_S + 1


async def test_a_task_that_never_stops_is_left_behind_after_the_bound() -> None:
    stop = asyncio.Event()

    async def stubborn() -> None:
        while not stop.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.01)

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0.02)  # running: a task cancelled before its first step just ends
    started = time.monotonic()
    await cancel_and_wait([task], within_s=0.3)
    assert 0.3 <= time.monotonic() - started < 2
    assert not task.done()
    stop.set()
    await task


async def test_finished_and_failed_tasks_are_fine() -> None:
    async def fail() -> None:
        raise RuntimeError("boom")

    done = asyncio.create_task(asyncio.sleep(0))
    failed = asyncio.create_task(fail())
    await asyncio.sleep(0.01)
    await cancel_and_wait([done, failed, asyncio.create_task(asyncio.sleep(10))])
    assert done.done()
    assert failed.done()
