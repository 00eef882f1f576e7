"""Prometheus metrics of calls to HiAgent. `agent_id` is the configuration name, never a user."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)

REQUESTS = Counter(
    "hiagent_request_total",
    "Calls to HiAgent through this service, by outcome "
    "(success, error, timeout, rejected, cancelled).",
    ["agent_id", "status"],
)
DURATION = Histogram(
    "hiagent_request_duration_seconds",
    "Whole call duration as callers see it, queueing and retries included.",
    ["agent_id"],
    buckets=_LATENCY_BUCKETS,
)
FIRST_TOKEN = Histogram(
    "hiagent_time_to_first_token_seconds",
    "From the start of a chat call to the first piece of the answer.",
    ["agent_id"],
    buckets=_LATENCY_BUCKETS,
)
TOKENS = Counter(
    "hiagent_tokens_total",
    "Tokens HiAgent reported, by direction (input, output).",
    ["agent_id", "direction"],
)
ERRORS = Counter(
    "hiagent_errors_total",
    "Failed calls by kind (connect, timeout, rate_limited, upstream_error, auth, bad_answer, "
    "agent_failed, workflow_failed, tool_failed, circuit_open, busy, not_configured).",
    ["agent_id", "error_type"],
)
RETRIES = Counter(
    "hiagent_retries_total",
    "Calls to HiAgent sent again after a failure that is safe to retry.",
    ["agent_id", "action"],
)
IN_FLIGHT = Gauge(
    "hiagent_in_flight",
    "Calls to HiAgent in progress.",
    ["agent_id"],
    multiprocess_mode="livesum",
)
QUEUE_DEPTH = Gauge(
    "hiagent_queue_depth",
    "Calls waiting for a free slot (agent or process limit).",
    ["agent_id"],
    multiprocess_mode="livesum",
)
BREAKER_STATE = Gauge(
    "hiagent_breaker_state",
    "Circuit breaker: 0 closed, 1 open, 2 half-open.",
    ["agent_id"],
    multiprocess_mode="livemax",  # each process has its breakers: the most open one shows
)
