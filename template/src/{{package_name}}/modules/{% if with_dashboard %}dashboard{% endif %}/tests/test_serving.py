"""The built dashboard is served at `/` without hiding any API, docs, health or metrics path."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from ....app import create_app
from ....core.project import PROJECT_NAME
from ....core.settings import Settings

INDEX = """<!doctype html><html lang="en"><head>
<meta name="application-name" content="Dashboard" /><title>Dashboard</title>
<script type="module" src="/assets/index-abc123.js"></script></head>
<body><div id="root"></div></body></html>"""
SCRIPT = b"console.log('dashboard');" * 20


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A build output like Vite's: index.html, hashed assets (with gzip copies), a stamp."""
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text(INDEX, encoding="utf-8")
    (folder / "assets" / "index-abc123.js").write_bytes(SCRIPT)
    (folder / "assets" / "index-abc123.js.gz").write_bytes(gzip.compress(SCRIPT))
    (folder / "favicon.svg").write_text("<svg/>", encoding="utf-8")
    (folder / ".build-stamp").write_text("secret-ish stamp", encoding="utf-8")
    (tmp_path / "outside.txt").write_text("not for the web", encoding="utf-8")
    return folder


@pytest_asyncio.fixture
async def web(
    dist: Path, test_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """The app serving `dist` (these paths need no database, so no lifespan)."""
    monkeypatch.setenv("DASHBOARD_DIST_DIR", str(dist))
    app = create_app(test_settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_the_page_is_served_with_the_product_name_never_cached_and_locked_down(
    web: httpx.AsyncClient,
) -> None:
    response = await web.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f"<title>{PROJECT_NAME}</title>" in response.text
    assert response.headers["cache-control"] == "no-cache"
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"


async def test_browser_routes_fall_back_to_the_page(web: httpx.AsyncClient) -> None:
    for path in ("/agents", "/agents/7/history", "/analytics?range=24h", "/sign-in"):
        response = await web.get(path)
        assert response.status_code == 200, path
        assert '<div id="root">' in response.text


async def test_hashed_assets_are_cached_for_a_year_and_sent_compressed(
    web: httpx.AsyncClient,
) -> None:
    zipped = await web.get("/assets/index-abc123.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200
    assert zipped.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert zipped.content == SCRIPT  # httpx decodes it
    plain = await web.get("/assets/index-abc123.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    assert plain.content == SCRIPT
    other = await web.get("/favicon.svg")
    assert other.headers["cache-control"] == "no-cache"


async def test_a_missing_file_is_a_404_not_the_page(web: httpx.AsyncClient) -> None:
    response = await web.get("/assets/index-gone99.js")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_api_docs_health_and_metrics_keep_their_own_answers(
    web: httpx.AsyncClient,
) -> None:
    unknown = await web.get("/api/v1/no-such-thing")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    assert (await web.get("/api")).status_code == 404
    wrong_method = await web.get("/api/v1/auth/login")
    assert wrong_method.status_code == 405
    schema = await web.get("/openapi.json")
    assert schema.json()["info"]["title"] == PROJECT_NAME
    assert "/{path}" not in schema.json()["paths"]
    assert "swagger" in (await web.get("/docs")).text.lower()
    assert (await web.get("/health/live")).json() == {"status": "ok"}
    metrics = await web.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "content-security-policy" not in metrics.headers


async def test_nothing_outside_the_build_or_hidden_is_served(web: httpx.AsyncClient) -> None:
    stamp = await web.get("/.build-stamp")
    assert "secret-ish stamp" not in stamp.text
    for path in ("/assets/%2e%2e/%2e%2e/outside.txt", "/%2e%2e/outside.txt", "/..%2Foutside.txt"):
        response = await web.get(path)
        assert "not for the web" not in response.text, path


async def test_head_requests_work(web: httpx.AsyncClient) -> None:
    response = await web.head("/agents")
    assert response.status_code == 200
    assert response.content == b""


async def test_without_a_build_the_page_says_how_to_make_one(
    tmp_path: Path, test_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASHBOARD_DIST_DIR", str(tmp_path / "never-built"))
    transport = httpx.ASGITransport(app=create_app(test_settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/agents")
        assert response.status_code == 503
        assert "bootstrap" in response.text
        assert "Node.js" in response.text
        assert (await client.get("/health/live")).status_code == 200
