"""OpenAI Chat Completions, Responses and legacy Completions (also Copilot's FIM requests)."""

from __future__ import annotations

import re
from typing import Any

from . import Annotations

ROLE_NAMES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool_result", "function": "tool_result"}
# Copilot completions start the prompt with a comment naming the file: "# Path: src/app.py"
_PATH_MARKER = re.compile(r"^\W{0,4}\s*Path:\s*(\S[^\n]*?)\s*$", re.MULTILINE)


def annotate(doc: dict[str, Any], path: str) -> Annotations:
    notes = Annotations()
    for i, msg in enumerate(_list(doc.get("messages"))):
        _chat_message(notes, ("messages", i), msg)
    if "instructions" in doc:
        notes.mark(("instructions",), "system")
    inputs = doc.get("input")
    if isinstance(inputs, str):
        notes.mark(("input",), "user")
    for i, item in enumerate(_list(inputs)):
        _responses_item(notes, ("input", i), item)
    for key in ("prompt", "suffix"):
        if key in doc:
            notes.mark((key,), "file", _path_marker(doc.get("prompt")))
    return notes


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _path_marker(prompt: Any) -> str | None:
    text = prompt if isinstance(prompt, str) else prompt[0] if isinstance(prompt, list) and prompt and isinstance(prompt[0], str) else ""
    m = _PATH_MARKER.search(text[:2000])
    return m.group(1) if m else None


def _chat_message(notes: Annotations, at: tuple, msg: Any) -> None:
    if not isinstance(msg, dict):
        return
    notes.mark(at, ROLE_NAMES.get(msg.get("role"), "other"))
    for j, part in enumerate(_list(msg.get("content"))):
        if isinstance(part, dict) and part.get("type") in ("image_url", "input_image", "input_audio"):
            notes.skip.add(at + ("content", j))
    for j, call in enumerate(_list(msg.get("tool_calls"))):
        notes.mark(at + ("tool_calls", j), "tool_call")


def _responses_item(notes: Annotations, at: tuple, item: Any) -> None:
    if not isinstance(item, dict):
        return
    kind = item.get("type", "message")
    if kind == "message":
        notes.mark(at, ROLE_NAMES.get(item.get("role"), "other"))
        for j, part in enumerate(_list(item.get("content"))):
            if isinstance(part, dict) and part.get("type") in ("input_image", "input_file", "input_audio"):
                notes.skip.add(at + ("content", j, "image_url"))
                notes.skip.add(at + ("content", j, "file_data"))
    elif kind in ("function_call", "custom_tool_call", "local_shell_call"):
        notes.mark(at, "tool_call")
    elif kind.endswith("_output"):
        notes.mark(at, "tool_result")
    elif kind == "reasoning":
        notes.mark(at, "assistant")
