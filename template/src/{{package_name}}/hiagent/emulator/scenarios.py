"""Scenario model: what the emulator answers for one app key (or workflow, tool, dataset id).

Scenarios are plain pydantic models, so the same shape is used from Python, from the admin
HTTP API (`PUT /_emulator/scenarios/{key}`) and from a JSON scenarios file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

# Scenario key that replaces the built-in default for every key without its own scenario.
DEFAULT_SCENARIO_KEY = "*"

FailureKind = Literal[
    "http_error",
    "error_envelope",
    "timeout",
    "hang",
    "message_failed",
    "agent_error",
    "malformed_event",
    "non_json_data",
    "missing_event_key",
]

# Failure kinds that only make sense inside an SSE stream; other calls answer normally.
STREAM_FAILURE_KINDS: frozenset[str] = frozenset(
    {"message_failed", "agent_error", "malformed_event", "non_json_data", "missing_event_key"}
)


class _Model(BaseModel):
    # Unknown keys are refused so a typo in a scenarios file fails loudly instead of being ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Failure(_Model):
    """A fault to inject instead of (or inside) the normal answer.

    Kinds:
    - `http_error`: answer `status` with a `ResponseMetadata.Error` envelope (and `Retry-After`
      when `retry_after` is set). On streaming calls the SDK raises `SSEError`.
    - `error_envelope`: HTTP 200 carrying the error envelope (the SDK's `BaseError` path).
    - `timeout`: stall `delay_seconds` before answering normally (beyond the client's timeout).
    - `hang`: never answer a plain call; a stream sends `message_start` and then only
      keep-alives until the client leaves, `stop_message` arrives or the emulator stops.
    - `message_failed` / `agent_error`: stream the failure event after `after_chunks` chunks.
    - `malformed_event` (a `message` without `answer`), `non_json_data`, `missing_event_key`:
      a broken frame after `after_chunks` chunks, then the body closes.
    """

    kind: FailureKind
    status: int = Field(default=500, ge=400, le=599)
    retry_after: int | None = Field(default=None, ge=0)
    code: str = "InternalError"
    message: str = "emulated failure"
    delay_seconds: float = Field(default=30.0, ge=0)
    after_chunks: int = Field(default=0, ge=0)
    message_end: bool | None = None
    actions: list[str] | None = None

    @property
    def ends_with_message_end(self) -> bool:
        """Whether `message_end` follows the failure event (default: only after agent_error)."""
        if self.message_end is not None:
            return self.message_end
        return self.kind == "agent_error"


class ToolCall(_Model):
    """One tool call the agent makes before answering (agent_thought + tool_message events)."""

    name: str = "get_weather"
    input: str = '{"city": "Beijing"}'
    output: str = "Sunny 25C"
    thought: str = "I should look this up."


class InputField(_Model):
    """A HiAgent field definition: a workflow start-node input or a tool parameter."""

    name: str
    type: int = 0
    required: bool = False
    description: str = ""


class WorkflowScenario(_Model):
    """Workflow metadata (TOP `GetWorkflow`) and how its runs end."""

    name: str = "Emu Workflow"
    description: str = "Workflow served by the HiAgent emulator"
    inputs: list[InputField] = Field(
        default_factory=lambda: [InputField(name="query", required=True)]
    )
    status: Literal["success", "failed", "interrupted", "stopped"] = "success"
    output: str = '{"result": "ok"}'
    message: str = ""
    cost_ms: int = Field(default=12, ge=0)
    cost_tokens: int = Field(default=30, ge=0)
    processing_polls: int = Field(default=0, ge=0)


class RetrievalResult(_Model):
    """One knowledge-base hit returned by TOP `Query`."""

    content: str
    score: float = 0.9
    dataset_id: str = "ds-emu"
    dataset_name: str = "Emu dataset"
    document_id: str = "doc-emu"
    document_name: str = "emulator.md"
    segment_id: str = "seg-1"


class ToolScenario(_Model):
    """An archived plugin tool (TOP `GetArchivedTool` and `ExecArchivedTool`)."""

    name: str = "emu_tool"
    description: str = "Tool served by the HiAgent emulator"
    plugin_id: str = "plugin-emu"
    inputs: list[InputField] = Field(
        default_factory=lambda: [InputField(name="city", required=True)]
    )
    output: str = '{"result": "ok"}'
    success: bool = True
    reason: str = ""


class Scenario(_Model):
    """Everything the emulator answers for one key; every field has a working default.

    Chat timing: the first `message` chunk arrives after `first_token_seconds`, the whole answer
    after `latency_seconds` (the rest is spread evenly between chunks).
    `fail_times` limits `failure` to the first N matching calls (None: every call fails).
    """

    app_name: str = "Emu Agent"
    answer: str = "Hello, world"
    chunks: int = Field(default=1, ge=1)
    input_tokens: int = Field(default=12, ge=0)
    output_tokens: int = Field(default=8, ge=0)
    latency_seconds: float = Field(default=0.0, ge=0)
    first_token_seconds: float = Field(default=0.0, ge=0)
    think: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list)
    event_lines: bool = False
    keepalive_seconds: float = Field(default=5.0, gt=0)
    failure: Failure | None = None
    fail_times: int | None = Field(default=None, ge=1)
    workflow: WorkflowScenario = Field(default_factory=WorkflowScenario)
    retrieval: list[RetrievalResult] = Field(
        default_factory=lambda: [
            RetrievalResult(content="The HiAgent emulator answers every query with this passage.")
        ]
    )
    tool: ToolScenario = Field(default_factory=ToolScenario)


_SCENARIO_MAP = TypeAdapter(dict[str, Scenario])


def load_scenarios(path: str | Path) -> dict[str, Scenario]:
    """Read a JSON object mapping keys (app key, workflow/tool/dataset id, or "*") to scenarios."""
    return _SCENARIO_MAP.validate_json(Path(path).read_bytes())
