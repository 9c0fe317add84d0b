"""The tests' fake LLM upstream: a TLS (or plain HTTP) server that records requests and answers like each API."""

from __future__ import annotations

import gzip
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from support.pki import PKI


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Upstream:
    port: int
    scheme: str = "https"
    received: list[Received] = field(default_factory=list)
    stream_delay: float = 0.05
    hold_end: threading.Event | None = None  # when set, streams wait for it before their last event
    stream_finished_at: float = 0.0
    sent_times: list[float] = field(default_factory=list)  # when each event of the last stream went out
    canned: tuple[dict, bytes] | None = None  # (headers, body): the next answer, whatever was asked (then cleared)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def last(self) -> Received:
        return self.received[-1]


def _last_user_text(doc: dict) -> str:
    """The text a fake model echoes back: the last user message, whatever the API."""
    if "prompt" in doc:
        return doc["prompt"] if isinstance(doc["prompt"], str) else doc["prompt"][0]
    if "contents" in doc or "request" in doc:
        contents = (doc.get("request") or doc)["contents"]
        return "".join(p.get("text", "") or json.dumps(p.get("functionResponse", "")) for p in contents[-1]["parts"])
    if "input" in doc and "messages" not in doc:
        inp = doc["input"]
        if isinstance(inp, str):
            return inp
        last = inp[-1]
        if isinstance(last.get("content"), list):
            return "".join(c.get("text", "") for c in last["content"])
        return last.get("content") or last.get("output") or last.get("arguments") or ""
    content = doc["messages"][-1]["content"]
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") if b.get("type") != "tool_result" else str(b.get("content")) for b in content if isinstance(b, dict))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # otherwise delayed ACKs add ~40 ms to direct requests
    upstream: Upstream

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._send(200, b"plain upstream says hello", "text/plain")

    def do_POST(self):
        body = (
            self._read_chunked()
            if "chunked" in self.headers.get("transfer-encoding", "")
            else self.rfile.read(int(self.headers.get("content-length", 0)))
        )
        self.upstream.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if self.upstream.canned:
            (headers, payload), self.upstream.canned = self.upstream.canned, None
            return self._send_canned(headers, payload)
        plain = gzip.decompress(body) if self.headers.get("content-encoding") == "gzip" else body
        try:
            doc = json.loads(plain)
        except ValueError:
            return self._send(400, b'{"error": {"message": "bad json"}}', "application/json")
        said = _last_user_text(doc)
        # "REVERSE:<text>" makes the fake model write text the request never contained
        echo = "You said: " + (said[len("REVERSE:") :][::-1] if said.startswith("REVERSE:") else said)
        if self.headers.get("x-fake-reply") == "short":  # benchmarks: a small answer to a big prompt
            echo = "ok"
        path = self.path.split("?")[0]
        if doc.get("stream") or "streamGenerateContent" in path:
            return self._stream(path, doc, echo)
        if path.endswith("/messages"):
            out = {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": doc.get("model"),
                "content": [{"type": "text", "text": echo}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 1, "output_tokens": 1},
            }
        elif path.endswith("/responses"):
            out = {
                "id": "resp_1",
                "object": "response",
                "created_at": 1,
                "model": doc.get("model"),
                "status": "completed",
                "output": [
                    {
                        "type": "message",
                        "id": "m1",
                        "role": "assistant",
                        "status": "completed",
                        "content": [{"type": "output_text", "text": echo, "annotations": []}],
                    }
                ],
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
            }
        elif ":generateContent" in path:
            out = {
                "candidates": [{"content": {"role": "model", "parts": [{"text": echo}]}, "finishReason": "STOP"}],
                "modelVersion": "gemini-test",
            }
        else:
            out = {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": doc.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": echo}, "finish_reason": "stop"}],
            }
        self._send(200, json.dumps(out).encode(), "application/json")

    def _read_chunked(self) -> bytes:
        body = b""
        while size := int(self.rfile.readline().split(b";")[0], 16):
            body += self.rfile.read(size)
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
            pass
        return body

    def _send_canned(self, headers: dict, payload: bytes):
        """Chunked, as providers stream: 100-byte chunks, then the end."""
        self.send_response(200)
        for name, value in {**headers, "transfer-encoding": "chunked"}.items():
            self.send_header(name, value)
        self.end_headers()
        for i in range(0, len(payload), 100):
            self._chunk(payload[i : i + 100])
        self.wfile.write(b"0\r\n\r\n")

    def _send(self, status, payload, ctype):
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, path, doc, echo):
        """Streams the echo in 7-character events; with tools, also a tool call whose JSON
        arguments carry the echo, in 5-character fragments."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        anthropic = path.endswith("/messages")
        args = json.dumps({"file_path": "notes.txt", "content": echo})

        def sse(kind, ev):  # an Anthropic event
            return f"event: {kind}\ndata: {json.dumps(ev)}\n\n"

        events = []
        if anthropic:
            events.append(
                sse(
                    "message_start",
                    {
                        "type": "message_start",
                        "message": {
                            "id": "msg_1",
                            "type": "message",
                            "role": "assistant",
                            "model": doc.get("model"),
                            "content": [],
                            "stop_reason": None,
                            "stop_sequence": None,
                            "usage": {"input_tokens": 1, "output_tokens": 0},
                        },
                    },
                )
            )
            events.append(
                sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
            )
        events += [self._text_event(anthropic, doc, echo[i : i + 7]) for i in range(0, len(echo), 7)]
        if anthropic:
            events.append(sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
        if doc.get("tools"):
            if anthropic:
                events.append(
                    sse(
                        "content_block_start",
                        {
                            "type": "content_block_start",
                            "index": 1,
                            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "write_file", "input": {}},
                        },
                    )
                )
            events += [self._args_event(anthropic, doc, args[i : i + 5], i == 0) for i in range(0, len(args), 5)]
            if anthropic:
                events.append(sse("content_block_stop", {"type": "content_block_stop", "index": 1}))
        if anthropic:
            events.append(
                sse(
                    "message_delta",
                    {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 5}},
                )
            )
            events.append(sse("message_stop", {"type": "message_stop"}))
        else:
            events.append("data: [DONE]\n\n")
        self.upstream.sent_times = []
        for i, data in enumerate(events):
            if i == len(events) - 1 and self.upstream.hold_end is not None:
                self.upstream.hold_end.wait(60)  # a test keeps the stream open until it has done its part
            self.upstream.sent_times.append(time.monotonic())
            if i == len(events) - 1:  # set before the client can see the end of the stream
                self.upstream.stream_finished_at = time.monotonic()
            self._chunk(data.encode())
            time.sleep(self.upstream.stream_delay)
        self.wfile.write(b"0\r\n\r\n")

    @staticmethod
    def _text_event(anthropic, doc, piece):
        if anthropic:
            ev = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
            return f"event: content_block_delta\ndata: {json.dumps(ev)}\n\n"
        ev = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": doc.get("model"),
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
        }
        return f"data: {json.dumps(ev)}\n\n"

    @staticmethod
    def _args_event(anthropic, doc, piece, first):
        if anthropic:
            ev = {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": piece}}
            return f"event: content_block_delta\ndata: {json.dumps(ev)}\n\n"
        call = {"index": 0, "function": {"arguments": piece}}
        if first:
            call.update(id="call_1", type="function", function={"name": "write_file", "arguments": piece})
        ev = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": doc.get("model"),
            "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}],
        }
        return f"data: {json.dumps(ev)}\n\n"

    def _chunk(self, data: bytes):
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def serve(handler: type[BaseHTTPRequestHandler], pki: PKI | None, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server for ``handler`` in a background thread, with TLS from ``pki`` unless None."""
    server = ThreadingHTTPServer((host, port), handler)
    if pki is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.cert_file, pki.key_file)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve_upstream(pki: PKI, host: str = "127.0.0.1", port: int = 0, tls: bool = True) -> tuple[ThreadingHTTPServer, Upstream]:
    upstream = Upstream(0, "https" if tls else "http")
    server = serve(type("Handler", (_Handler,), {"upstream": upstream}), pki if tls else None, host, port)
    upstream.port = server.server_address[1]
    return server, upstream
