"""The page a browser gets when it reaches a refused AI service (API clients get their API's error body)."""

from __future__ import annotations

import html


def refusal_page(message: str) -> bytes:
    """A small page for browsers that reach a refused AI service."""
    safe = html.escape(message)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Blocked by llm-dlp</title></head>"
        f"<body style='font-family:sans-serif;max-width:40em;margin:4em auto'><h1>Blocked by llm-dlp</h1>"
        f"<p>{safe}</p></body></html>"
    ).encode()
