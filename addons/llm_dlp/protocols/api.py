"""The interface every protocol module implements: everything one API means to the proxy.

A protocol is chosen per request from the catalog's ``protocol:`` name (its *family*, e.g.
``openai``) and the request path (``/v1/chat/completions`` and ``/v1/responses`` are two APIs of one
family). It owns the request side (which fields are content, which structure, roles, file paths,
tool-call pairing, the model, where the API key travels), the response side (framing of streamed
answers, where the deltas are, which model served) and the shape of its error bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from llm_dlp.inspect import documents
from llm_dlp.protocols import strictjson
from llm_dlp.protocols.base import (
    STRUCTURE_KEYS,
    Annotations,
    Delta,
    ParsedBody,
    Pointer,
    attribute_file_objects,
    raw_body,
    segments_of,
    top_model,
)
from llm_dlp.protocols.framing import Framing, SseFraming
from llm_dlp.protocols.multipart import parse_multipart
from llm_dlp.protocols.strictjson import looks_like_json


class Protocol:
    """Defaults suit any JSON API; a module overrides what its API does differently."""

    name: ClassVar[str]  # unique in the registry
    family: ClassVar[str]  # the catalog's ``protocol:`` value that selects it
    paths: ClassVar[re.Pattern[str] | None] = None  # request paths it serves; None: its family's fallback
    structure_keys: ClassVar[frozenset[str]] = STRUCTURE_KEYS
    key_headers: ClassVar[tuple[str, ...]] = ("authorization",)  # where the API key travels
    key_query: ClassVar[tuple[str, ...]] = ()
    batches: ClassVar[bool] = False  # a body may be a JSON array of requests (JSON-RPC), which annotate then gets
    answers_are_code: ClassVar[bool] = False  # a completion's whole text is code (Copilot's FIM)
    native_bodies: ClassVar[bool] = False  # its bodies are other APIs' (Bedrock InvokeModel): deltas found by shape
    description: ClassVar[str] = ""

    # ---- request ---------------------------------------------------------------------------
    def handles(self, path: str) -> bool:
        return self.paths is not None and self.paths.search(path.split("?", 1)[0]) is not None

    def annotate(self, doc: Any, path: str) -> Annotations:
        """Roles, file paths (tool results paired with their calls by id), skipped binary fields."""
        return Annotations()

    def key_renamable(self, pointer: Pointer) -> bool:
        """Whether the object key at ``pointer`` may be renamed to redact it (a tool call's input,
        where a key is data); every other key is structure, and a finding in it blocks."""
        return False

    def parse(self, raw: bytes, path: str, content_type: str = "") -> ParsedBody:
        """A JSON body (by its type, or because it starts like JSON) is parsed strictly: a BodyError
        refuses it, never read as raw text while the provider reads JSON. A multipart body is read
        part by part; anything else is one raw text segment."""
        if content_type.lower().startswith("multipart/form-data"):
            return parse_multipart(raw, content_type, path, self.family)
        if not looks_like_json(raw, content_type):
            return raw_body(raw)
        doc = strictjson.loads(raw)
        notes = self.annotate(doc, path) if isinstance(doc, dict) or (self.batches and isinstance(doc, list)) else Annotations()
        attribute_file_objects(doc, notes)
        segments = documents.expand(doc, segments_of(doc, notes, self.structure_keys, self.key_renamable))
        return ParsedBody(doc, segments, notes.model or top_model(doc), True)

    def api_key(self, headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
        """The API key the request carries (Bearer tokens included), wherever this API puts it."""
        for name in self.key_headers:
            value = headers.get(name)
            if not value:
                continue
            if name == "authorization":
                scheme, _, token = value.partition(" ")
                if scheme.lower() != "bearer" or not token.strip():
                    continue
                value = token.strip()
            return value
        return next((query[k] for k in self.key_query if query.get(k)), None)

    def body_is_signed(self, headers: Mapping[str, str]) -> bool:
        """The request carries a signature over its body, so an edited body would be refused: AWS
        Signature V4 (``Authorization: AWS4-HMAC-SHA256 ...``, ``AWS4-ECDSA-P256-SHA256`` for SigV4a)
        signs the payload's hash unless ``x-amz-content-sha256`` says ``UNSIGNED-PAYLOAD``. Any
        API can be reached with AWS credentials (behind API Gateway, say), so every protocol checks."""
        scheme = headers.get("authorization", "").split(" ", 1)[0].upper()
        return scheme.startswith("AWS4-") and headers.get("x-amz-content-sha256", "").upper() != "UNSIGNED-PAYLOAD"

    # ---- response --------------------------------------------------------------------------
    def framing(self, content_type: str, path: str) -> Framing | None:
        """How a streamed answer is cut into events; None: not a stream this API sends."""
        return SseFraming() if "event-stream" in content_type else None

    def deltas(self, event: Any) -> list[Delta]:
        """The fragments of growing model text in one streamed event."""
        return []

    def served_model(self, doc: Any) -> str | None:
        """The model an answer (or one of its events) says served it."""
        if not isinstance(doc, dict):
            return None
        for holder in (doc, doc.get("message"), doc.get("response")):
            if isinstance(holder, dict):
                model = holder.get("model") or holder.get("modelVersion")
                if isinstance(model, str):
                    return model
        return None

    # ---- errors ----------------------------------------------------------------------------
    def error_body(self, status: int, code: str, message: str) -> bytes:
        """A refusal in the API's own error shape, so the client shows the developer why.
        ``code`` is a stable machine-readable reason (``llm_dlp_blocked``)."""
        doc = {"error": {"message": message, "type": "llm_dlp_policy" if status == 403 else "llm_dlp_error", "param": None, "code": code}}
        return json.dumps(doc).encode()

    def error_headers(self, status: int, code: str) -> dict[str, str]:
        """Headers a refusal needs in this API (AWS SDKs read the error's type from one)."""
        return {}
