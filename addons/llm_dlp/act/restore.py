"""Putting original values back where the model writes a placeholder from its request."""

from __future__ import annotations

import json
from collections.abc import Callable

from llm_dlp.act.placeholders import PLACEHOLDER_RE


class Restorer:
    """Replaces known placeholders in text; unknown or mangled ones pass through unchanged."""

    def __init__(self, mapping: dict[str, str], on_restore: Callable[[int], None] = lambda n: None):
        self._mapping = mapping
        self._on_restore = on_restore

    def __call__(self, text: str, json_escape: bool = False) -> str:
        """``json_escape``: the text is JSON source (tool arguments), so values go in escaped."""
        if not self._mapping or "[REDACTED:" not in text:
            return text
        count = 0

        def swap(m) -> str:
            nonlocal count
            original = self._mapping.get(m.group(0))
            if original is None:
                return m.group(0)
            count += 1
            return json.dumps(original, ensure_ascii=False)[1:-1] if json_escape else original

        out = PLACEHOLDER_RE.sub(swap, text)
        if count:
            self._on_restore(count)
        return out
