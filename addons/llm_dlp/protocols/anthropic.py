"""Anthropic Messages: system as string or blocks, content as string or blocks, tool_use
inputs and tool_result contents (attributed to the file their tool call named)."""

from __future__ import annotations

from typing import Any

from llm_dlp.protocols.base import Annotations, path_in


def annotate(doc: dict[str, Any], path: str) -> Annotations:
    notes = Annotations()
    if "system" in doc:
        notes.mark(("system",), "system")
    tool_paths: dict[str, str] = {}
    for i, msg in enumerate(doc.get("messages") or []):
        if not isinstance(msg, dict):
            continue
        at = ("messages", i)
        notes.mark(at, "assistant" if msg.get("role") == "assistant" else "user")
        blocks = msg.get("content")
        for j, block in enumerate(blocks if isinstance(blocks, list) else []):
            _block(notes, at + ("content", j), block, tool_paths)
    return notes


def _block(notes: Annotations, at: tuple, block: Any, tool_paths: dict[str, str]) -> None:
    if not isinstance(block, dict):
        return
    kind = block.get("type")
    if kind in ("image", "document") and isinstance(block.get("source"), dict) and block["source"].get("type") == "base64":
        notes.skip.add(at + ("source", "data"))
    elif kind in ("tool_use", "server_tool_use"):
        file_path = path_in(block.get("input"))
        if file_path and isinstance(block.get("id"), str):
            tool_paths[block["id"]] = file_path
        notes.mark(at, "tool_call", file_path)
    elif kind == "tool_result":
        notes.mark(at, "tool_result", tool_paths.get(block.get("tool_use_id")))
        for k, inner in enumerate(block.get("content") if isinstance(block.get("content"), list) else []):
            if isinstance(inner, dict) and inner.get("type") == "image":
                notes.skip.add(at + ("content", k, "source", "data"))
