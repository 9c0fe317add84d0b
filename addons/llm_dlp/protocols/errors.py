"""Error bodies in each API's own shape, so the assistant shows the developer why."""

from __future__ import annotations

import html
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


def refusal_page(message: str) -> bytes:
    """A small page for browsers that reach a refused AI service."""
    safe = html.escape(message)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Blocked by llm-dlp</title></head>"
            f"<body style='font-family:sans-serif;max-width:40em;margin:4em auto'><h1>Blocked by llm-dlp</h1>"
            f"<p>{safe}</p></body></html>").encode()
