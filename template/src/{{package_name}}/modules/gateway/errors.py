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

`message` is in plain words for the people who read it on the dashboard; for the kinds whose
cause is technical it is a fixed sentence (`PLAIN_WORDS`), followed by what HiAgent itself said,
and the technical cause is in `detail`. `runbook` names the runbook that helps (`RUNBOOKS`).
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
# The message for kinds whose cause names SDK actions, statuses or settings (kept in `detail`).
PLAIN_WORDS: dict[ErrorType, str] = {
    ErrorType.AUTH: (
        "HiAgent did not accept this app key. Check that it was copied in full from the HiAgent "
        "platform and that the app is still published there."
    ),
    ErrorType.CONNECT: "HiAgent cannot be reached right now. Try again in a moment.",
    ErrorType.TIMEOUT: "HiAgent did not answer in time.",
    ErrorType.RATE_LIMITED: (
        "HiAgent asked us to slow down: too many calls in a short time. Try again shortly."
    ),
    ErrorType.UPSTREAM: "HiAgent could not handle this call.",
    ErrorType.BAD_ANSWER: "HiAgent sent an answer that could not be read.",
    ErrorType.NOT_CONFIGURED: (
        "This service is not connected to HiAgent yet: an engineer needs to set HiAgent's "
        "address and keys."
    ),
    ErrorType.INTERNAL: "Something went wrong on our side while calling HiAgent.",
}
# The runbook that helps with each kind of failure (runbooks/<slug>.md).
RUNBOOKS: dict[ErrorType, str] = {
    ErrorType.CONNECT: "hiagent-unreachable",
    ErrorType.TIMEOUT: "slow-answers",
    ErrorType.RATE_LIMITED: "requests-waiting",
    ErrorType.UPSTREAM: "hiagent-unreachable",
    ErrorType.AUTH: "app-key-rejected",
    ErrorType.BAD_ANSWER: "hiagent-unreachable",
    ErrorType.AGENT_FAILED: "high-error-rate",
    ErrorType.WORKFLOW_FAILED: "high-error-rate",
    ErrorType.TOOL_FAILED: "high-error-rate",
    ErrorType.CIRCUIT_OPEN: "agent-paused",
    ErrorType.BUSY: "requests-waiting",
    ErrorType.NOT_CONFIGURED: "hiagent-unreachable",
    ErrorType.INTERNAL: "high-error-rate",
}


def plain_message(cause: HiAgentCallError) -> str:
    """What the failure means, in plain words (with HiAgent's own words when it gave some)."""
    words = PLAIN_WORDS.get(cause.error_type)
    if words is None or (cause.error_type is ErrorType.TIMEOUT and "timeout" in cause.details):
        return cause.message  # already plain: our own deadline, a pause, a full queue, ...
    if cause.said:
        return f"{words} HiAgent said: \u201c{cause.said}\u201d."
    return words


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
        message = plain_message(cause)
        if message != cause.message:
            details["detail"] = cause.message
        details["runbook"] = RUNBOOKS[cause.error_type]
        if status in (429, 503):
            seconds = max(math.ceil(retry_after or 1), 1)
            headers["Retry-After"] = str(seconds)
            details["retry_after_s"] = seconds
        super().__init__(message, headers=headers, error_type=cause.error_type.value, **details)
        self.status_code = status
        self.code = code
        self.cause = cause
