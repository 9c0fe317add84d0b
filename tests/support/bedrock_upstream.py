"""A fake Amazon Bedrock runtime for end-to-end tests: Converse / ConverseStream and InvokeModel /
InvokeModelWithResponseStream (Claude bodies), echoing the last user text; streams are AWS
event-stream frames written by tests/support/eventstream.py, in 7-character deltas."""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from support import eventstream
from support.pki import PKI
from support.upstream import Received, Upstream


def _last_text(doc: dict) -> str:
    content = doc["messages"][-1]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content if isinstance(b, dict))


def _pieces(text: str) -> list[str]:
    return [text[i : i + 7] for i in range(0, len(text), 7)]


def converse_frames(text: str) -> list[bytes]:
    frames = [eventstream.event("messageStart", {"role": "assistant", "p": "abcd"})]
    frames += [
        eventstream.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": p}, "p": "abcdefgh"}) for p in _pieces(text)
    ]
    return [
        *frames,
        eventstream.event("contentBlockStop", {"contentBlockIndex": 0}),
        eventstream.event("messageStop", {"stopReason": "end_turn"}),
        eventstream.event("metadata", {"usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}, "metrics": {"latencyMs": 1}}),
    ]


def invoke_frames(text: str) -> list[bytes]:
    events = [
        {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": "claude-x"}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}} for p in _pieces(text)]
    events += [{"type": "content_block_stop", "index": 0}, {"type": "message_stop"}]
    return [eventstream.chunk(e) for e in events]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream: Upstream

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.upstream.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        doc = json.loads(body)
        echo = "You said: " + _last_text(doc)
        if self.path.endswith("/converse-stream"):
            return self._stream(converse_frames(echo))
        if self.path.endswith("/invoke-with-response-stream"):
            return self._stream(invoke_frames(echo))
        if self.path.endswith("/converse"):
            out = {
                "output": {"message": {"role": "assistant", "content": [{"text": echo}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
                "metrics": {"latencyMs": 1},
            }
        else:
            out = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "content": [{"type": "text", "text": echo}]}
        payload = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, frames: list[bytes]) -> None:
        if self.headers.get("x-fake-corrupt"):  # a flipped byte in the third frame's payload: its CRC fails
            third = bytearray(frames[2])
            third[-6] ^= 0x20
            frames[2] = bytes(third)
        self.send_response(200)
        self.send_header("content-type", eventstream.CONTENT_TYPE)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        data = b"".join(frames)
        for i in range(0, len(data), 50):  # chunk boundaries inside frames
            piece = data[i : i + 50]
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def serve_bedrock(pki: PKI) -> tuple[ThreadingHTTPServer, Upstream]:
    upstream = Upstream(0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), {"upstream": upstream}))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.cert_file, pki.key_file)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    upstream.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, upstream
