"""App API actions (`POST {prefix}/{action}`), answered in the casing each SDK model expects.

Management responses are PascalCase, chat payloads snake_case, workflow runs camelCase.
Lists and objects the SDK declares non-optional are never sent as null.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, Response, StreamingResponse

from .chat_stream import ChatStream, ChatTurn
from .responses import error_response
from .scenarios import Failure, Scenario, WorkflowScenario
from .state import (
    INTERNAL_CONVERSATION_PREFIX,
    ChatRecord,
    ConversationRecord,
    EmulatorState,
    StreamHandle,
    WorkflowRun,
)

STREAMING_ACTIONS = frozenset({"query_again_v2", "chat_continue"})


@dataclass(frozen=True)
class AppCall:
    """One authenticated App API call, with its scenario and any in-stream failure."""

    state: EmulatorState
    action: str
    app_key: str
    body: dict[str, Any]
    scenario: Scenario
    failure: Failure | None
    request_id: str

    def text(self, key: str) -> str:
        """A body field as a string ("" when absent or null)."""
        value = self.body.get(key)
        return "" if value is None else str(value)


def is_streaming(action: str, body: dict[str, Any]) -> bool:
    """Whether the SDK expects an SSE answer to this call."""
    return action in STREAMING_ACTIONS or (
        action == "chat_query_v2" and body.get("ResponseMode") == "streaming"
    )


def _now_ms() -> int:
    return int(time.time() * 1000)


def _conversation_json(record: ConversationRecord) -> dict[str, Any]:
    return {
        "AppConversationID": record.app_conversation_id,
        "ConversationID": record.internal_id,
        "ConversationName": record.name,
        "CreateTime": str(record.created_at),
        "LastChatTime": str(record.chats[-1].created_at) if record.chats else "",
        "EmptyConversation": not record.chats,
    }


def _new_conversation(call: AppCall, app_conversation_id: str) -> ConversationRecord:
    record = ConversationRecord(
        app_conversation_id=app_conversation_id,
        app_key=call.app_key,
        user_id=call.text("UserID"),
        name="New chat",
        created_at=_now_ms() // 1000,
    )
    call.state.add_conversation(record)
    return record


async def get_app_config_preview(call: AppCall) -> Response:
    """App metadata; `Agent.init` takes the agent's name from `Name`."""
    return JSONResponse(
        {
            "Name": call.scenario.app_name,
            "OpenMessage": "",
            "OpenQuery": [],
            "VariableConfigs": [],
            "SuggestEnabled": bool(call.scenario.suggestions),
            "AgentMode": "Single",
        }
    )


async def create_conversation(call: AppCall) -> Response:
    """A new conversation with a counter-based AppConversationID."""
    record = _new_conversation(call, call.state.next_id("conv"))
    return JSONResponse({"Conversation": _conversation_json(record)})


