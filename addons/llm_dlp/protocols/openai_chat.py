"""OpenAI Chat Completions (and every OpenAI-compatible server: Azure, Copilot, Qwen, vLLM, …)."""

from __future__ import annotations

import re
from typing import Any

from llm_dlp.protocols.api import Protocol
from llm_dlp.protocols.base import Annotations, Delta, Pointer, as_list, path_in, result_path

# OpenAI's roles, as llm-dlp names them
ROLE_NAMES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool_result",
    "function": "tool_result",
}
BINARY_PARTS = ("image_url", "input_image", "input_audio")


class OpenAIChat(Protocol):
    name = "openai-chat"
    family = "openai"
    paths = re.compile(r"/chat/completions$")
    key_headers = ("authorization", "api-key")
    description = "OpenAI Chat Completions: messages, tool_calls (arguments as JSON strings), tool messages by tool_call_id."

    def annotate(self, doc: dict[str, Any], path: str) -> Annotations:
        notes = Annotations()
        call_paths: dict[str, str] = {}  # tool call id -> the file its arguments name
        for i, msg in enumerate(as_list(doc.get("messages"))):
            self._message(notes, ("messages", i), msg, call_paths)
        return notes

    @staticmethod
    def _message(notes: Annotations, at: Pointer, msg: Any, call_paths: dict[str, str]) -> None:
        if not isinstance(msg, dict):
            return
        notes.mark(at, ROLE_NAMES.get(str(msg.get("role")), "other"), call_paths.get(str(msg.get("tool_call_id"))))
        for j, part in enumerate(as_list(msg.get("content"))):
            if isinstance(part, dict) and part.get("type") in BINARY_PARTS:
                notes.skip.add((*at, "content", j))
        for j, call in enumerate(as_list(msg.get("tool_calls"))):
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict):
                continue
            output = result_path(function.get("arguments"))
            if output and isinstance(call.get("id"), str):
                call_paths[call["id"]] = output
            notes.mark((*at, "tool_calls", j), "tool_call", path_in(function.get("arguments")))
            notes.json_text.add((*at, "tool_calls", j, "function", "arguments"))

    def deltas(self, event: Any) -> list[Delta]:
        out: list[Delta] = []
        for i, choice in enumerate(as_list(event.get("choices")) if isinstance(event, dict) else []):
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", i)
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                continue
            for name in ("content", "reasoning_content"):
                if isinstance(delta.get(name), str):
                    out.append(Delta(("choice", index, name), ("choices", i, "delta", name), False))
            for j, call in enumerate(as_list(delta.get("tool_calls"))):
                fn = call.get("function") if isinstance(call, dict) else None
                if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                    key = ("tool", index, call.get("index", j))
                    out.append(Delta(key, ("choices", i, "delta", "tool_calls", j, "function", "arguments"), True))
        return out
