"""The hang watchdog, in a pytest session of its own: a hung test fails, the session goes on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SETTINGS = """[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
asyncio_default_test_loop_scope = session
"""

HUNG_AWAIT = """
import asyncio
import contextlib

async def wait_forever():
    await asyncio.Event().wait()

async def test_hangs():
    await wait_forever()

async def test_hangs_and_swallows_the_cancellation():
    with contextlib.suppress(asyncio.CancelledError):
        await wait_forever()

def test_after():
    assert True
"""

HUNG_BLOCKING = """
import time

def test_blocks():
    time.sleep(600)

def test_never_reached():
    assert True
"""

HUNG_DEAF = """
import signal
import time

def test_ignores_ctrl_c():
    signal.signal(signal.SIGINT, lambda *_: None)
    time.sleep(600)
"""


def run_session(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text(SETTINGS)
    (tmp_path / "test_sample.py").write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--hang-timeout", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_hung_await_fails_naming_the_line_and_the_session_goes_on(tmp_path: Path) -> None:
    result = run_session(tmp_path, HUNG_AWAIT)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "2 failed, 1 passed" in output, output
    assert "call hung for 1 s" in output, output
    assert "await asyncio.Event().wait()" in output, output  # the line the task waits on


def test_a_blocked_test_interrupts_the_session_with_its_stack(tmp_path: Path) -> None:
    result = run_session(tmp_path, HUNG_BLOCKING)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output  # interrupted
    assert "still stuck 2 s in; interrupting the session" in output, output
    assert "time.sleep(600)" in output, output
    assert " passed" not in output, output  # the session stopped there


def test_a_test_deaf_to_the_interruption_ends_the_process(tmp_path: Path) -> None:
    result = run_session(tmp_path, HUNG_DEAF)
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    assert "ignored the interruption; exiting" in output, output
