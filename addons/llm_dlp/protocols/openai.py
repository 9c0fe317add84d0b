"""OpenAI Chat Completions, Responses and legacy Completions (also Copilot's FIM requests)."""

from __future__ import annotations

import re
from typing import Any

from llm_dlp.protocols.base import Annotations, path_in

ROLE_NAMES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool_result", "function": "tool_result"}
# Copilot completions start the prompt with a comment naming the file: "# Path: src/app.py"
_PATH_MARKER = re.compile(r"^\W{0,4}\s*Path:\s*(\S[^\n]*?)\s*$", re.MULTILINE)


def annotate(doc: dict[str, Any], path: str) -> Annotations:
    notes = Annotations()
    call_paths: dict[str, str] = {}  # tool call id -> the file its arguments name
    for i, msg in enumerate(_list(doc.get("messages"))):
        _chat_message(notes, ("messages", i), msg, call_paths)
    if "instructions" in doc:
        notes.mark(("instructions",), "system")
    inputs = doc.get("input")
    if isinstance(inputs, str):
        notes.mark(("input",), "user")
    for i, item in enumerate(_list(inputs)):
        _responses_item(notes, ("input", i), item, call_paths)
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


def _chat_message(notes: Annotations, at: tuple, msg: Any, call_paths: dict[str, str]) -> None:
    if not isinstance(msg, dict):
        return
    notes.mark(at, ROLE_NAMES.get(msg.get("role"), "other"), call_paths.get(msg.get("tool_call_id")))
    for j, part in enumerate(_list(msg.get("content"))):
        if isinstance(part, dict) and part.get("type") in ("image_url", "input_image", "input_audio"):
            notes.skip.add(at + ("content", j))
    for j, call in enumerate(_list(msg.get("tool_calls"))):
        file = path_in((call.get("function") or {}).get("arguments")) if isinstance(call, dict) else None
        if file and isinstance(call.get("id"), str):
            call_paths[call["id"]] = file
        notes.mark(at + ("tool_calls", j), "tool_call", file)


def _responses_item(notes: Annotations, at: tuple, item: Any, call_paths: dict[str, str]) -> None:
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
        file = path_in(item.get("arguments"))
        if file and isinstance(item.get("call_id"), str):
            call_paths[item["call_id"]] = file
        notes.mark(at, "tool_call", file)
    elif kind.endswith("_output"):
        notes.mark(at, "tool_result", call_paths.get(item.get("call_id")))
    elif kind == "reasoning":
        notes.mark(at, "assistant")
