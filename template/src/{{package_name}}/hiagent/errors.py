"""What went wrong in a call to HiAgent, in one exception type with plain words.

The SDK reports failures in many shapes (docs/hiagent.md, Errors): transport exceptions, a bare
`Exception(text)`, `SSEError`, `ValidationError`, or a returned `BaseError`. With the status hook
of `services.py` every HTTP error arrives as `httpx.HTTPStatusError`; `classify` turns all of
them into `HiAgentCallError`, which says whether a retry is safe and whether it counts against
the circuit breaker.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import httpx
from hiagent_api.chat_types import BaseError
from httpx_sse import SSEError
from pydantic import ValidationError


class ErrorType(StrEnum):
    """Kinds of failure, used as the `error_type` of metrics and the request log."""

    CONNECT = "connect"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    UPSTREAM = "upstream_error"
    AUTH = "auth"
    BAD_ANSWER = "bad_answer"
    AGENT_FAILED = "agent_failed"
    WORKFLOW_FAILED = "workflow_failed"
    TOOL_FAILED = "tool_failed"
    CIRCUIT_OPEN = "circuit_open"
    BUSY = "busy"
    NOT_CONFIGURED = "not_configured"
    INTERNAL = "internal"


# Failures that say HiAgent is unhealthy; an answer HiAgent chose to give (4xx, a failed agent
# message) does not count against the circuit breaker.
_BREAKER_FAILURES = frozenset(
    {ErrorType.CONNECT, ErrorType.TIMEOUT, ErrorType.RATE_LIMITED, ErrorType.BAD_ANSWER}
)
_AUTH_WORDS = ("apikey", "accesskey", "signature", "auth", "credential", "permission")


class HiAgentCallError(Exception):
    """A call to HiAgent failed; `message` says why in plain words.

    `status` is HiAgent's HTTP status when it answered with one; `retry_after_s` is its
    `Retry-After`, or ours for refusals (open circuit, full queue).
    """

    def __init__(
        self,
        error_type: ErrorType,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        details: dict[str, Any] | None = None,
        said: str = "",
    ) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s
        self.details = details or {}
        # HiAgent's own words (its error code and message), without our status or action names.
        self.said = said

    @property
    def counts_as_failure(self) -> bool:
        """Whether this failure says HiAgent is unhealthy (circuit breaker input)."""
        if self.error_type is ErrorType.UPSTREAM:
            return self.status is None or self.status >= 500
        return self.error_type in _BREAKER_FAILURES

    def retryable(self, *, idempotent: bool) -> bool:
        """Whether the same call may be sent again (never duplicating a chat or a run).

        Safe for any call: nothing was sent (connect), or HiAgent refused before doing any
        work (429, 503). Otherwise only reads are sent again, after a timeout or a 5xx.
        """
        if self.error_type in (ErrorType.CONNECT, ErrorType.RATE_LIMITED) or self.status == 503:
            return True
        if not idempotent:
            return False
        return self.error_type is ErrorType.TIMEOUT or (
            self.error_type is ErrorType.UPSTREAM and (self.status is None or self.status >= 500)
        )


def classify(exc: BaseException, action: str) -> HiAgentCallError | None:
    """The `HiAgentCallError` for an SDK or transport exception; None for anything else."""
    if isinstance(exc, HiAgentCallError):
        return exc
    if isinstance(exc, httpx.HTTPStatusError):
        return _from_status(exc.response, action)
    if isinstance(exc, httpx.ConnectError):
        return HiAgentCallError(ErrorType.CONNECT, _connect_problem(exc, action))
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return HiAgentCallError(
            ErrorType.CONNECT,
            f"HiAgent did not accept a connection in time ({action})",
        )
    if isinstance(exc, httpx.TimeoutException):
        return HiAgentCallError(ErrorType.TIMEOUT, f"HiAgent did not answer in time ({action})")
    if isinstance(exc, httpx.TransportError):
        return HiAgentCallError(
            ErrorType.UPSTREAM, f"the connection to HiAgent broke during {action}: {exc}"
        )
    if isinstance(exc, SSEError | ValidationError | json.JSONDecodeError | KeyError):
        return HiAgentCallError(
            ErrorType.BAD_ANSWER,
            f"HiAgent sent an answer to {action} that cannot be read ({type(exc).__name__})",
        )
    if type(exc) is Exception:
        # The SDK's bare Exception(text) for answers our status hook did not see (e.g. TOP 201).
        text = exc.args[0] if exc.args else ""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return HiAgentCallError(
            ErrorType.UPSTREAM, f"HiAgent refused {action}: {text[:300]}", said=text[:300]
        )
    return None


def check_answer(result: Any, action: str) -> Any:
    """Return an SDK result, or raise for a `BaseError` the SDK returned instead of raising."""
    if not isinstance(result, BaseError):
        return result
    error = result.response_metadata.error if result.response_metadata else None
    if error is None:
        raise HiAgentCallError(
            ErrorType.UPSTREAM,
            f"HiAgent answered {action} with an error without details",
            status=200,
        )
    kind = ErrorType.AUTH if _mentions_auth(error.code) else ErrorType.UPSTREAM
    raise HiAgentCallError(
        kind,
        f"HiAgent refused {action}: {error.code}: {error.message}",
        status=200,
        details={"hiagent_code": error.code},
        said=f"{error.code}: {error.message}",
    )


def _mentions_auth(code: str) -> bool:
    lowered = code.lower()
    return any(word in lowered for word in _AUTH_WORDS)


def _connect_problem(exc: httpx.ConnectError, action: str) -> str:
    host = exc.request.url.netloc.decode() if _has_request(exc) else "HiAgent"
    causes = list(_causes(exc))
    text = " ".join(str(cause) for cause in causes)
    if any(isinstance(cause, socket.gaierror) for cause in causes):
        return f"the HiAgent host {host} cannot be found (check the endpoint variables)"
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        return f"HiAgent at {host} refused the connection ({action})"
    return f"HiAgent at {host} cannot be reached ({action}): {text or type(exc).__name__}"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    found: BaseException | None = exc
    for _ in range(10):  # the chain is short; the bound only guards against a cycle
        if found is None:
            return
        yield found
        found = found.__cause__ or found.__context__


def _has_request(exc: httpx.RequestError) -> bool:
    try:
        exc.request  # noqa: B018 - httpx raises RuntimeError when no request is attached
    except RuntimeError:
        return False
    return True


def _from_status(response: httpx.Response, action: str) -> HiAgentCallError:
    status = response.status_code
    code, message = _envelope_error(response)
    said = f"{code}: {message}" if code else (message or response.reason_phrase)
    hiagent_said = f"{code}: {message}" if code else message
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    details: dict[str, Any] = {"hiagent_status": status}
    if code:
        details["hiagent_code"] = code
    if status == 429:
        return HiAgentCallError(
            ErrorType.RATE_LIMITED,
            f"HiAgent is rate-limiting {action}: {said}",
            status=status,
            retry_after_s=retry_after,
            details=details,
            said=hiagent_said,
        )
    if status in (401, 403) or _mentions_auth(code):
        return HiAgentCallError(
            ErrorType.AUTH,
            f"HiAgent rejected the credentials for {action} ({status} {said})",
            status=status,
            details=details,
            said=hiagent_said,
        )
    if status < 400:
        said = f"redirected to {response.headers.get('Location', '?')} (an SSO proxy in the way?)"
    return HiAgentCallError(
        ErrorType.UPSTREAM,
        f"HiAgent answered {status} to {action}: {said}",
        status=status,
        retry_after_s=retry_after,
        details=details,
        said=hiagent_said if status >= 400 else "",
    )


def _envelope_error(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:300].strip()
    error = (body.get("ResponseMetadata") or {}).get("Error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", response.text[:300].strip()
    return str(error.get("Code", "")), str(error.get("Message", ""))


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta seconds or an HTTP date); None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)
