"""Stopping background tasks for sure.

`task.cancel(); await task` can wait forever on Python 3.11: `asyncio.wait_for` drops a
cancellation that arrives in the same loop pass as the result it waits for (CPython issue
86296, fixed in 3.12), and client libraries use it inside their calls (for socket writes with
a timeout, say). The task then runs on, and whoever awaits it hangs. `cancel_and_wait` cancels again
until the task ends, and gives up after a bound with a warning naming what is left.

It is meant for loops (listeners, monitors, schedulers) whose cancellation needs no long
clean-up: a task still running after `RECANCEL_EVERY_S` is cancelled again, clean-up or not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from loguru import logger

RECANCEL_EVERY_S = 0.5


async def cancel_and_wait(tasks: Iterable[asyncio.Future[Any]], within_s: float = 10.0) -> None:
    """Cancel `tasks` and wait until they end, cancelling again those that carry on.

    Their results and exceptions are retrieved; after `within_s`, those still running are
    left behind and named in a warning.
    """
    tasks = list(tasks)
    pending = {task for task in tasks if not task.done()}
    deadline = asyncio.get_running_loop().time() + within_s
    while pending:
        for task in pending:
            task.cancel()
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            names = sorted(_name(task) for task in pending)
            logger.warning(f"{len(pending)} task(s) did not stop within {within_s:g} s: {names}")
            return
        _, pending = await asyncio.wait(pending, timeout=min(RECANCEL_EVERY_S, left))
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" at exit


def _name(task: asyncio.Future[Any]) -> str:
    return task.get_name() if isinstance(task, asyncio.Task) else repr(task)
