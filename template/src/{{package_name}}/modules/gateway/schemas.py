"""Bodies of the agent, workflow, retriever, tool, test-run and breaker endpoints."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from ...hiagent.client import Passage, WorkflowRun
from ..agents.models import TestRunStatus
from ..agents.schemas import AgentConfigCreate

MAX_QUERY_CHARS = 32_000
# Configuration names are at most 100 characters; ids are shorter.
MAX_CONFIG_REF_CHARS = 100
# HiAgent's run id (a UUID today), a dot and the signature, with room to spare.
MAX_RUN_ID_CHARS = 200

ConfigRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_CONFIG_REF_CHARS,
        description="The configuration's name (any case) or id.",
    ),
]
RunHandle = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_RUN_ID_CHARS,
        description="The `run_id` given when the run started.",
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InvokeRequest(_Body):
    """A question for an agent; leave out `conversation_id` to start a new conversation."""

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    conversation_id: str | None = Field(default=None, min_length=1, max_length=255)
    variables: dict[str, str] | None = Field(
        default=None,
        max_length=100,
        description="Merged over the configuration's variables; only for a new conversation.",
    )


class InvokeResponse(BaseModel):
    """An agent's whole answer. Pass `conversation_id` back to continue the conversation."""

    answer: str
    conversation_id: str
    tokens_in: int
    tokens_out: int
    duration_ms: int
    correlation_id: str


class WorkflowRunRequest(_Body):
    """Inputs of a workflow run, merged over the configuration's variables."""

    inputs: dict[str, Any] = Field(default_factory=dict, max_length=200)


class WorkflowRunResponse(BaseModel):
    """A workflow run. `output` is the workflow's output (parsed when it is JSON)."""

    run_id: str = Field(
        description="Follow the run with this: GET /workflows/{name}/runs/{run_id}. It works "
        "for whoever started the run (and for admins) only."
    )
    hiagent_run_id: str = Field(
        description="HiAgent's own id of the run, as in its console and the request log"
    )
    status: str = Field(
        description="processing, success, failed, interrupted or stopped (HiAgent's), or "
        "timeout: a run started with mode=async still unfinished past its deadline_at"
    )
    output: Any = None
    message: str = ""
    tokens: int = 0
    duration_ms: int
    correlation_id: str
    deadline_at: datetime | None = Field(
        default=None,
        description="For a run started with mode=async: when this service stops waiting for "
        "it (UTC; start + the configuration's total_timeout_s). None when it is not followed.",
    )

    @classmethod
    def of(
        cls, run: WorkflowRun, *, run_id: str, duration_ms: int, correlation_id: str
    ) -> WorkflowRunResponse:
        """The API view of a run; `run_id` is the handle the caller follows it with."""
        return cls(
            run_id=run_id,
            hiagent_run_id=run.run_id,
            status=run.status,
            output=parsed_output(run.output) if run.output else None,
            message=run.message,
            tokens=run.tokens,
            duration_ms=duration_ms,
            correlation_id=correlation_id,
            deadline_at=run.deadline_at,
        )


class RetrieverQueryRequest(_Body):
    """A search of the configuration's knowledge bases."""

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    top_k: int = Field(default=5, ge=1, le=50)
    score_threshold: float = Field(default=0.5, ge=0, le=1)


class PassageRead(BaseModel):
    """One knowledge-base hit."""

    model_config = ConfigDict(from_attributes=True)

    content: str
    score: float
    dataset_id: str
    dataset_name: str
    document_id: str
    document_name: str
    segment_id: str


class RetrieverQueryResponse(BaseModel):
    """Passages that match, best first."""

    results: list[PassageRead]
    duration_ms: int
    correlation_id: str

    @classmethod
    def of(
        cls, passages: list[Passage], *, duration_ms: int, correlation_id: str
    ) -> RetrieverQueryResponse:
        """The API view of a search."""
        return cls(
            results=[PassageRead.model_validate(p) for p in passages],
            duration_ms=duration_ms,
            correlation_id=correlation_id,
        )


class ToolExecRequest(_Body):
    """Inputs of one tool run."""

    inputs: dict[str, Any] = Field(default_factory=dict, max_length=200)


class ToolExecResponse(BaseModel):
    """A tool's output (parsed when it is JSON)."""

    output: Any
    duration_ms: int
    correlation_id: str


class TestRunRequest(_Body):
    """A trial of a configuration: `query` for agents and retrievers, `inputs` otherwise."""

    __test__ = False  # not a pytest test class despite its name

    query: str | None = Field(default=None, min_length=1, max_length=MAX_QUERY_CHARS)
    variables: dict[str, str] | None = Field(default=None, max_length=100)
    inputs: dict[str, Any] | None = Field(default=None, max_length=200)


class TestRunRead(BaseModel):
    """A stored test run."""

    __test__ = False

    model_config = ConfigDict(from_attributes=True)

    id: int
    agent_config_id: int
    test_input: dict[str, Any]
    test_output: str
    status: TestRunStatus
    error: str | None
    duration_ms: int
    tokens_in: int
    tokens_out: int
    tested_by: int | None
    timestamp: datetime


class DraftTestRead(BaseModel):
    """The outcome of trying settings that are not saved yet (nothing is stored)."""

    model_config = ConfigDict(from_attributes=True)

    test_input: dict[str, Any]
    test_output: str
    status: TestRunStatus
    error: str | None
    duration_ms: int
    tokens_in: int
    tokens_out: int


class DraftTestRequest(_Body):
    """Settings as they are in the form (not saved), and what to try them with."""

    config: AgentConfigCreate
    test: TestRunRequest


class AppKeyCheckRequest(_Body):
    """An app key to check with HiAgent before it is saved."""

    app_key: str = Field(min_length=1, max_length=255)


class AppKeyCheckRead(BaseModel):
    """HiAgent's verdict on an app key, in plain words."""

    verdict: Literal["accepted", "rejected", "unknown"] = Field(
        description="`unknown` when HiAgent could not be asked (unreachable, not configured)"
    )
    message: str
    runbook: str | None = None


class HiAgentStatusRead(BaseModel):
    """Whether agents can be called now, for the agents list."""

    reachable: bool
    message: str = Field(description="Plain words; empty when HiAgent can be reached")
    paused: list[int] = Field(description="Configurations whose calls are paused or recovering")
    failing: list[int] = Field(description="Configurations whose recent calls all failed")


class TestRunPage(BaseModel):
    """A configuration's test runs, newest first."""

    __test__ = False

    items: list[TestRunRead]
    total: int
    limit: int
    offset: int


class BreakerRead(BaseModel):
    """A configuration's circuit breaker: `closed` is normal; `open` pauses calls."""

    state: str
    calls: int = Field(description="Calls in the current window")
    failures: int
    failure_rate: float
    retry_after_s: int = Field(description="Seconds until a trial call is let through")
    recent_calls: int = Field(
        default=0, description="Calls of the last 15 minutes (at most 20), whatever the outcome"
    )
    recent_failures: int = Field(
        default=0,
        description="Of `recent_calls`, those that failed for any reason (the breaker counts "
        "only failures that say HiAgent is unhealthy, not a rejected app key)",
    )
    last_failed: bool = Field(default=False, description="Whether the newest call failed")
    last_error_type: str | None = Field(
        default=None, description="The `error_type` of the newest failed call"
    )


def parsed_output(text: str) -> Any:
    """JSON output as data; any other text as it is."""
    try:
        return json.loads(text)
    except ValueError:
        return text
