"""A hung test fails on its own, and says where it waits.

Each phase of a test (setup, call, teardown) has `--hang-timeout` seconds (ini option
`hang_timeout`, default 180; 0 turns the watchdog off). Past that:

1. the stacks of every thread and every asyncio task are taken;
2. the asyncio tasks started since the phase began are cancelled, so the phase fails with
   "hung for N s" and those stacks in its report, and the session goes on;
3. if the phase is still stuck after as long again (at most 30 s; blocking code, not an
   `await`), the stacks go to the terminal and the session is interrupted as if by Ctrl-C,
   so CI ends with a reason instead of running into its own time limit;
4. if even that is swallowed, the process exits (status 3) after as long again.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import signal
import sys
import threading
import traceback
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import pytest
import pytest_asyncio

DEFAULT_HANG_TIMEOUT_S = 180.0
INTERRUPT_AFTER_S = 30.0
_loops: list[asyncio.AbstractEventLoop] = []
_NOISE = (f"{os.sep}_pytest{os.sep}", f"{os.sep}pluggy{os.sep}", "<frozen runpy>", __file__)


def pytest_addoption(parser: pytest.Parser) -> None:
    help_text = "Fail a test phase stuck for this many seconds, with its stacks (0: never)."
    parser.addoption("--hang-timeout", type=float, default=None, help=help_text)
    parser.addini("hang_timeout", help_text, default=str(DEFAULT_HANG_TIMEOUT_S))


@pytest_asyncio.fixture(scope="session", autouse=True)
async def _watched_loop() -> None:
    # The session's event loop, so the watchdog thread can reach its tasks.
    _loops[:] = [asyncio.get_running_loop()]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with _watch(item, "setup"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with _watch(item, "call"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    with _watch(item, "teardown"):
        return (yield)


@contextmanager
def _watch(item: pytest.Item, phase: str) -> Iterator[None]:
    limit = _limit(item.config)
    if not limit:
        yield
        return
    loop = _loops[0] if _loops else None
    before = set(asyncio.all_tasks(loop)) if loop is not None and not loop.is_closed() else set()
    finished = threading.Event()
    interrupted = threading.Event()
    report: list[str] = []

    def watch() -> None:
        if finished.wait(limit):
            return
        cancelled = threading.Event()
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(_cancel_new_tasks, loop, before, report, cancelled)
            cancelled.wait(5)
        if not cancelled.is_set():
            report.append(_stacks(loop=None))
        grace = min(limit, INTERRUPT_AFTER_S)
        if finished.wait(grace):
            return
        _to_terminal(
            item.config,
            f"\n{item.nodeid} ({phase}) is still stuck {limit + grace:.0f} s in;"
            f" interrupting the session.\n{report[-1] if report else _stacks(loop=None)}\n",
        )
        interrupted.set()
        os.kill(os.getpid(), signal.SIGINT)
        if finished.wait(grace):
            return
        # Something swallowed the interruption too: end the process, or CI waits for ever.
        _to_terminal(item.config, f"\n{item.nodeid} ignored the interruption; exiting.\n")
        os._exit(3)

    watcher = threading.Thread(target=watch, name=f"hang-watchdog {phase}", daemon=True)
    watcher.start()
    hung = f"{phase} hung for {limit:.0f} s (see --hang-timeout); stacks when it was stopped:\n"
    try:
        yield
    except BaseException as error:
        if report and not interrupted.is_set():
            raise pytest.fail.Exception(hung + report[0], pytrace=False) from error
        raise
    else:
        if report:  # it ended only because the watchdog cancelled what it waited for
            raise pytest.fail.Exception(hung + report[0], pytrace=False)
    finally:
        finished.set()


def _limit(config: pytest.Config) -> float:
    option = config.getoption("--hang-timeout")
    value = option if option is not None else config.getini("hang_timeout")
    try:
        return max(float(value), 0.0)
    except ValueError:
        raise pytest.UsageError(
            f"hang_timeout must be a number of seconds, not {value!r}"
        ) from None


def _cancel_new_tasks(
    loop: asyncio.AbstractEventLoop,
    before: set[asyncio.Task[Any]],
    report: list[str],
    done: threading.Event,
) -> None:
    # On the loop's thread: take the stacks first, then cancel what this phase started.
    report.append(_stacks(loop))
    for task in asyncio.all_tasks(loop) - before:
        task.cancel(msg="cancelled by the hang watchdog")
    done.set()


def _stacks(loop: asyncio.AbstractEventLoop | None) -> str:
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    parts = []
    for ident, frame in sys._current_frames().items():
        if names.get(ident, "").startswith("hang-watchdog"):
            continue
        lines = "".join(traceback.format_list(_own_frames(frame)))
        parts.append(f"--- thread {names.get(ident, ident)}\n{lines}")
    if loop is not None:
        for task in sorted(asyncio.all_tasks(loop), key=lambda task: task.get_name()):
            lines = "".join(_await_chain(task.get_coro()))
            parts.append(f"--- task {task.get_name()}\n{lines}")
    return "\n".join(parts)


def _own_frames(frame: FrameType) -> list[traceback.FrameSummary]:
    # pytest's and pluggy's own frames say nothing about where a test waits.
    return [
        summary
        for summary in traceback.extract_stack(frame)
        if not any(part in summary.filename for part in _NOISE)
    ]


def _await_chain(awaitable: Any) -> Iterator[str]:
    # A task's own stack shows only its outermost coroutine; follow what each one awaits.
    for _ in range(200):
        frame: FrameType | None = _first_attribute(awaitable, "cr_frame", "ag_frame", "gi_frame")
        if frame is None:
            hidden = _hidden_awaitable(awaitable)
            if hidden is None:
                yield f"  waiting on {awaitable!r}\n"
                return
            awaitable = hidden
            continue
        yield from traceback.format_stack(frame, limit=1)
        awaitable = _first_attribute(awaitable, "cr_await", "ag_await", "gi_yieldfrom")
        if awaitable is None:
            return


def _first_attribute(target: Any, *names: str) -> Any:
    return next((v for v in (getattr(target, n, None) for n in names) if v is not None), None)


def _hidden_awaitable(awaitable: Any) -> Any:
    # `anext(agen)` and `await future` hide the generator or future they wait on; the garbage
    # collector's references name it.
    kind = type(awaitable).__name__
    if kind in ("async_generator_asend", "async_generator_athrow"):
        wanted: Any = inspect.isasyncgen
    elif kind == "FutureIter":
        wanted = asyncio.isfuture
    else:
        return None
    return next((ref for ref in gc.get_referents(awaitable) if wanted(ref)), None)


def _to_terminal(config: pytest.Config, text: str) -> None:
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        sys.stderr.write(text)
        return
    with capture.global_and_fixture_disabled():
        sys.stderr.write(text)
        sys.stderr.flush()
