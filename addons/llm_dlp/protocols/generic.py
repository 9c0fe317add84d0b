"""Any other JSON API, and raw text: every string is inspected; a streamed answer (SSE, NDJSON or
AWS event-stream) has its deltas found in whichever known shape it has; errors are OpenAI-shaped
(what most clients read)."""

from __future__ import annotations

from typing import Any

from llm_dlp.protocols.api import Protocol
from llm_dlp.protocols.aws import EVENT_STREAM
from llm_dlp.protocols.base import Delta, ParsedBody, raw_body
from llm_dlp.protocols.framing import EventStreamFraming, Framing, NdjsonFraming


class GenericJson(Protocol):
    name = "generic"
    family = "generic"
    key_headers = ("authorization", "x-api-key", "api-key", "x-goog-api-key")
    key_query = ("key",)
    description = "Any JSON body (every string leaf inspected), or raw text; OpenAI-shaped errors."

    def framing(self, content_type: str, path: str) -> Framing | None:
        if EVENT_STREAM in content_type:  # an AWS operation without a module of its own
            return EventStreamFraming()
        return NdjsonFraming() if "ndjson" in content_type or "jsonl" in content_type else super().framing(content_type, path)

    def deltas(self, event: Any) -> list[Delta]:
        return known_deltas(event)


def known_deltas(event: Any) -> list[Delta]:
    """The deltas of an event in whichever known API's shape it has."""
    from llm_dlp.protocols.registry import REGISTRY

    return next((d for p in REGISTRY.specific() if not p.native_bodies and (d := p.deltas(event))), [])


class RawText(GenericJson):
    name = "text"
    family = "text"
    description = "The body as one piece of raw text, whatever it holds (llm-dlp scan --protocol text)."

    def parse(self, raw: bytes, path: str, content_type: str = "") -> ParsedBody:
        return raw_body(raw)
