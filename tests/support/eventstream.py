"""AWS event-stream frames for tests: written here independently of the proxy's framing, and read
back with botocore's own parser (botocore.eventstream.EventStreamBuffer), as AWS SDK clients do."""

from __future__ import annotations

import base64
import json
import struct
import zlib

from botocore.eventstream import EventStreamBuffer

CONTENT_TYPE = "application/vnd.amazon.eventstream"


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    raw = b"".join(bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v.encode())) + v.encode() for k, v in headers.items())
    prelude = struct.pack(">II", 16 + len(raw) + len(payload), len(raw))
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + raw + payload
    return head + struct.pack(">I", zlib.crc32(head))


def event(event_type: str, doc: dict) -> bytes:
    return frame({":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}, json.dumps(doc).encode())


def chunk(doc: dict) -> bytes:
    """An InvokeModelWithResponseStream chunk: the model's event, base64-encoded, with Bedrock's padding."""
    return event("chunk", {"bytes": base64.b64encode(json.dumps(doc).encode()).decode(), "p": "abcdefghijklmnop"})


def messages(data: bytes) -> list:
    """The messages botocore reads from a stream (it raises on a bad length or CRC)."""
    buf = EventStreamBuffer()
    buf.add_data(data)
    return list(buf)


def payloads(data: bytes) -> list[dict]:
    """The JSON a client gets from each event (a chunk's inner event decoded)."""
    out = []
    for m in messages(data):
        doc = json.loads(m.payload) if m.payload else {}
        if m.headers.get(":event-type") == "chunk":
            doc = json.loads(base64.b64decode(doc["bytes"]))
        out.append(doc)
    return out


def client_text(data: bytes) -> str:
    """Everything the client reads from the stream, as text (for the conformance test's checks)."""
    return "\n".join(json.dumps(doc, ensure_ascii=False) for doc in payloads(data))
