"""How an exchange really ended, for its audit record: a stream that stopped before its
protocol's terminal event, an upstream failure after the response headers, a client that went
away. Pure: the proxy passes streamed bytes and mitmproxy's error message."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

StreamFunction = Callable[[bytes], Iterable[bytes] | bytes]  # mitmproxy's flow.response.stream

# The event that ends a complete stream, by protocol (registry names). A protocol not listed has
# no such event (plain NDJSON of unknown shape): its streams are not judged.
_TERMINAL = {
    "openai-chat": re.compile(rb"data:\s*\[DONE\]"),
    "openai-completions": re.compile(rb"data:\s*\[DONE\]"),
    "openai-responses": re.compile(rb'"type"\s*:\s*"response\.(completed|incomplete|failed)"'),
    "anthropic-messages": re.compile(rb'"type"\s*:\s*"message_stop"'),
    "gemini": re.compile(rb'"finishReason"\s*:'),
    "ollama": re.compile(rb'"done"\s*:\s*true'),
}
_TAIL = 4096  # terminal events are small and last: only the end of a stream is kept


class StreamEnd:
    """A mitmproxy stream callable around another (or ``True``: passed through as is) that keeps
    the last bytes from upstream, to tell afterwards whether the stream was complete."""

    def __init__(self, inner: StreamFunction | bool, protocol: str):
        self._inner = inner
        self._terminal = _TERMINAL.get(protocol)
        self._tail = b""
        self.ended = False  # mitmproxy passed the end of the stream (b"")

    def __call__(self, chunk: bytes) -> Iterable[bytes] | bytes:
        self._tail = (self._tail + chunk)[-_TAIL:]
        self.ended = self.ended or not chunk
        return self._inner(chunk) if callable(self._inner) else chunk

    @property
    def incomplete(self) -> bool:
        """The stream stopped (cleanly or not) before its protocol's terminal event."""
        return self._terminal is not None and not self._terminal.search(self._tail)


def client_side(error: str) -> bool:
    """mitmproxy's message for an exchange the client broke off (HTTP/1: "Client disconnected.")."""
    return "client" in error.lower()
