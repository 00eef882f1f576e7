"""The HiAgent SDK services, built once per process and closed at shutdown.

What this fixes around the SDK (see docs/hiagent.md):
- endpoints are validated first (explicit TOP port, no trailing slash on the app URL);
- the SDK's httpx clients are replaced by ours, whose response hook raises
  `httpx.HTTPStatusError` for every non-2xx answer, so the status survives (also on streams);
- one connection pool with our timeouts and limits; both clients are closed at shutdown;
- credentials come only from our settings; the SDK's own `~/.volc` lookup is skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from hiagent_api.chat import ChatService
from hiagent_api.knowledgebase import KnowledgebaseService
from hiagent_api.tool import ToolService
from hiagent_api.workflow import WorkflowService
from pydantic import SecretStr

from ..core.settings import Settings, endpoint_problems
from .settings import HiAgentSettings

# Below the usual 5 s keep-alive of servers, so we never reuse a connection they just closed.
_KEEPALIVE_EXPIRY_S = 4.0


class HiAgentNotConfiguredError(RuntimeError):
    """The HiAgent endpoints or credentials are missing or unusable; `problems` says which."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("HiAgent is not configured: " + "; ".join(problems))


# The SDK reads VOLC_* or ~/.volc/* in `Service.init()` at construction, and crashes on a
# ~/.volc/.env (it calls a function it never imported). These subclasses skip that lookup;
# `open_services` sets AK/SK itself. Its constructor also builds a sync and an async httpx
# client per service, each loading the CA bundle (about 20 ms apiece: 8 of them were a fifth of
# the start-up): the subclasses skip that too, and `open_services` gives all four one pair.
class _OwnClients:
    http_client: httpx.Client | None
    async_http_client: httpx.AsyncClient | None

    def init(self) -> None:
        """Credentials are set explicitly from settings."""

    def init_http_client(self, *_: Any) -> None:
        """The clients are shared, and set by `open_services`."""
        self.http_client = self.async_http_client = None


class _Chat(_OwnClients, ChatService):  # type: ignore[misc]
    pass


class _Workflow(_OwnClients, WorkflowService):  # type: ignore[misc]
    pass


class _Knowledgebase(_OwnClients, KnowledgebaseService):  # type: ignore[misc]
    pass


class _Tool(_OwnClients, ToolService):  # type: ignore[misc]
    pass


@dataclass(frozen=True, slots=True)
class HiAgentServices:
    """The four SDK services, sharing one async and one sync httpx client."""

    chat: Any
    workflow: Any
    knowledgebase: Any
    tool: Any
    app_base_url: str
    top_endpoint: str


def configuration_problems(settings: Settings) -> list[str]:
    """Why the HiAgent SDK cannot be built from these settings (empty when it can)."""
    problems = [
        f"{name} is not set"
        for name, value in (
            ("HIAGENT_TOP_ENDPOINT", settings.hiagent_top_endpoint),
            ("HIAGENT_APP_BASE_URL", settings.hiagent_app_base_url),
        )
        if not value
    ]
    return problems + endpoint_problems(
        settings.hiagent_top_endpoint, settings.hiagent_app_base_url
    )


async def _raise_for_status(response: httpx.Response) -> None:
    if not response.is_success:
        await response.aread()  # so the error carries the body, also on streaming calls
        response.raise_for_status()


def _raise_for_status_sync(response: httpx.Response) -> None:
    if not response.is_success:
        response.read()
        response.raise_for_status()


def _timeouts(options: HiAgentSettings) -> httpx.Timeout:
    return httpx.Timeout(
        connect=options.connect_timeout_s,
        read=options.read_timeout_s,
        write=options.read_timeout_s,
        # Waiting for a pooled connection is bounded by our own slot limits.
        pool=options.read_timeout_s,
    )


@asynccontextmanager
async def open_services(
    settings: Settings, options: HiAgentSettings
) -> AsyncIterator[HiAgentServices]:
    """Build the SDK services for this process; close their clients on exit.

    Raises `HiAgentNotConfiguredError` listing every problem with the endpoints.
    """
    problems = configuration_problems(settings)
    if problems:
        raise HiAgentNotConfiguredError(problems)
    assert settings.hiagent_top_endpoint
    assert settings.hiagent_app_base_url
    limits = httpx.Limits(
        max_connections=options.max_connections,
        max_keepalive_connections=options.max_keepalive_connections,
        keepalive_expiry=_KEEPALIVE_EXPIRY_S,
    )
    tls = httpx.create_ssl_context()  # the CA bundle, loaded once for both clients
    async_client = httpx.AsyncClient(
        timeout=_timeouts(options),
        limits=limits,
        event_hooks={"response": [_raise_for_status]},
        verify=tls,
    )
    sync_client = httpx.Client(
        timeout=_timeouts(options),
        limits=limits,
        event_hooks={"response": [_raise_for_status_sync]},
        verify=tls,
    )
    services: list[Any] = []
    try:
        for factory in (_Chat, _Workflow, _Knowledgebase, _Tool):
            service = factory(
                endpoint=settings.hiagent_top_endpoint, region=settings.hiagent_region
            )
            services.append(service)
            service.async_http_client = async_client
            service.http_client = sync_client
            service.set_ak(_secret(settings.volc_accesskey))
            service.set_sk(_secret(settings.volc_secretkey))
            if options.product_code:
                service.set_product_code(options.product_code)
            if hasattr(service, "set_app_base_url"):
                service.set_app_base_url(settings.hiagent_app_base_url)
        chat, workflow, knowledgebase, tool = services
        yield HiAgentServices(
            chat=chat,
            workflow=workflow,
            knowledgebase=knowledgebase,
            tool=tool,
            app_base_url=settings.hiagent_app_base_url,
            top_endpoint=settings.hiagent_top_endpoint,
        )
    finally:
        await async_client.aclose()
        sync_client.close()  # noqa: ASYNC212 - closes idle sockets only, nothing is awaited


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""