def _stream(call: AppCall, conversation_id: str, message_id: str, task_id: str) -> Response:
    handle = StreamHandle(task_id)
    turn = ChatTurn(task_id, message_id, conversation_id, _now_ms())
    chat = ChatStream(call.scenario, turn, handle, call.failure, call.state.stopping)

    async def body() -> AsyncIterator[bytes]:
        call.state.open_stream(handle)
        try:
            async for frame in chat.frames():
                yield frame
        finally:
            call.state.close_stream(handle)

    return StreamingResponse(
        body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


def _record_chat(call: AppCall, conversation: ConversationRecord, query: str) -> ChatRecord:
    scenario = call.scenario
    chat = ChatRecord(
        query_id=call.state.next_id("query"),
        query=query,
        message_id=call.state.next_id("msg"),
        task_id=call.state.next_id("task"),
        answer=scenario.answer,
        created_at=_now_ms() // 1000,
        total_tokens=scenario.input_tokens + scenario.output_tokens,
        latency=scenario.latency_seconds,
    )
    call.state.add_chat(conversation, chat)
    return chat


def _find_conversation(call: AppCall) -> ConversationRecord | Response:
    app_conversation_id = call.text("AppConversationID")
    if app_conversation_id.startswith(INTERNAL_CONVERSATION_PREFIX):
        # The classic mix-up: the chat event's conversation_id sent back as AppConversationID.
        return error_response(
            call.request_id,
            call.action,
            status=404,
            code="ConversationNotFound",
            message="AppConversationID is an internal conversation_id from a chat event",
        )
    found = call.state.conversation(app_conversation_id)
    # Unknown ids are adopted so conversations survive an emulator restart during development.
    return found or _new_conversation(call, app_conversation_id)


async def chat_query_v2(call: AppCall) -> Response:
    """One answer, blocking (JSON) or streaming (SSE) per `ResponseMode`."""
    conversation = _find_conversation(call)
    if isinstance(conversation, Response):
        return conversation
    chat = _record_chat(call, conversation, call.text("Query"))
    if is_streaming(call.action, call.body):
        return _stream(call, conversation.internal_id, chat.message_id, chat.task_id)
    scenario = call.scenario
    await call.state.pause(max(scenario.latency_seconds, scenario.first_token_seconds))
    return JSONResponse(
        {
            "event": "message",
            "task_id": chat.task_id,
            "id": chat.message_id,
            "conversation_id": conversation.internal_id,
            "answer": scenario.answer,
            "created_at": chat.created_at,
            "think_messages": [scenario.think] if scenario.think is not None else [],
            "tool_messages": [tool.output for tool in scenario.tool_calls],
        }
    )


async def query_again_v2(call: AppCall) -> Response:
    """Regenerate an answer: a fresh message in the same conversation, always SSE."""
    conversation = _find_conversation(call)
    if isinstance(conversation, Response):
        return conversation
    previous = next((c for c in conversation.chats if c.message_id == call.text("MessageID")), None)
    chat = _record_chat(call, conversation, previous.query if previous else "")
    return _stream(call, conversation.internal_id, chat.message_id, chat.task_id)


async def chat_continue(call: AppCall) -> Response:
    """Resume an interrupted answer under the same message id, always SSE."""
    message_id = call.text("MessageID")
    conversation = call.state.conversation_of_message(message_id)
    conversation_id = conversation.internal_id if conversation else ""
    return _stream(call, conversation_id, message_id, call.state.next_id("task"))


async def get_conversation_list(call: AppCall) -> Response:
    """The caller's conversations with this app, oldest first."""
    records = call.state.conversations_of(call.app_key, call.text("UserID"))
    return JSONResponse({"ConversationList": [_conversation_json(r) for r in records]})


async def get_conversation_messages(call: AppCall) -> Response:
    """The last `Limit` answered queries of a conversation."""
    record = call.state.conversation(call.text("AppConversationID"))
    chats = record.chats if record else []
    limit = call.body.get("Limit")
    if isinstance(limit, int) and limit > 0:
        chats = chats[-limit:]
    messages = [
        {
            "ConversationID": record.internal_id if record else "",
            "QueryID": chat.query_id,
            "Query": chat.query,
            "AnswerInfo": {
                "Answer": chat.answer,
                "MessageID": chat.message_id,
                "CreatedTime": chat.created_at,
                "TaskID": chat.task_id,
                "Like": 0,
                "TotalTokens": chat.total_tokens,
                "Latency": chat.latency,
                "TracingJsonStr": "",
            },
            "OtherAnswers": [],
        }
        for chat in chats
    ]
    return JSONResponse({"Messages": messages})


async def stop_message(call: AppCall) -> Response:
    """Record the stop and end the matching open stream."""
    call.state.stop_message(call.app_key, call.text("TaskID"), call.text("MessageID"))
    return JSONResponse({})


async def get_suggested_questions(call: AppCall) -> Response:
    """The scenario's suggestions."""
    return JSONResponse({"SuggestedQuestions": call.scenario.suggestions})


def workflow_result(run_id: str, workflow: WorkflowScenario, status: str) -> dict[str, Any]:
    """A workflow run body; `output` is a JSON string and present even while processing."""
    finished = status != "processing"
    return {
        "runId": run_id,
        "status": status,
        "output": workflow.output if status == "success" else "",
        "costMs": workflow.cost_ms if finished else 0,
        "costToken": workflow.cost_tokens if finished else 0,
        "code": 0 if status in {"success", "processing"} else 1,
        "message": workflow.message,
        "msg": workflow.message,
        "steps": [],
        "nodes": {},
        "lastInterruptedNodeId": "",
        "checkpointExpireTimestamp": 0,
    }


async def run_app_workflow(call: AppCall) -> Response:
    """Start an asynchronous run; polls answer `processing` `processing_polls` times."""
    run_id = call.state.next_id("run")
    polls = call.scenario.workflow.processing_polls
    call.state.add_run(WorkflowRun(run_id, call.app_key, polls))
    return JSONResponse({"runId": run_id})


async def sync_run_app_workflow(call: AppCall) -> Response:
    """A blocking run that answers the final status at once."""
    workflow = call.scenario.workflow
    return JSONResponse(workflow_result(call.state.next_id("run"), workflow, workflow.status))


async def query_run_app_process(call: AppCall) -> Response:
    """Poll an asynchronous run."""
    polled = call.state.poll_run(call.text("RunID"))
    if polled is None:
        return error_response(
            call.request_id, call.action, status=404, code="RunNotFound", message="unknown RunID"
        )
    run, processing = polled
    workflow = call.state.scenario_for(run.app_key).workflow
    status = "processing" if processing else workflow.status
    return JSONResponse(workflow_result(run.run_id, workflow, status))


APP_ACTIONS: dict[str, Callable[[AppCall], Awaitable[Response]]] = {
    "get_app_config_preview": get_app_config_preview,
    "create_conversation": create_conversation,
    "chat_query_v2": chat_query_v2,
    "query_again_v2": query_again_v2,
    "chat_continue": chat_continue,
    "get_conversation_list": get_conversation_list,
    "get_conversation_messages": get_conversation_messages,
    "stop_message": stop_message,
    "get_suggested_questions": get_suggested_questions,
    "run_app_workflow": run_app_workflow,
    "sync_run_app_workflow": sync_run_app_workflow,
    "query_run_app_process": query_run_app_process,
}
