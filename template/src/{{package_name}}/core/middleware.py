"""HTTP middleware: request context, hostile-input guard, retry of safe reads.

- `RequestContextMiddleware`: correlation id, access log, HTTP metrics, last-resort errors.
- `RequestGuardMiddleware`: body size limit (413 before the body is read), NUL characters in
  the path or query (422), and the security headers of every response.
- `SafeRetryMiddleware`: a GET or HEAD whose database connection broke runs once more.

Pure ASGI (no BaseHTTPMiddleware) so streaming responses pass through untouched.
"""

from __future__ import annotations

import json
import re
import time
import uuid

from loguru import logger
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .context import correlation_id_var, user_var
from .errors import connection_lost, error_body, unexpected_error_response
from .metrics import HTTP_DURATION, HTTP_IN_FLIGHT, HTTP_REQUESTS

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_QUIET_PATHS = frozenset({"/metrics", "/health/live", "/health/ready"})


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            # An untrusted id only if it is safe to log and to echo back.
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's path template, so metrics never carry raw ids.

    Routes of included routers may report their path without the include prefix (newer
    FastAPI); the prefix is then the leading part of the request path it did not cover.
    """
    template: object = getattr(scope.get("route"), "path", None)
    if not isinstance(template, str):
        return "unmatched"
    if ":path}" in template:
        return template
    own = [part for part in template.split("/") if part]
    actual = [part for part in scope["path"].split("/") if part]
    prefix = actual[: max(len(actual) - len(own), 0)]
    return "/" + "/".join([*prefix, *own]) if prefix else template


class RequestContextMiddleware:
    """Outermost middleware of the app: every response gets `X-Request-ID`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        state = scope.setdefault("state", {})
        state["correlation_id"] = request_id
        id_token = correlation_id_var.set(request_id)
        user_token = user_var.set(None)
        status = 500
        started = False
        start = time.perf_counter()
        HTTP_IN_FLIGHT.inc()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            error_status, error, headers = unexpected_error_response(exc)
            if not started:
                await send_json(send_with_id, error_status, error, headers)
        finally:
            HTTP_IN_FLIGHT.dec()
            elapsed = time.perf_counter() - start
            endpoint = route_template(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(method, endpoint, str(status)).inc()
            HTTP_DURATION.labels(method, endpoint).observe(elapsed)
            user = state.get("user")
            if user:
                user_var.set(user)
            level = "DEBUG" if scope["path"] in _QUIET_PATHS and status < 400 else "INFO"
            logger.bind(
                method=method,
                path=scope["path"],
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            ).log(level, f"{method} {scope['path']} {status}")
            correlation_id_var.reset(id_token)
            user_var.reset(user_token)


async def send_json(
    send: Send, status: int, body: dict[str, object], headers: dict[str, str] | None = None
) -> None:
    """Send a whole JSON response."""
    payload = json.dumps(body).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in (headers or {}).items()
        ),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"),)
_NO_STORE = (b"cache-control", b"no-store")


class _BodyTooLarge(HTTPException):
    """Raised from `receive` once a streamed body crosses the limit; routes re-raise it."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large_message(limit), headers={"Connection": "close"})


def _too_large_message(limit: int) -> str:
    return f"The request body is larger than {limit} bytes, the most this path accepts."


class RequestGuardMiddleware:
    """Refuse hostile input before any route runs; add security headers to every response.

    Bodies: larger than `max_body_bytes` (HTTP_MAX_BODY_BYTES) get 413 at once when declared
    by Content-Length, and as soon as the limit is crossed when streamed. A path prefix in a
    module's `body_limits` gets its own limit. API responses are never cached (no-store).
    """

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, body_limits: dict[str, int], api_prefix: str
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Longest prefix first, so the most specific limit wins.
        self.body_limits = sorted(body_limits.items(), key=lambda item: -len(item[0]))
        self.api_prefix = api_prefix

    def _limit(self, path: str) -> int:
        for prefix, limit in self.body_limits:
            if path.startswith(prefix):
                return limit
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        no_store = path.startswith(self.api_prefix)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [h for h in _SECURITY_HEADERS if h[0] not in names]
                if no_store and b"cache-control" not in names:
                    headers.append(_NO_STORE)
                message["headers"] = headers
            await send(message)

        if "\x00" in path or b"%00" in scope.get("query_string", b""):
            await _refuse_nul(send_with_headers)
            return
        limit = self._limit(path)
        if scope["method"] in _BODY_METHODS:
            declared = _content_length(scope)
            if declared is not None and declared > limit:
                await _refuse_large(send_with_headers, limit)
                return
            receive = _counting(receive, limit)
        try:
            await self.app(scope, receive, send_with_headers)
        except _BodyTooLarge:
            if not started:
                await _refuse_large(send_with_headers, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _counting(receive: Receive, limit: int) -> Receive:
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge(limit)
        return message

    return counted


async def _refuse_large(send: Send, limit: int) -> None:
    await send_json(
        send,
        413,
        error_body("payload_too_large", _too_large_message(limit)),
        {"connection": "close"},
    )


async def _refuse_nul(send: Send) -> None:
    await send_json(
        send,
        422,
        error_body(
            "invalid_request",
            "The request is not valid; see `errors` for each problem.",
            errors=[{"loc": ["query"], "msg": "NUL characters are not accepted.", "type": "nul"}],
        ),
    )


class SafeRetryMiddleware:
    """Run a GET or HEAD once more when its database connection broke before it answered.

    The pool drops the broken connection, so the second run gets a fresh one. Anything else
    (or a second loss) reaches the error handlers: 503 with Retry-After.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started or not connection_lost(exc):
                raise
            logger.warning(f"database connection lost: running {scope['method']} once more")
            await self.app(scope, _replay_empty_body(receive), send)


def _replay_empty_body(receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return replay
