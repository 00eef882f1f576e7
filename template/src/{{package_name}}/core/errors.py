"""One JSON error envelope for every failure; never a stack trace to a client.

Shape: `{"error": {"code", "message", "correlation_id", ...details}}`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from loguru import logger
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


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        error_body(
            "invalid_request",
            "The request is not valid; see `errors` for each problem.",
            errors=_validation_errors(exc),
        ),
        status_code=422,
    )


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    logger.opt(exception=exc).error("unhandled error")
    return JSONResponse(
        error_body(
            "internal_error",
            "Something went wrong on our side. Quote the correlation id when reporting it.",
        ),
        status_code=500,
    )


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
