"""Error bodies in each API's own shape, so the assistant shows the developer why."""

from __future__ import annotations

import json

_STATUS_NAMES = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 413: "INVALID_ARGUMENT", 500: "INTERNAL", 502: "UNAVAILABLE"}
_ANTHROPIC_TYPES = {400: "invalid_request_error", 403: "permission_error", 413: "request_too_large", 500: "api_error"}


def error_body(protocol: str, status: int, code: str, message: str) -> bytes:
    """``code`` is a stable machine-readable reason (e.g. ``llm_dlp_blocked``)."""
    if protocol == "anthropic":
        doc = {"type": "error", "error": {"type": _ANTHROPIC_TYPES.get(status, "permission_error"), "message": message}}
    elif protocol == "gemini":
        doc = {"error": {"code": status, "message": message, "status": _STATUS_NAMES.get(status, "PERMISSION_DENIED")}}
    else:  # openai and everything OpenAI-compatible
        doc = {"error": {"message": message, "type": "llm_dlp_policy" if status == 403 else "llm_dlp_error", "param": None, "code": code}}
    return json.dumps(doc).encode()
