"""Anthropic Messages (also on Vertex AI's rawPredict and Bedrock's InvokeModel bodies): system as
a string or blocks, content as a string or blocks, tool_use inputs, and tool_result contents
attributed to the file their tool_use named (paired by tool_use_id)."""

from __future__ import annotations

import json
import re
from typing import Any

from llm_dlp.protocols.api import Protocol
from llm_dlp.protocols.base import Annotations, Delta, Pointer, as_list, path_in, result_path

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
}


class AnthropicMessages(Protocol):
    name = "anthropic-messages"
    family = "anthropic"
    paths = re.compile(r"/messages(?:/count_tokens)?$|:(?:stream)?[rR]awPredict$|/invoke(?:-with-response-stream)?$")
    key_headers = ("x-api-key", "authorization")
    description = "Anthropic Messages: system, content blocks, tool_use / tool_result paired by tool_use_id, thinking."

    def annotate(self, doc: dict[str, Any], path: str) -> Annotations:
        notes = Annotations()
        if "system" in doc:
            notes.mark(("system",), "system")
        tool_paths: dict[str, str] = {}
        for i, msg in enumerate(as_list(doc.get("messages"))):
            if not isinstance(msg, dict):
                continue
            at = ("messages", i)
            notes.mark(at, "assistant" if msg.get("role") == "assistant" else "user")
            for j, block in enumerate(as_list(msg.get("content"))):
                self._block(notes, (*at, "content", j), block, tool_paths)
        return notes

    @staticmethod
    def _block(notes: Annotations, at: Pointer, block: Any, tool_paths: dict[str, str]) -> None:
        if not isinstance(block, dict):
            return
        kind = block.get("type")
        if kind in ("image", "document") and isinstance(block.get("source"), dict) and block["source"].get("type") == "base64":
            notes.skip.add((*at, "source", "data"))
        elif kind in ("tool_use", "server_tool_use"):
            output = result_path(block.get("input"))
            if output and isinstance(block.get("id"), str):
                tool_paths[block["id"]] = output
            notes.mark(at, "tool_call", path_in(block.get("input")))
        elif kind == "tool_result":
            notes.mark(at, "tool_result", tool_paths.get(str(block.get("tool_use_id"))))
            for k, inner in enumerate(as_list(block.get("content"))):
                if isinstance(inner, dict) and inner.get("type") == "image":
                    notes.skip.add((*at, "content", k, "source", "data"))

    def key_renamable(self, pointer: Pointer) -> bool:
        """Keys inside a tool_use block's input (messages/i/content/j/input/...) are the call's data."""
        return len(pointer) > 5 and pointer[0] == "messages" and pointer[2] == "content" and pointer[4] == "input"

    def deltas(self, event: Any) -> list[Delta]:
        if not isinstance(event, dict) or event.get("type") != "content_block_delta" or not isinstance(event.get("delta"), dict):
            return []
        return [
            Delta(("block", event.get("index")), ("delta", name), name == "partial_json")
            for name in ("text", "partial_json", "thinking")
            if isinstance(event["delta"].get(name), str)
        ]

    def error_body(self, status: int, code: str, message: str) -> bytes:
        return json.dumps({"type": "error", "error": {"type": _ERROR_TYPES.get(status, "permission_error"), "message": message}}).encode()
