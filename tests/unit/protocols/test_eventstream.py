"""The AWS event-stream framing: messages read across any chunk boundary, every header value type,
both CRCs verified (a bad stream is ended, never passed on), and rewritten payloads re-encoded into
messages that botocore's own parser accepts."""

from __future__ import annotations

import base64
import json
import struct
import uuid

import pytest
from botocore.eventstream import EventStreamBuffer

from llm_dlp.inspect.stream import StreamRewriter
from llm_dlp.protocols.framing import BedrockChunkFraming, EventStreamFraming, encode_message, string_headers
from llm_dlp.protocols.registry import REGISTRY

EVENT = {":message-type": "event", ":content-type": "application/json"}
UID = uuid.UUID("12345678-1234-5678-1234-567812345678")


def typed_headers() -> bytes:
    """One header of every value type of the spec, encoded by hand."""

    def header(name: str, kind: int, value: bytes) -> bytes:
        return bytes([len(name)]) + name.encode() + bytes([kind]) + value

    return b"".join(
        [
            header("t", 0, b""),
            header("f", 1, b""),
            header("b", 2, struct.pack(">b", -5)),
            header("s", 3, struct.pack(">h", -300)),
            header("i", 4, struct.pack(">i", 70000)),
            header("l", 5, struct.pack(">q", 2**40)),
            header("a", 6, struct.pack(">H", 3) + b"\x00\x01\x02"),
            header(":event-type", 7, struct.pack(">H", 5) + b"delta"),
            header("ts", 8, struct.pack(">q", 1700000000000)),
            header("u", 9, UID.bytes),
        ]
    )


def botocore_messages(data: bytes) -> list:
    buf = EventStreamBuffer()
    buf.add_data(data)
    return list(buf)


def event(event_type: str, payload: dict) -> bytes:
    return encode_message(string_headers({**EVENT, ":event-type": event_type}), json.dumps(payload).encode())


def converse_delta(text: str, index: int = 0) -> bytes:
    return event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": text}, "p": "abcdef"})


def test_every_header_value_type_is_read_like_botocore_reads_it():
    raw = encode_message(typed_headers(), b'{"x":1}')
    framing = EventStreamFraming()
    [(prefix, body, suffix)] = framing.feed(raw)
    assert body == b'{"x":1}' and framing.failure is None
    assert framing.wrap(prefix, body, suffix) == raw  # an untouched event is byte for byte the same
    [message] = botocore_messages(raw)
    assert message.headers == {
        "t": True,
        "f": False,
        "b": -5,
        "s": -300,
        "i": 70000,
        "l": 2**40,
        "a": b"\x00\x01\x02",
        ":event-type": "delta",
        "ts": 1700000000000,
        "u": UID.bytes,
    }


def test_messages_are_read_whatever_the_chunk_boundaries():
    stream = b"".join(
        [
            converse_delta("Hello "),
            event("metadata", {"usage": {"inputTokens": 1}}),
            encode_message(string_headers(EVENT), b""),
            converse_delta("world"),
        ]
    )
    whole = [e for e in EventStreamFraming().feed(stream)]
    for cut in range(1, len(stream)):
        framing = EventStreamFraming()
        assert framing.feed(stream[:cut]) + framing.feed(stream[cut:]) == whole, cut
        assert framing.failure is None
    framing = EventStreamFraming()
    assert [e for i in range(len(stream)) for e in framing.feed(stream[i : i + 1])] == whole  # byte by byte
    assert len(whole) == 4 and whole[2][1] is None  # the empty payload passes as the message itself


@pytest.mark.parametrize("damage", ["prelude_crc", "message_crc", "headers_length", "unknown_type", "truncated"])
def test_a_damaged_stream_is_ended_with_a_refusal_and_nothing_unread_passes(damage):
    good = converse_delta("fine ")
    bad = bytearray(converse_delta("SECRET-ISH-TEXT"))
    if damage == "prelude_crc":
        bad[9] ^= 1
    elif damage == "message_crc":
        bad[-6] ^= 1  # a payload byte: the message CRC no longer matches
    elif damage == "headers_length":
        bad[4:8] = struct.pack(">I", 200 * 1024)
        bad[8:12] = struct.pack(">I", __import__("zlib").crc32(bytes(bad[:8])))
    elif damage == "unknown_type":
        bad = bytearray(encode_message(bytes([1]) + b"x" + bytes([42]) + b"zz", b'{"delta":{"text":"SECRET-ISH-TEXT"}}'))
    elif damage == "truncated":
        bad = bad[:-3]
    anomalies: list[str] = []
    rw = StreamRewriter(
        EventStreamFraming(), REGISTRY.get("bedrock-converse").deltas, lambda text, ctx, is_json: text, on_anomaly=anomalies.append
    )
    after = b"" if damage == "truncated" else good  # a message cut short by the end of the stream
    out = rw(good + bytes(bad)) + rw(after) + rw(b"")
    assert b"SECRET-ISH-TEXT" not in out
    kinds = {
        "prelude_crc": "bad_prelude_crc",
        "message_crc": "bad_message_crc",
        "headers_length": "oversized_message",
        "unknown_type": "unknown_header_type",
        "truncated": "truncated_event",
    }
    assert anomalies == [kinds[damage]]
    messages = botocore_messages(out)  # still a valid stream, ending in an exception the SDK raises
    assert json.loads(messages[0].payload)["delta"]["text"] == "fine "
    assert messages[-1].headers[":message-type"] == "exception" and b"llm-dlp" in messages[-1].payload
    assert len(messages) == 2


@pytest.mark.parametrize("replacement", ["", "x", "a much longer text than the original one, by far" * 20])
def test_a_rewritten_payload_is_re_encoded_into_a_message_botocore_accepts(replacement):
    framing = EventStreamFraming()
    [(prefix, body, suffix)] = framing.feed(converse_delta("original"))
    doc = json.loads(body)
    doc["delta"]["text"] = replacement
    [message] = botocore_messages(framing.wrap(prefix, json.dumps(doc).encode(), suffix))
    assert json.loads(message.payload)["delta"]["text"] == replacement
    assert message.headers[":event-type"] == "contentBlockDelta"


def chunk(inner: dict) -> bytes:
    payload = {"bytes": base64.b64encode(json.dumps(inner).encode()).decode(), "p": "abcdefghij"}
    return event("chunk", payload)


def test_bedrock_chunks_yield_the_models_own_event_and_wrap_encodes_it_back():
    inner = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}}
    framing = BedrockChunkFraming()
    [(prefix, body, suffix)] = framing.feed(chunk(inner))
    assert json.loads(body) == inner
    inner["delta"]["text"] = "a longer rewritten text"
    [message] = botocore_messages(framing.wrap(prefix, json.dumps(inner).encode(), suffix))
    outer = json.loads(message.payload)
    assert json.loads(base64.b64decode(outer["bytes"])) == inner and outer["p"] == "abcdefghij"
    assert message.headers[":event-type"] == "chunk"


def test_a_chunk_that_is_not_base64_json_ends_the_stream():
    framing = BedrockChunkFraming()
    assert framing.feed(event("chunk", {"bytes": "not base64!"})) == [] and framing.failure == "malformed_event"


def test_a_rewriter_failure_on_a_fail_closed_stream_sends_the_refusal_not_the_raw_bytes():
    rw = StreamRewriter(EventStreamFraming(), lambda doc: [], lambda text, ctx, is_json: text)
    rw(converse_delta("held")[:10])
    assert rw.fails_closed
    [message] = botocore_messages(rw.salvage())
    assert message.headers[":message-type"] == "exception"
    assert rw(converse_delta("after")) == b""
