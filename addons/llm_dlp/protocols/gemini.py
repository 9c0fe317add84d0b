"""Google Gemini generateContent / streamGenerateContent (AI Studio and Vertex AI), and the Gemini
Code Assist wrapper ({model, project, request: {contents, systemInstruction, ...}}).

A functionResponse pairs with its functionCall by ``id`` when both carry one, else by position:
the n-th response in a turn answers the n-th call of the turn before (parallel calls to the same
function stay apart)."""

from __future__ import annotations

import json
import re
from typing import Any

from llm_dlp.protocols.api import Protocol
from llm_dlp.protocols.base import Annotations, Delta, Pointer, as_list, path_in, result_path
from llm_dlp.protocols.framing import Framing, JsonArrayFraming, SseFraming

_MODEL_IN_PATH = re.compile(r"/models/([^/:]+):")
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    413: "INVALID_ARGUMENT",
    421: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
}


class Gemini(Protocol):
    name = "gemini"
    family = "gemini"
    paths = re.compile(r":(?:stream)?[gG]enerateContent$|:countTokens$")
    key_headers = ("x-goog-api-key", "authorization")
    key_query = ("key",)
    description = "Gemini generateContent and the Code Assist wrapper: contents/parts, functionCall and functionResponse, inlineData."

    def annotate(self, doc: dict[str, Any], path: str) -> Annotations:
        notes = Annotations()
        m = _MODEL_IN_PATH.search(path)
        notes.model = m.group(1) if m else doc.get("model") if isinstance(doc.get("model"), str) else None
        inner, at = (doc["request"], ("request",)) if isinstance(doc.get("request"), dict) else (doc, ())
        for key in ("systemInstruction", "system_instruction"):
            if key in inner:
                notes.mark((*at, key), "system")
        calls: list[dict] = []  # the function calls of the last model turn, in order
        for i, content in enumerate(as_list(inner.get("contents"))):
            if isinstance(content, dict):
                calls = self._content(notes, (*at, "contents", i), content, calls)
        return notes

    def _content(self, notes: Annotations, at: Pointer, content: dict, calls: list[dict]) -> list[dict]:
        """Annotate one turn; return the calls the next turn's responses answer."""
        notes.mark(at, "assistant" if content.get("role") == "model" else "user")
        own_calls: list[dict] = []
        answered = 0
        for j, part in enumerate(as_list(content.get("parts"))):
            if not isinstance(part, dict):
                continue
            p_at = (*at, "parts", j)
            if "inlineData" in part or "inline_data" in part:
                notes.skip.add((*p_at, "inlineData", "data"))
                notes.skip.add((*p_at, "inline_data", "data"))
            elif isinstance(part.get("functionCall"), dict):
                call = part["functionCall"]
                own_calls.append({"id": call.get("id"), "name": call.get("name"), "file": result_path(call.get("args"))})
                notes.mark(p_at, "tool_call", path_in(call.get("args")))
            elif isinstance(part.get("functionResponse"), dict):
                call = _answered_call(part["functionResponse"], calls, answered)
                answered += 1
                notes.mark(p_at, "tool_result", call["file"] if call else None)
        return own_calls or calls

    def framing(self, content_type: str, path: str) -> Framing | None:
        if "event-stream" in content_type:
            return SseFraming()
        if "json" in content_type and "streamGenerateContent" in path:
            return JsonArrayFraming()
        return None

    def deltas(self, event: Any) -> list[Delta]:
        if not isinstance(event, dict):
            return []
        inner, base = (event["response"], ("response",)) if isinstance(event.get("response"), dict) else (event, ())
        out = []
        for i, cand in enumerate(as_list(inner.get("candidates"))):
            parts = ((cand or {}).get("content") or {}).get("parts") or [] if isinstance(cand, dict) else []
            for j, part in enumerate(as_list(parts)):
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    out.append(Delta(("cand", cand.get("index", i), j), (*base, "candidates", i, "content", "parts", j, "text"), False))
        return out

    def key_renamable(self, pointer: Pointer) -> bool:
        """Keys inside a functionCall's args are the call's data."""
        return any(pointer[k : k + 2] == ("functionCall", "args") for k in range(len(pointer) - 2))

    def error_body(self, status: int, code: str, message: str) -> bytes:
        return json.dumps(
            {"error": {"code": status, "message": message, "status": _STATUS_NAMES.get(status, "PERMISSION_DENIED")}}
        ).encode()


def _answered_call(response: dict, calls: list[dict], position: int) -> dict | None:
    """The call a functionResponse answers: by id, else the call at its position if the names agree."""
    if response.get("id"):
        return next((c for c in calls if c["id"] == response["id"]), None)
    if position < len(calls) and calls[position]["name"] == response.get("name"):
        return calls[position]
    return None
