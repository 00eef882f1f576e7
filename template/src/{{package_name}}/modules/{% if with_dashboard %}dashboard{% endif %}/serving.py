"""Serve the built dashboard at `/`: hashed assets cached for a year, the page never cached.

The catch-all route is added after every API route and declines reserved paths outright, so
`/api`, `/docs`, `/openapi.json`, `/metrics` and `/health` keep their own answers (404 and 405
included). Unknown paths without a file extension get `index.html`: the browser router owns them.
"""

from __future__ import annotations

import html
import mimetypes
from functools import lru_cache
from pathlib import Path, PurePosixPath

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from ...core.project import PROJECT_NAME, PROJECT_SLUG

RESERVED_PREFIXES = ("/api", "/docs", "/redoc", "/openapi.json", "/metrics", "/health")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Scripts only from this origin; inline styles for the UI kit's positioning; no framing.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def is_reserved(path: str) -> bool:
    """Paths the API owns; the dashboard never answers them."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in RESERVED_PREFIXES)


class DashboardRoute(Route):
    """A catch-all GET route that does not match reserved paths (so they keep 404/405)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Decline API paths before Starlette considers this route."""
        if scope["type"] == "http" and is_reserved(scope["path"]):
            return Match.NONE, {}
        return super().matches(scope)


def _not_built_page(dist: Path) -> HTMLResponse:
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Dashboard not built yet</title></head><body>"
        "<h1>The dashboard has not been built yet</h1>"
        f"<p>No build was found in <code>{html.escape(str(dist))}</code>. Run "
        f"<code>uv run {PROJECT_SLUG} bootstrap</code> (it needs Node.js 20.19 or newer), "
        "then reload this page. The API itself works: see <a href='/docs'>/docs</a>.</p>"
        "</body></html>"
    )
    return HTMLResponse(body, status_code=503, headers={"Cache-Control": "no-store"})


def _file_in(dist: Path, relative: str) -> Path | None:
    parts = PurePosixPath(relative).parts
    # No dot-files (the build stamp) and nothing outside the build folder.
    if any(part.startswith(".") or part in {"", ".."} for part in parts):
        return None
    candidate = (dist / relative).resolve()
    if not candidate.is_relative_to(dist.resolve()) or not candidate.is_file():
        return None
    return candidate


def _send(path: Path, request: Request, cache_control: str) -> Response:
    headers = {"Cache-Control": cache_control, **SECURITY_HEADERS}
    compressed = path.with_name(path.name + ".gz")
    if not compressed.is_file():
        return FileResponse(path, headers=headers)
    # The build wrote a gzip copy: send it to browsers that take it; caches keep both.
    headers["Vary"] = "Accept-Encoding"
    if "gzip" not in request.headers.get("accept-encoding", ""):
        return FileResponse(path, headers=headers)
    headers["Content-Encoding"] = "gzip"
    media_type = mimetypes.guess_type(path.name)[0]
    return FileResponse(compressed, headers=headers, media_type=media_type)


@lru_cache(maxsize=4)
def _named_index(index: Path, modified_ns: int) -> str:
    del modified_ns  # part of the cache key only: a new build is read again
    # The sources stay plain (no template tags): the product's name is put in when served.
    name = html.escape(PROJECT_NAME, quote=True)
    text = index.read_text(encoding="utf-8")
    text = text.replace("<title>Dashboard</title>", f"<title>{name}</title>", 1)
    return text.replace('content="Dashboard"', f'content="{name}"', 1)


def _send_index(index: Path) -> Response:
    body = _named_index(index, index.stat().st_mtime_ns)
    return HTMLResponse(body, headers={"Cache-Control": REVALIDATE, **SECURITY_HEADERS})


def dashboard_endpoint(dist: Path) -> Route:
    """The route serving `dist` with a fallback to `index.html`."""

    async def serve(request: Request) -> Response:
        relative = request.path_params["path"]
        index = dist / "index.html"
        if not index.is_file():
            return _not_built_page(dist)
        found = _file_in(dist, relative) if relative else None
        if found is not None and found != index.resolve():
            hashed = relative.startswith("assets/")
            return _send(found, request, IMMUTABLE if hashed else REVALIDATE)
        if PurePosixPath(relative).suffix:
            # A missing script or image must not come back as a web page.
            raise HTTPException(status_code=404, detail=f"There is no file /{relative}.")
        return _send_index(index)

    return DashboardRoute("/{path:path}", serve, methods=["GET", "HEAD"], include_in_schema=False)


def mount_dashboard(app: FastAPI, dist: Path) -> None:
    """Serve `dist` at `/`; call after every API route is added."""
    app.router.routes.append(dashboard_endpoint(dist))
