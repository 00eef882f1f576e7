"""One JSON error envelope for every failure; never a stack trace to a client.

Shape: `{"error": {"code", "message", "correlation_id", ...details}}`.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from loguru import logger
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from .context import current_correlation_id


class AppError(Exception):
    """Base for errors that map to a client-facing status and code."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, headers: dict[str, str] | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        self.details = details


class NotFoundError(AppError):
    """The thing asked for does not exist."""

    status_code = 404
    code = "not_found"


class ConflictError(AppError):
    """The request clashes with the current state (duplicate name, disabled config)."""

    status_code = 409
    code = "conflict"


class ForbiddenError(AppError):
    """Signed in, but the role may not do this."""

    status_code = 403
    code = "forbidden"


class UnauthorizedError(AppError):
    """Not signed in, or the token is invalid."""

    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str = "Sign in first.", **details: Any) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"}, **details)


class TooManyRequestsError(AppError):
    """Throttled; `Retry-After` says when to try again."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after_s: int, **details: Any) -> None:
        super().__init__(
            message, headers={"Retry-After": str(retry_after_s)}, retry_after_s=retry_after_s
        )


class ServiceUnavailableError(AppError):
    """A dependency cannot serve now; `Retry-After` says when to try again."""

    status_code = 503
    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after_s: int, **details: Any) -> None:
        super().__init__(
            message,
            headers={"Retry-After": str(retry_after_s)},
            retry_after_s=retry_after_s,
            **details,
        )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    """The envelope every error response uses."""
    return {
        "error": {
            "code": code,
            "message": message,
            "correlation_id": current_correlation_id(),
            **details,
        }
    }


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only location, message and type: echoing the input could leak secrets into logs.
    return [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return JSONResponse(
        error_body(exc.code, exc.message, **exc.details),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Every method of the path, not only those of the first route that matched it.
        allowed = _allowed_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
            message = f"This path accepts {', '.join(allowed)} only."
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=headers)


def _path_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile(
        "^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$"
    )


def _allowed_methods(request: Request) -> list[str]:
    state = request.app.state
    patterns = getattr(state, "method_patterns", None)
    if patterns is None:
        patterns = state.method_patterns = [
            (_path_pattern(path), path.count("/") - path.count("{"), set(operations))
            for path, operations in request.app.openapi().get("paths", {}).items()
        ]
    matching = [
        (literals, ops) for pattern, literals, ops in patterns if pattern.match(request.url.path)
    ]
    if not matching:
        return []
    # The most specific paths win: /tickets/retriage, not /tickets/{ticket_id}.
    most = max(literals for literals, _ in matching)
    methods = {m.upper() for literals, ops in matching if literals == most for m in ops}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if any(err.get("loc", ("",))[0] == "path" for err in exc.errors()):
        # GET /tickets/retriage reached /tickets/{ticket_id} only because POST /tickets/retriage
        # takes no GET: the method is what is wrong, not the id.
        allowed = _allowed_methods(request)
        if allowed and request.method not in allowed:
            return JSONResponse(
                error_body("method_not_allowed", f"This path accepts {', '.join(allowed)} only."),
                status_code=405,
                headers={"Allow": ", ".join(allowed)},
            )
    return JSONResponse(
        error_body(
            "invalid_request",
            "The request is not valid; see `errors` for each problem.",
            errors=_validation_errors(exc),
        ),
        status_code=422,
    )


# SQLSTATE classes of a database that cannot serve now: connection exceptions, operator
# intervention (shutdown, terminated backend, statement timeout), insufficient resources,
# transaction rollback (serialization failure, deadlock).
_UNAVAILABLE_CLASSES = ("08", "57", "53", "40")
_CONNECTION_LOST = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
)
_DATA_MESSAGES = {
    "22021": "Text in the request holds a character that cannot be stored (a NUL byte).",
    "22P05": "Text in the request holds a character that cannot be stored.",
    "22003": "A number in the request is out of range.",
}


def _sqlstate(exc: sa_exc.DBAPIError) -> str:
    cause = exc.orig.__cause__ if exc.orig is not None else None
    state = getattr(exc.orig, "sqlstate", None) or getattr(cause, "sqlstate", None)
    return str(state or "")


def connection_lost(exc: BaseException) -> bool:
    """True when a database connection broke under this request (safe reads may retry)."""
    if isinstance(exc, sa_exc.DBAPIError):
        state = _sqlstate(exc)
        if state.startswith("22"):  # asyncpg's own DataError is an InterfaceError too
            return False
        if exc.connection_invalidated or state.startswith(("08", "57P")):
            return True
        return exc.orig is not None and isinstance(exc.orig.__cause__, _CONNECTION_LOST)
    return isinstance(exc, _CONNECTION_LOST)


def database_error(exc: BaseException) -> AppError | None:
    """The client-facing error for a database failure; None when `exc` is not one.

    A value PostgreSQL refuses (NUL in text, a number out of range) is the caller's 422; a
    database that cannot serve now (connection lost, pool exhausted, shut down) is 503 with
    Retry-After, never 500.
    """
    if isinstance(exc, sa_exc.TimeoutError):
        return ServiceUnavailableError(
            "Every database connection is busy: try again shortly.", retry_after_s=2
        )
    if isinstance(exc, sa_exc.DBAPIError):
        state = _sqlstate(exc)
        if state.startswith("22"):
            message = _DATA_MESSAGES.get(state, "A value in the request cannot be stored.")
            return InvalidRequestError(message, errors=[])
        if state[:2] in _UNAVAILABLE_CLASSES or connection_lost(exc):
            return ServiceUnavailableError(
                "The database connection was interrupted: try again.", retry_after_s=1
            )
        return None
    if connection_lost(exc):
        return ServiceUnavailableError(
            "The database cannot be reached: try again.", retry_after_s=2
        )
    return None


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def input_error(exc: BaseException) -> AppError | None:
    """The client-facing error an unexpected exception stands for; None for a real bug.

    Database faults (above), and text no encoder accepts: JSON may carry a lone surrogate
    (`\\ud800`), which the database, the HiAgent SDK and UTF-8 output all refuse.
    """
    mapped = database_error(exc)
    if mapped is not None:
        return mapped
    if _caused_by(exc, UnicodeEncodeError):
        return InvalidRequestError(
            "Text in the request holds characters that cannot be encoded "
            "(such as a lone surrogate).",
            errors=[],
        )
    return None


def unexpected_error_response(exc: BaseException) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and headers for an exception no handler took (database faults included)."""
    mapped = input_error(exc)
    if mapped is not None:
        logger.opt(exception=exc).warning(f"answered {mapped.status_code}: {mapped.message}")
        return (
            mapped.status_code,
            error_body(mapped.code, mapped.message, **mapped.details),
            (mapped.headers),
        )
    logger.opt(exception=exc).error("unhandled error")
    body = error_body(
        "internal_error",
        "Something went wrong on our side. Quote the correlation id when reporting it.",
    )
    return 500, body, {}


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    status, body, headers = unexpected_error_response(exc)
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception through the envelope."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)


class InvalidRequestError(AppError):
    """The request is well-formed but its content is not acceptable."""

    status_code = 422
    code = "invalid_request"
