"""Hostile input and database faults: a clear 4xx or 503, never a 500 (docs/security.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import APIRouter, FastAPI
from sqlalchemy import text

from ...app import create_app
from ..db import SessionDep
from ..params import RowId
from ..settings import Settings

MAX_BODY = 4096


async def test_a_declared_oversized_body_is_refused_before_it_is_read(
    app: FastAPI, test_settings: Settings
) -> None:
    limit = test_settings.http_max_body_bytes
    chunks_sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        for _ in range(20):
            chunks_sent += 1
            yield b"x" * (1 << 20)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        # Anonymous, to a route that would answer 401: the size is checked first.
        declared = await http.post(
            "/api/v1/agent-configs",
            content=b"x" * (limit + 1),
            headers={"content-type": "application/json"},
        )
        streamed = await http.post(
            "/api/v1/auth/login",
            content=body(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"
    assert streamed.status_code == 413, streamed.text
    # Streamed without a length: refused once the limit is crossed, not after 20 MB.
    assert chunks_sent <= limit // (1 << 20) + 2


async def test_nul_characters_are_a_clear_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    in_query = await client.get("/api/v1/agent-configs?search=abc%00def", headers=admin_headers)
    in_form = await client.post(
        "/api/v1/auth/login", data={"username": "ad\x00min", "password": "whatever-1"}
    )
    in_json = await client.post(
        "/api/v1/agent-configs",
        json={
            "name": "nul-agent",
            "app_key": "k",
            "description": "bad\x00text",
        },
        headers=admin_headers,
    )
    for response in (in_query, in_form, in_json):
        assert response.status_code == 422, (response.request.url, response.text)
        assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/agent-configs?limit=2%0D",
        "/api/v1/agent-configs?offset=%201",
        "/api/v1/agent-configs?limit=1_0",
        "/api/v1/agent-configs/1%20",
        "/api/v1/agent-configs/%2B1/versions",
        "/api/v1/analytics/live?interval_s=5%0A",
    ],
)
async def test_numbers_written_loosely_are_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], path: str
) -> None:
    # Pydantic reads " 1" or "2\r" as a number; the OpenAPI schema does not (found by fuzzing).
    response = await client.get(path, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert "written without spaces or other characters" in response.text


async def test_numbers_written_plainly_still_work(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    listed = await client.get("/api/v1/agent-configs?limit=2&offset=0", headers=admin_headers)
    assert listed.status_code == 200, listed.text
    missing = await client.get("/api/v1/agent-configs/12345", headers=admin_headers)
    assert missing.status_code == 404


async def test_api_responses_are_not_sniffed_or_cached(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for response in (
        await client.get("/api/v1/auth/me", headers=admin_headers),
        await client.get("/api/v1/agent-configs"),  # 401
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"


async def test_every_route_documents_its_errors_in_the_envelope(app: FastAPI) -> None:
    schema = app.openapi()
    assert "ErrorEnvelope" in schema["components"]["schemas"]
    undocumented = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            wanted = {"422", "503"}
            if operation.get("security"):
                wanted.add("401")
            if "{" in path:
                wanted.add("404")
            if method in ("post", "put", "patch"):
                wanted.add("413")
            missing = wanted - responses.keys()
            if missing:
                undocumented.append(f"{method.upper()} {path}: {sorted(missing)}")
            ref = responses["422"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorEnvelope")
    assert undocumented == []


async def test_an_unsupported_method_is_405_with_allow(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.request("PUT", "/api/v1/auth/me", headers=admin_headers)
    options = await client.options("/api/v1/agent-configs", headers=admin_headers)
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
    assert options.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in options.headers["allow"].split(",")}


async def test_api_docs_are_off_in_prod_unless_asked(test_settings: Settings) -> None:
    assert test_settings.api_docs_enabled
    prod = test_settings.model_copy(update={"app_env": "prod"})
    assert not prod.api_docs_enabled
    assert prod.model_copy(update={"api_docs": True}).api_docs_enabled
    app = create_app(test_settings.model_copy(update={"api_docs": False}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.get("/openapi.json")).status_code == 404
        assert (await http.get("/docs")).status_code == 404


# A route that kills its own database connection: what a restart or a failover does to
# connections in use. The retry must see a fresh connection, and a write must not retry.
faults = APIRouter()
attempts: dict[str, int] = {}


@faults.get("/faults/read")
async def read_losing_its_connection(session: SessionDep) -> dict[str, int]:
    attempts["read"] = attempts.get("read", 0) + 1
    if attempts["read"] == 1:
        await session.exec(text("SELECT pg_terminate_backend(pg_backend_pid())"))  # type: ignore[call-overload]
    await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    return {"attempts": attempts["read"]}


@faults.post("/faults/write")
async def write_losing_its_connection(session: SessionDep) -> dict[str, int]:
    attempts["write"] = attempts.get("write", 0) + 1
    await session.exec(text("SELECT pg_terminate_backend(pg_backend_pid())"))  # type: ignore[call-overload]
    return {"attempts": attempts["write"]}


@faults.get("/faults/hold")
async def hold_a_connection(session: SessionDep) -> dict[str, bool]:
    await session.exec(text("SELECT pg_sleep(1.5)"))  # type: ignore[call-overload]
    return {"held": True}


@faults.post("/faults/special")
async def special() -> dict[str, bool]:
    return {"special": True}


@faults.get("/faults/{item_id}")
async def item(item_id: RowId) -> dict[str, int]:
    return {"item": item_id}


@pytest_asyncio.fixture
async def fault_client(test_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    small_pool = test_settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout_s": 0.3}
    )
    app = create_app(small_pool)
    app.include_router(faults)
    # Ahead of the dashboard's catch-all page route.
    app.router.routes.insert(0, app.router.routes.pop())
    app.openapi_schema = None
    attempts.clear()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield http


async def test_a_read_whose_connection_dies_runs_once_more(
    fault_client: httpx.AsyncClient,
) -> None:
    response = await fault_client.get("/faults/read")
    assert response.status_code == 200, response.text
    assert response.json() == {"attempts": 2}


async def test_a_write_whose_connection_dies_is_503_with_retry_after(
    fault_client: httpx.AsyncClient,
) -> None:
    response = await fault_client.post("/faults/write")
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["error"]["code"] == "service_unavailable"
    assert attempts["write"] == 1  # not retried: it may have changed data
    # The pool replaced the dead connection: the next request works on its own.
    assert (await fault_client.get("/faults/read")).status_code == 200


async def test_an_exhausted_pool_is_503_with_retry_after(fault_client: httpx.AsyncClient) -> None:
    holding = asyncio.create_task(fault_client.get("/faults/hold"))
    await asyncio.sleep(0.3)
    starved = await fault_client.get("/faults/read")
    assert (await holding).status_code == 200
    assert starved.status_code == 503, starved.text
    assert "retry-after" in starved.headers


async def test_text_no_encoder_accepts_is_a_clear_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    # A lone surrogate is valid JSON but no UTF-8 encoder (the database's, the SDK's) takes it.
    body = '{"name": "lone", "app_key": "key-1", "description": "a\\ud800b"}'
    response = await client.post(
        "/api/v1/agent-configs",
        content=body,
        headers={**admin_headers, "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


async def test_allow_names_the_methods_of_the_most_specific_path(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    # /api/v1/users/{user_id} takes GET, PATCH and DELETE; /api/v1/users GET and POST.
    response = await client.request("PUT", "/api/v1/users", headers=admin_headers)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"


async def test_a_method_a_literal_path_does_not_take_is_405_not_a_bad_id(
    fault_client: httpx.AsyncClient,
) -> None:
    # GET /faults/special reaches GET /faults/{item_id}, whose id "special" is not a number;
    # the literal path takes POST only, so the method is what is wrong.
    response = await fault_client.get("/faults/special")
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "POST"
    assert (await fault_client.get("/faults/12")).json() == {"item": 12}
    assert (await fault_client.get("/faults/0")).status_code == 422  # a real bad id


async def test_a_bare_number_is_not_a_date(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for path in ("summary", "requests", "timeseries"):
        response = await client.get(f"/api/v1/analytics/{path}?start=0.5", headers=admin_headers)
        assert response.status_code == 422, response.text
    iso = await client.get(
        "/api/v1/analytics/summary?start=2026-12-01T00:00:00Z", headers=admin_headers
    )
    assert iso.status_code == 200, iso.text
