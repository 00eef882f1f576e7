"""HiAgent failures as API errors: one status, code and message per kind of failure.

| error_type | status | code |
|---|---|---|
| connect | 503 + Retry-After | hiagent_unreachable |
| timeout | 504 | hiagent_timeout |
| rate_limited | 429 + Retry-After | hiagent_rate_limited |
| upstream_error | 502 (503 + Retry-After when HiAgent said 503) | hiagent_error |
| auth | 502 | hiagent_auth_failed |
| bad_answer | 502 | hiagent_bad_answer |
| agent_failed, workflow_failed, tool_failed | 502 | the same |
| circuit_open | 503 + Retry-After | circuit_open |
| busy | 503 + Retry-After | busy |
| not_configured | 503 + Retry-After | hiagent_not_configured |
"""

from __future__ import annotations

import math

from ...core.errors import AppError
from ...hiagent.errors import ErrorType, HiAgentCallError

_STATUS_AND_CODE: dict[ErrorType, tuple[int, str]] = {
    ErrorType.CONNECT: (503, "hiagent_unreachable"),
    ErrorType.TIMEOUT: (504, "hiagent_timeout"),
    ErrorType.RATE_LIMITED: (429, "hiagent_rate_limited"),
    ErrorType.UPSTREAM: (502, "hiagent_error"),
    ErrorType.AUTH: (502, "hiagent_auth_failed"),
    ErrorType.BAD_ANSWER: (502, "hiagent_bad_answer"),
    ErrorType.AGENT_FAILED: (502, "agent_failed"),
    ErrorType.WORKFLOW_FAILED: (502, "workflow_failed"),
    ErrorType.TOOL_FAILED: (502, "tool_failed"),
    ErrorType.CIRCUIT_OPEN: (503, "circuit_open"),
    ErrorType.BUSY: (503, "busy"),
    ErrorType.NOT_CONFIGURED: (503, "hiagent_not_configured"),
    ErrorType.INTERNAL: (500, "internal_error"),
}
# Retry-After when HiAgent could not be reached and said nothing itself.
_UNREACHABLE_RETRY_AFTER_S = 5


class GatewayError(AppError):
    """A HiAgent call failed; `cause` holds the details (type, upstream status, run id)."""

    def __init__(self, cause: HiAgentCallError) -> None:
        status, code = _STATUS_AND_CODE[cause.error_type]
        retry_after = cause.retry_after_s
        if cause.error_type is ErrorType.UPSTREAM and cause.status == 503:
            status = 503
        if cause.error_type is ErrorType.CONNECT and retry_after is None:
            retry_after = _UNREACHABLE_RETRY_AFTER_S
        headers: dict[str, str] = {}
        details = dict(cause.details)
        if status in (429, 503):
            seconds = max(math.ceil(retry_after or 1), 1)
            headers["Retry-After"] = str(seconds)
            details["retry_after_s"] = seconds
        super().__init__(
            cause.message, headers=headers, error_type=cause.error_type.value, **details
        )
        self.status_code = status
        self.code = code
        self.cause = cause
