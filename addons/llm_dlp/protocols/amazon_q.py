"""Amazon Q Developer / CodeWhisperer (and Kiro) streaming: GenerateAssistantResponse and
SendMessage (AWS JSON, ``X-Amz-Target``), a ``conversationState`` of the current message and the
history; answers in AWS event-stream frames (assistantResponseEvent text, toolUseEvent input).
Also the inline-completion GenerateCompletions (``fileContext``)."""

from __future__ import annotations

from typing import Any

from llm_dlp.protocols.aws import AwsProtocol
from llm_dlp.protocols.base import STRUCTURE_KEYS, Annotations, Delta, Pointer, as_dict, as_list
from llm_dlp.protocols.bedrock import converse_tool_result, converse_tool_use

Q_ERRORS = {
    400: "ValidationError",
    403: "AccessDeniedError",
    413: "ValidationError",
    421: "ValidationError",
    429: "ThrottlingError",
    500: "InternalServerError",
    503: "ServiceUnavailableException",
}


class AmazonQ(AwsProtocol):
    name = "amazon-q"
    family = "amazon-q"
    structure_keys = STRUCTURE_KEYS | {
        "toolUseId",
        "conversationId",
        "messageId",
        "profileArn",
        "customizationArn",
        "modelId",
        "origin",
        "chatTriggerType",
        "userIntent",
        "agentContinuationId",
        "agentTaskType",
        "languageName",
    }
    error_types = Q_ERRORS
    description = "Amazon Q Developer: conversationState (currentMessage, history), editor documents, toolUses / toolResults by toolUseId."

    def annotate(self, doc: dict[str, Any], path: str) -> Annotations:
        notes = Annotations()
        state = as_dict(doc.get("conversationState"))
        tool_paths: dict[str, str] = {}
        for i, item in enumerate(as_list(state.get("history"))):
            self._message(notes, ("conversationState", "history", i), item, tool_paths)
        self._message(notes, ("conversationState", "currentMessage"), state.get("currentMessage"), tool_paths)
        if isinstance(doc.get("fileContext"), dict) and isinstance(doc["fileContext"].get("filename"), str):
            notes.mark(("fileContext",), "file", doc["fileContext"]["filename"])  # GenerateCompletions
        return notes

    @staticmethod
    def _message(notes: Annotations, at: Pointer, item: Any, tool_paths: dict[str, str]) -> None:
        if not isinstance(item, dict):
            return
        if isinstance(user := item.get("userInputMessage"), dict):
            at = (*at, "userInputMessage")
            notes.mark(at, "user")
            if isinstance(user.get("modelId"), str):
                notes.model = user["modelId"]
            for k, _ in enumerate(as_list(user.get("images"))):
                notes.skip.add((*at, "images", k, "source", "bytes"))
            context = as_dict(user.get("userInputMessageContext"))
            document = as_dict(as_dict(context.get("editorState")).get("document"))
            if isinstance(document.get("relativeFilePath"), str):
                notes.mark((*at, "userInputMessageContext", "editorState", "document", "text"), "file", document["relativeFilePath"])
            for k, result in enumerate(as_list(context.get("toolResults"))):
                if isinstance(result, dict):
                    converse_tool_result(notes, (*at, "userInputMessageContext", "toolResults", k), result, tool_paths)
        elif isinstance(answer := item.get("assistantResponseMessage"), dict):
            at = (*at, "assistantResponseMessage")
            notes.mark(at, "assistant")
            for k, use in enumerate(as_list(answer.get("toolUses"))):
                if isinstance(use, dict):
                    converse_tool_use(notes, (*at, "toolUses", k), use, tool_paths)

    def deltas(self, event: Any) -> list[Delta]:
        """assistantResponseEvent {content} and toolUseEvent {toolUseId, name, input}: the event
        type is in the frame's headers, the payload's shape tells them apart."""
        if not isinstance(event, dict):
            return []
        if isinstance(event.get("toolUseId"), str) and isinstance(event.get("input"), str):
            # the client parses the input once ``stop`` comes: nothing may follow that event
            return [Delta(("tool", event["toolUseId"]), ("input",), True, last=event.get("stop") is True)]
        if isinstance(event.get("content"), str) and not {"role", "type", "message"} & event.keys():
            return [Delta(("text",), ("content",), False)]
        return []
