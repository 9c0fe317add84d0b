"""OpenAI Responses: instructions, input as a string or items (messages, function calls and their
outputs paired by call_id, reasoning)."""

from __future__ import annotations

import re
from typing import Any

from llm_dlp.protocols.api import Protocol
from llm_dlp.protocols.base import Annotations, Delta, Pointer, as_list, path_in, result_path
from llm_dlp.protocols.openai_chat import ROLE_NAMES

CALL_ITEMS = ("function_call", "custom_tool_call", "local_shell_call", "shell_call", "apply_patch_call")


class OpenAIResponses(Protocol):
    name = "openai-responses"
    family = "openai"
    paths = re.compile(r"/responses$")
    key_headers = ("authorization", "api-key")
    description = "OpenAI Responses: instructions, input items, function_call arguments (JSON strings) and *_output items by call_id."

    def annotate(self, doc: dict[str, Any], path: str) -> Annotations:
        notes = Annotations()
        if "instructions" in doc:
            notes.mark(("instructions",), "system")
        inputs = doc.get("input")
        if isinstance(inputs, str):
            notes.mark(("input",), "user")
        # every call first: an output may come before its call, or (incremental input) without it
        call_paths: dict[str, str] = {}
        for item in as_list(inputs):
            if isinstance(item, dict) and isinstance(item.get("call_id"), str) and (file := call_result_path(item)):
                call_paths[item["call_id"]] = file
        for i, item in enumerate(as_list(inputs)):
            self._item(notes, ("input", i), item, call_paths)
        return notes

    @staticmethod
    def _item(notes: Annotations, at: Pointer, item: Any, call_paths: dict[str, str]) -> None:
        if not isinstance(item, dict):
            return
        kind = item.get("type", "message")
        if kind == "message":
            notes.mark(at, ROLE_NAMES.get(str(item.get("role")), "other"))
            for j, part in enumerate(as_list(item.get("content"))):
                if isinstance(part, dict) and part.get("type") in ("input_image", "input_file", "input_audio"):
                    notes.skip.add((*at, "content", j, "image_url"))
                    notes.skip.add((*at, "content", j, "file_data"))
        elif kind in CALL_ITEMS:
            notes.mark(at, "tool_call", path_in(_arguments(item)))
            if isinstance(item.get("arguments"), str):
                notes.json_text.add((*at, "arguments"))
        elif isinstance(kind, str) and kind.endswith("_output"):
            notes.mark(at, "tool_result", call_paths.get(str(item.get("call_id"))))
        elif kind == "reasoning":
            notes.mark(at, "assistant")

    def deltas(self, event: Any) -> list[Delta]:
        kind = event.get("type") if isinstance(event, dict) else None
        if isinstance(kind, str) and kind.startswith("response.") and kind.endswith(".delta") and isinstance(event.get("delta"), str):
            key = ("item", event.get("item_id"), event.get("output_index"), event.get("content_index"))
            return [Delta(key, ("delta",), "arguments" in kind)]
        return []


def _arguments(item: dict) -> Any:
    return item.get("arguments", item.get("action", item.get("input")))  # local_shell_call: action.command


def call_result_path(item: Any) -> str | None:
    """The file(s) the result of a tool-call item holds (None for any other item)."""
    return result_path(_arguments(item)) if isinstance(item, dict) and item.get("type") in CALL_ITEMS else None
