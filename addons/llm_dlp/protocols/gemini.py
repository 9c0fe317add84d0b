"""Google Gemini generateContent / streamGenerateContent, Vertex AI, and the Gemini Code Assist
wrapper ({model, project, request: {contents, systemInstruction, ...}})."""

from __future__ import annotations

import re
from typing import Any

from llm_dlp.protocols.base import Annotations, path_in

_MODEL_IN_PATH = re.compile(r"/models/([^/:]+):")


def annotate(doc: dict[str, Any], path: str) -> Annotations:
    notes = Annotations()
    m = _MODEL_IN_PATH.search(path)
    notes.model = m.group(1) if m else doc.get("model") if isinstance(doc.get("model"), str) else None
    inner, at = (doc["request"], ("request",)) if isinstance(doc.get("request"), dict) else (doc, ())
    for key in ("systemInstruction", "system_instruction"):
        if key in inner:
            notes.mark(at + (key,), "system")
    call_paths: dict[str, str] = {}  # function name -> file of its latest call
    for i, content in enumerate(inner.get("contents") or []):
        if not isinstance(content, dict):
            continue
        c_at = at + ("contents", i)
        notes.mark(c_at, "assistant" if content.get("role") == "model" else "user")
        for j, part in enumerate(content.get("parts") or []):
            if not isinstance(part, dict):
                continue
            p_at = c_at + ("parts", j)
            if "inlineData" in part or "inline_data" in part:
                notes.skip.add(p_at + ("inlineData", "data"))
                notes.skip.add(p_at + ("inline_data", "data"))
            elif isinstance(part.get("functionCall"), dict):
                call = part["functionCall"]
                file = path_in(call.get("args"))
                if file:
                    call_paths[call.get("name")] = file
                notes.mark(p_at, "tool_call", file)
            elif isinstance(part.get("functionResponse"), dict):
                notes.mark(p_at, "tool_result", call_paths.pop(part["functionResponse"].get("name"), None))
    return notes
