"""`dev` with its worker: Ctrl-C or SIGTERM stops every process it started, none is left."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ...core.project import PACKAGE_NAME
from ...testing.database import create_test_database, drop_test_database
from ..embedded import free_port

pytestmark = pytest.mark.slow

READY_WITHIN_S = 120.0
GONE_WITHIN_S = 30.0


def process_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command) of every process (`ps`: Linux and macOS)."""
    listing = subprocess.run(
        ["ps", "-A", "-ww", "-o", "pid=,ppid=,stat=,command="],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    table = {}
    for line in listing.splitlines():
        pid, ppid, state, *command = line.split(None, 3)
        table[int(pid)] = (int(ppid), state, command[0] if command else "")
    return table


def descendants(root: int) -> dict[int, str]:
    """Every live process under `root`, with its command."""
    table = process_table()
    found: dict[int, str] = {}
    parents = [root]
    while parents:
        parent = parents.pop()
        for pid, (ppid, state, command) in table.items():
            if ppid == parent and not state.startswith("Z") and pid not in found:
                found[pid] = command
                parents.append(pid)
    return found


def alive(pids: dict[int, str]) -> dict[int, str]:
    table = process_table()
    return {pid: cmd for pid, cmd in pids.items() if pid in table and table[pid][1][0] != "Z"}


@pytest.fixture
async def dev_database(database_url: str) -> AsyncIterator[str]:
    url = await create_test_database(database_url)
    yield url
    await drop_test_database(url)


@pytest.mark.parametrize(
    "stop", ["ctrl-c", "sigterm"], ids=["ctrl-c-in-the-terminal", "sigterm-to-dev"]
)
def test_dev_leaves_no_process_behind(tmp_path: Path, dev_database: str, stop: str) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "HIAGENT_", "VOLC_"))}
    # Its own database; Redis and HiAgent unset, so `dev` starts the embedded ones.
    env.update(APP_ENV="dev", DATABASE_URL=dev_database, DASHBOARD_BUILD="false")
    log = (tmp_path / "dev.log").open("w")
    # A session of its own, as a terminal gives the command it runs in the foreground.
    process = subprocess.Popen(
        [sys.executable, "-m", PACKAGE_NAME, "dev", "--no-reload", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started: dict[int, str] = {}
    try:
        deadline = time.monotonic() + READY_WITHIN_S
        while True:
            assert process.poll() is None, (tmp_path / "dev.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "dev.log").read_text()
            started = descendants(process.pid)
            workers = [cmd for cmd in started.values() if f"{PACKAGE_NAME} worker" in cmd]
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2)
            except httpx.HTTPError:
                ready = None
            # Ready, with the worker's main process and the process it forks.
            if ready is not None and ready.status_code == 200 and len(workers) >= 2:
                break
            time.sleep(0.3)
        assert any("redis-server" in cmd for cmd in started.values()), started
        if stop == "ctrl-c":
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=GONE_WITHIN_S)
        deadline = time.monotonic() + GONE_WITHIN_S
        while alive(started) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert alive(started) == {}, (tmp_path / "dev.log").read_text()[-3000:]
    finally:
        for pid in [process.pid, *alive(started)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()
        log.close()
