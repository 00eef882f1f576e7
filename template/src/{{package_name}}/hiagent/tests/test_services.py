"""The SDK services as we build them: status hook, shared clients, credentials, endpoints."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hiagent_api.chat_types import ChatRequest, GetAppConfigPreviewRequest
from hiagent_api.tool_types import GetArchivedToolRequest

from ...core.settings import Settings
from ..emulator import EmulatorServer, Failure, Scenario
from ..services import HiAgentNotConfiguredError, HiAgentServices, open_services
from ..settings import HiAgentSettings

OPTIONS = HiAgentSettings(_env_file=None)


@pytest_asyncio.fixture
async def services(test_settings: Settings) -> AsyncIterator[HiAgentServices]:
    async with open_services(test_settings, OPTIONS) as built:
        yield built


async def test_http_errors_keep_their_status_on_plain_and_streaming_calls(
    services: HiAgentServices, hiagent_emulator: EmulatorServer
) -> None:
    hiagent_emulator.set_scenario(
        "app-x", Scenario(failure=Failure(kind="http_error", status=401, code="InvalidApiKey"))
    )
    request = ChatRequest(
        app_key="app-x",
        app_conversation_id="conv-1",
        query="hi",
        response_mode="streaming",
        user_id="u",
    )

    with pytest.raises(httpx.HTTPStatusError) as plain:
        await services.chat.aget_app(
            "app-x", GetAppConfigPreviewRequest(app_key="app-x", user_id="u")
        )
    with pytest.raises(httpx.HTTPStatusError) as streamed:
        async for _ in services.chat.achat_streaming("app-x", request):
            pass

    assert plain.value.response.status_code == 401
    assert streamed.value.response.status_code == 401
    assert "InvalidApiKey" in streamed.value.response.text


async def test_the_four_services_share_one_pool_closed_on_exit(test_settings: Settings) -> None:
    async with open_services(test_settings, OPTIONS) as built:
        clients = {
            id(service.async_http_client)
            for service in (built.chat, built.workflow, built.knowledgebase, built.tool)
        }
        client = built.chat.async_http_client
        assert len(clients) == 1
        assert not client.is_closed
    assert client.is_closed
    assert built.chat.http_client.is_closed


async def test_start_up_builds_one_client_pair_and_loads_the_ca_bundle_once(
    test_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK's constructor builds two clients per service, each loading the CA bundle (about
    # 20 ms apiece): 8 of them were a fifth of the start-up (docs/performance.md).
    built: list[str] = []
    for kind in (httpx.Client, httpx.AsyncClient):
        original = kind.__init__

        def counting(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            built.append(type(self).__name__)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(kind, "__init__", counting)
    loads: list[object] = []
    original_load = ssl.SSLContext.load_verify_locations

    def counting_load(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args or kwargs)
        original_load(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting_load)
    async with open_services(test_settings, OPTIONS):
        pass
    assert sorted(built) == ["AsyncClient", "Client"]
    assert len(loads) == 1


async def test_credentials_come_from_settings_even_with_a_volc_env_file(
    test_settings: Settings,
    hiagent_emulator: EmulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The SDK's own lookup would crash on ~/.volc/.env (it calls a function it never imported).
    (tmp_path / ".volc").mkdir()
    (tmp_path / ".volc" / ".env").write_text("VOLC_ACCESSKEY=wrong\nVOLC_SECRETKEY=wrong\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("VOLC_ACCESSKEY", raising=False)
    monkeypatch.delenv("VOLC_SECRETKEY", raising=False)

    async with open_services(test_settings, OPTIONS) as built:
        tool = await built.tool.aget_archived_tool(
            GetArchivedToolRequest(workspace_id="ws", id="tool-1")
        )

    assert tool.plugin_id == "plugin-emu"  # the emulator verified the request's signature
    assert hiagent_emulator.calls("GetArchivedTool")[0].status == 200


@pytest.mark.parametrize(
    ("top", "app_url", "words"),
    [
        ("http://127.0.0.1", "http://127.0.0.1:1/api", "needs an explicit port"),
        ("127.0.0.1:8080", "http://127.0.0.1:1/api", "needs a scheme and host"),
        (None, "http://127.0.0.1:1/api", "HIAGENT_TOP_ENDPOINT is not set"),
    ],
)
async def test_unusable_endpoints_are_refused_in_plain_words(
    test_settings: Settings, top: str | None, app_url: str, words: str
) -> None:
    settings = test_settings.model_copy(
        update={"hiagent_top_endpoint": top, "hiagent_app_base_url": app_url}
    )

    with pytest.raises(HiAgentNotConfiguredError) as refused:
        async with open_services(settings, OPTIONS):
            pass

    assert words in str(refused.value)
