"""Putting original values back where the model writes a placeholder from its request."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from .placeholders import PLACEHOLDER_RE

_PLACEHOLDER_BYTES = re.compile(PLACEHOLDER_RE.pattern.encode())
# Could this text still grow into a placeholder? (each step optional, in order)
_PARTIAL = re.compile(rb"\[(?:R(?:E(?:D(?:A(?:C(?:T(?:E(?:D(?::(?:[a-z0-9._-]{0,64}(?::[0-9a-f]{0,10})?)?)?)?)?)?)?)?)?)?)?\Z")


class Restorer:
    """Replaces known placeholders in bytes; unknown or mangled ones pass through unchanged."""

    def __init__(self, mapping: dict[str, str], json_escape: bool, on_restore: Callable[[int], None] = lambda n: None):
        self._mapping = {
            k.encode(): (json.dumps(v, ensure_ascii=False)[1:-1] if json_escape else v).encode("utf-8", "surrogateescape")
            for k, v in mapping.items()
        }
        self._on_restore = on_restore

    def __call__(self, data: bytes) -> bytes:
        count = 0

        def swap(m: re.Match[bytes]) -> bytes:
            nonlocal count
            original = self._mapping.get(m.group(0))
            if original is None:
                return m.group(0)
            count += 1
            return original

        out = _PLACEHOLDER_BYTES.sub(swap, data) if b"[REDACTED:" in data else data
        if count:
            self._on_restore(count)
        return out


class StreamRestorer:
    """A mitmproxy stream callable: restores placeholders in a byte stream with arbitrary chunk
    boundaries, holding back only a suffix that could still become a placeholder."""

    def __init__(self, restorer: Restorer):
        self._restore = restorer
        self._pending = b""

    def __call__(self, chunk: bytes) -> bytes:
        data = self._pending + chunk
        self._pending = b""
        if chunk:  # b"" marks the end of the stream: flush everything
            cut = data.rfind(b"[")
            if cut >= 0 and _PARTIAL.match(data, cut):
                data, self._pending = data[:cut], data[cut:]
        return self._restore(data)
