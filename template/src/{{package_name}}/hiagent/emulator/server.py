"""Running the emulator: blocking (`run_emulator`) or in a background thread (`EmulatorServer`)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import uvicorn

from .app import DEFAULT_APP_PREFIX, create_app, normalize_prefix
from .scenarios import Scenario, load_scenarios
from .state import EmulatorState, RecordedRequest, StoppedMessage

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 18080
_START_TIMEOUT_SECONDS = 5.0

logger = logging.getLogger(__name__)


def _initial_scenarios(
    scenarios: Mapping[str, Scenario] | None, scenarios_file: str | Path | None
) -> dict[str, Scenario]:
    loaded = load_scenarios(scenarios_file) if scenarios_file is not None else {}
    return {**loaded, **(scenarios or {})}


def _credentials(access_key: str | None, secret_key: str | None) -> None:
    if (access_key is None) != (secret_key is None):
        raise ValueError("give both access_key and secret_key, or neither")


def _listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Lets a restarted emulator take its old port back while old connections sit in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class EmulatorServer:
    """The emulator on a loopback port, served by uvicorn in a background thread.

    Use it as a context manager (sync or async). Scenarios, logs and the port survive
    `stop()` / `start()`, so a test can take HiAgent down and bring it back on the same address.
    """

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        scenarios: Mapping[str, Scenario] | None = None,
        scenarios_file: str | Path | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        app_prefix: str = DEFAULT_APP_PREFIX,
    ) -> None:
        _credentials(access_key, secret_key)
        self.state = EmulatorState(
            _initial_scenarios(scenarios, scenarios_file),
            access_key=access_key,
            secret_key=secret_key,
        )
        self.app = create_app(self.state, app_prefix=app_prefix)
        self._host = host
        self._port = port
        self._prefix = normalize_prefix(app_prefix)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle

    def start(self) -> Self:
        """Serve in a background thread; first on `port` (0: a free one), later on the same."""
        if self._server is not None:
            return self
        sock = _listening_socket(self._host, self._port)
        self._port = sock.getsockname()[1]
        self.state.stopping.clear()
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            ws="none",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"hiagent-emulator-{self._port}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"HiAgent emulator did not start on port {self._port}")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Close every open answer and the port; returns once the thread has ended."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self.state.stopping.set()
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT_SECONDS)
        self._server = self._thread = None

    @property
    def is_running(self) -> bool:
        """Whether the server thread is serving."""
        return self._server is not None

    async def astart(self) -> Self:
        """`start()` without blocking the event loop."""
        return await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        """`stop()` without blocking the event loop."""
        await asyncio.to_thread(self.stop)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await self.astart()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()

    # Addresses

    @property
    def port(self) -> int:
        """The bound port (known once started)."""
        if self._port == 0:
            raise RuntimeError("the emulator has no port until it is started")
        return self._port

    @property
    def top_endpoint(self) -> str:
        """Value for HIAGENT_TOP_ENDPOINT: scheme, host and the explicit port the SDK needs."""
        return f"http://{self._host}:{self.port}"

    @property
    def app_base_url(self) -> str:
        """Value for HIAGENT_APP_BASE_URL (no trailing slash)."""
        return self.top_endpoint + self._prefix

    # Scenarios

    def set_scenario(self, key: str, scenario: Scenario) -> None:
        """Answer `key` (app key, workflow/tool/dataset id, or "*" for all) with `scenario`."""
        self.state.set_scenario(key, scenario)

    def remove_scenario(self, key: str) -> None:
        """Answer `key` with the default scenario again."""
        self.state.remove_scenario(key)

    def clear_scenarios(self) -> None:
        """Answer every key with the built-in default scenario."""
        self.state.clear_scenarios()

    def reset(self) -> None:
        """Start-up scenarios back, logs emptied, id counters back at 1."""
        self.state.reset()

    # What the emulator saw

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every HiAgent request received, oldest first (admin calls excluded)."""
        return self.state.requests()

    def calls(self, action: str) -> list[RecordedRequest]:
        """The recorded requests for one action, e.g. "chat_query_v2" or "GetWorkflow"."""
        return [r for r in self.state.requests() if r.action == action]

    @property
    def stopped_messages(self) -> list[StoppedMessage]:
        """Every `stop_message` call received, oldest first."""
        return self.state.stopped_messages()

    @property
    def active_streams(self) -> int:
        """How many SSE answers are open right now."""
        return self.state.active_streams()

    async def wait_for(self, condition: Callable[[], Any], within: float = 2.0) -> None:
        """Wait until `condition()` is truthy, e.g. `lambda: emu.stopped_messages`.

        Raises `TimeoutError` after `within` seconds.
        """
        async with asyncio.timeout(within):
            # Polled: the condition reads state that the server thread changes.
            while not condition():  # noqa: ASYNC110
                await asyncio.sleep(0.01)


@contextmanager
def running_emulator(**options: Any) -> Iterator[EmulatorServer]:
    """A started `EmulatorServer` (same keyword options), stopped on exit; fits a pytest fixture."""
    with EmulatorServer(**options) as server:
        yield server


def run_emulator(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    scenarios_file: str | Path | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    app_prefix: str = DEFAULT_APP_PREFIX,
) -> None:
    """Serve the emulator in the foreground until interrupted."""
    _credentials(access_key, secret_key)
    state = EmulatorState(
        _initial_scenarios(None, scenarios_file), access_key=access_key, secret_key=secret_key
    )
    top_endpoint = f"http://{host}:{port}"
    logger.info(
        "HiAgent emulator: HIAGENT_TOP_ENDPOINT=%s HIAGENT_APP_BASE_URL=%s%s",
        top_endpoint,
        top_endpoint,
        normalize_prefix(app_prefix),
    )
    uvicorn.run(
        create_app(state, app_prefix=app_prefix),
        host=host,
        port=port,
        lifespan="off",
        ws="none",
        timeout_graceful_shutdown=1,
    )
