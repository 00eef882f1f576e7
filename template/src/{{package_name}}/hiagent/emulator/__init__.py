"""A local HiAgent emulator that speaks the real SDK's wire protocol (App API and signed TOP)."""

from .app import DEFAULT_APP_PREFIX, create_app
from .scenarios import (
    DEFAULT_SCENARIO_KEY,
    Failure,
    FailureKind,
    InputField,
    RetrievalResult,
    Scenario,
    ToolCall,
    ToolScenario,
    WorkflowScenario,
    load_scenarios,
)
from .server import EmulatorServer, run_emulator, running_emulator
from .state import EmulatorState, RecordedRequest, StoppedMessage

__all__ = [
    "DEFAULT_APP_PREFIX",
    "DEFAULT_SCENARIO_KEY",
    "EmulatorServer",
    "EmulatorState",
    "Failure",
    "FailureKind",
    "InputField",
    "RecordedRequest",
    "RetrievalResult",
    "Scenario",
    "StoppedMessage",
    "ToolCall",
    "ToolScenario",
    "WorkflowScenario",
    "create_app",
    "load_scenarios",
    "run_emulator",
    "running_emulator",
]
