"""Ollama's native API (/api/chat, /api/generate): JSON requests, NDJSON streamed answers."""

from __future__ import annotations

import re
from typing import Any

from llm_dlp.protocols.api import Protocol
from llm_dlp.protocols.base import Annotations, Delta, as_list
from llm_dlp.protocols.framing import Framing, NdjsonFraming
from llm_dlp.protocols.openai_chat import ROLE_NAMES


class Ollama(Protocol):
    name = "ollama"
    family = "ollama"
    paths = re.compile(r"/api/(?:chat|generate)$")
    description = "Ollama /api/chat (messages) and /api/generate (prompt, system, suffix), NDJSON answers."

    def annotate(self, doc: dict[str, Any], path: str) -> Annotations:
        notes = Annotations()
        for i, msg in enumerate(as_list(doc.get("messages"))):
            if isinstance(msg, dict):
                notes.mark(("messages", i), ROLE_NAMES.get(str(msg.get("role")), "other"))
                if "images" in msg:
                    notes.skip.add(("messages", i, "images"))
        if "system" in doc:
            notes.mark(("system",), "system")
        for key in ("prompt", "suffix"):
            if key in doc:
                notes.mark((key,), "user")
        if "images" in doc:
            notes.skip.add(("images",))
        return notes

    def framing(self, content_type: str, path: str) -> Framing | None:
        return NdjsonFraming() if "ndjson" in content_type or "jsonl" in content_type else super().framing(content_type, path)

    def deltas(self, event: Any) -> list[Delta]:
        if not isinstance(event, dict):
            return []
        if isinstance(event.get("message"), dict) and isinstance(event["message"].get("content"), str):
            return [Delta(("ollama",), ("message", "content"), False)]
        if isinstance(event.get("response"), str):
            return [Delta(("ollama",), ("response",), False)]
        return []
