"""Signed TOP OpenAPI actions (`POST /?Action=X&Version=2023-08-01`).

TOP calls carry no app key, so their scenario is looked up by the resource they name: the
workflow id, the tool id, or the first dataset id that has a scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .scenarios import InputField, Scenario
from .state import EmulatorState


@dataclass(frozen=True)
class TopCall:
    """One verified TOP call with its scenario."""

    action: str
    body: dict[str, Any]
    scenario: Scenario

    def text(self, key: str) -> str:
        """A body field as a string ("" when absent or null)."""
        value = self.body.get(key)
        return "" if value is None else str(value)


def top_scenario_key(action: str, body: dict[str, Any], state: EmulatorState) -> str:
    """The key whose scenario answers this TOP call."""
    if action == "ExecArchivedTool":
        return str(body.get("ToolID") or "")
    if action == "Query":
        dataset_ids = [str(d) for d in body.get("DatasetIds") or []]
        configured = [d for d in dataset_ids if state.has_scenario(d)]
        return (configured or dataset_ids or [""])[0]
    return str(body.get("ID") or "")


def _field_definitions(fields: list[InputField]) -> list[dict[str, Any]]:
    return [
        {"Name": f.name, "Type": f.type, "Required": f.required, "Desc": f.description}
        for f in fields
    ]


def get_workflow(call: TopCall) -> dict[str, Any]:
    """Workflow metadata with the Start node the `Workflow` component needs."""
    workflow = call.scenario.workflow
    workflow_id = call.text("ID")
    start_config = {"StartNode": {"InputSchema": _field_definitions(workflow.inputs)}}
    return {
        "Name": workflow.name,
        "Description": workflow.description,
        "Status": "Published",
        "RuntimeStatus": "Running",
        "Nodes": [
            {
                "ID": "node-start",
                "FlowID": workflow_id,
                "Type": "Start",
                "Name": "Start",
                "NodeConfig": start_config,
            },
            {"ID": "node-end", "FlowID": workflow_id, "Type": "End", "Name": "End"},
        ],
    }


def query(call: TopCall) -> dict[str, Any]:
    """Knowledge-base hits at or above `ScoreThreshold`, at most `TopK` of them."""
    threshold = float(call.body.get("ScoreThreshold") or 0.0)
    top_k = int(call.body.get("TopK") or len(call.scenario.retrieval))
    hits = [r for r in call.scenario.retrieval if r.score >= threshold][:top_k]
    return {
        "Results": [
            {
                "DatasetID": r.dataset_id,
                "DatasetName": r.dataset_name,
                "DocumentID": r.document_id,
                "DocumentName": r.document_name,
                "SegmentID": r.segment_id,
                "Content": r.content,
                "Score": r.score,
            }
            for r in hits
        ]
    }


def get_archived_tool(call: TopCall) -> dict[str, Any]:
    """Tool metadata; the input schema is an object (Type 4) of the scenario's fields."""
    tool = call.scenario.tool
    return {
        "PluginID": tool.plugin_id,
        "Name": tool.name,
        "Description": tool.description,
        "InputSchema": {
            "Name": "input",
            "Type": 4,
            "Required": True,
            "SubParameters": _field_definitions(tool.inputs),
        },
    }


def exec_archived_tool(call: TopCall) -> dict[str, Any]:
    """The tool's output; `Reason` is always present because the SDK requires it."""
    tool = call.scenario.tool
    return {
        "Output": tool.output if tool.success else "",
        "Success": tool.success,
        "Reason": tool.reason,
    }


TOP_ACTIONS: dict[str, Callable[[TopCall], dict[str, Any]]] = {
    "GetWorkflow": get_workflow,
    "Query": query,
    "GetArchivedTool": get_archived_tool,
    "ExecArchivedTool": exec_archived_tool,
}
