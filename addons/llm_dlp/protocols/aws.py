"""What AWS APIs share: answers streamed in AWS event-stream frames, and errors as the AWS SDKs
read them, a JSON ``{"message": ...}`` body with the error's type in the ``x-amzn-errortype``
header (the SDKs take the type from there, or from a ``__type`` member, and show the message)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import unquote

from llm_dlp.protocols.api import Protocol
from llm_dlp.protocols.framing import EventStreamFraming, Framing

EVENT_STREAM = "vnd.amazon.eventstream"
_MODEL_IN_PATH = re.compile(r"/model/([^/]+)/")


class AwsProtocol(Protocol):
    error_types: ClassVar[Mapping[int, str]]  # HTTP status -> the service's error type
    key_headers = ("authorization",)  # a Bedrock API key (Bearer); SigV4 carries no key

    def framing(self, content_type: str, path: str) -> Framing | None:
        return EventStreamFraming() if EVENT_STREAM in content_type else super().framing(content_type, path)

    def error_body(self, status: int, code: str, message: str) -> bytes:
        return json.dumps({"message": message}).encode()

    def error_headers(self, status: int, code: str) -> dict[str, str]:
        return {"x-amzn-errortype": self.error_types.get(status, self.error_types[403])}


def model_in_path(path: str) -> str | None:
    """The model id (or ARN) of ``/model/{modelId}/...``."""
    m = _MODEL_IN_PATH.search(path.split("?", 1)[0])
    return unquote(m.group(1)) if m else None
