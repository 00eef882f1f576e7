"""Request context middleware: correlation id, access log, HTTP metrics, last-resort errors.

Pure ASGI (no BaseHTTPMiddleware) so streaming responses pass through untouched.
"""

from __future__ import annotations

import json
import re
import time
import uuid

from loguru import logger
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .context import correlation_id_var, user_var
from .errors import error_body
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
            logger.opt(exception=exc).error("unhandled error")
            if not started:
                body = json.dumps(
                    error_body(
                        "internal_error",
                        "Something went wrong on our side. "
                        "Quote the correlation id when reporting it.",
                    )
                ).encode()
                await send_with_id(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
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
