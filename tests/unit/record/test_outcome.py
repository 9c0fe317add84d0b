"""Telling a complete stream from one cut before its protocol's terminal event."""

from __future__ import annotations

import pytest

from llm_dlp.record.outcome import StreamEnd, client_side

CHAT = b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\n'


@pytest.mark.parametrize(
    "protocol, body, incomplete",
    [
        ("openai-chat", CHAT * 3 + b"data: [DONE]\n\n", False),
        ("openai-chat", CHAT * 3, True),
        ("anthropic-messages", b'event: message_stop\ndata: {"type": "message_stop"}\n\n', False),
        ("anthropic-messages", b'event: content_block_delta\ndata: {"type": "content_block_delta"}\n\n', True),
        ("openai-responses", b'event: response.completed\ndata: {"type":"response.completed"}\n\n', False),
        ("openai-responses", b'data: {"type":"response.output_text.delta"}\n\n', True),
        ("gemini", b'data: {"candidates": [{"finishReason": "STOP"}]}\n\n', False),
        ("ollama", b'{"done": false}\n{"done": true}\n', False),
        ("ollama", b'{"done": false}\n', True),
        ("generic", b"anything", False),  # no terminal event known: not judged
    ],
)
def test_terminal_events(protocol, body, incomplete):
    seen = []
    end = StreamEnd(lambda chunk: seen.append(chunk) or chunk.upper(), protocol)
    out = b"".join(end(body[i : i + 7]) for i in range(0, len(body), 7)) + end(b"")
    assert out == body.upper() and b"".join(seen) == body and end.ended
    assert end.incomplete is incomplete


def test_a_long_stream_keeps_only_its_tail():
    end = StreamEnd(True, "openai-chat")
    for _ in range(10_000):
        assert end(CHAT) == CHAT
    end(b"data: [DONE]\n\n")
    assert not end.incomplete


def test_client_side_errors():
    assert client_side("Client disconnected.") and not client_side("Server disconnected.") and not client_side("peer closed connection")
