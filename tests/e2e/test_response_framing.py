"""Responses the proxy rewrites keep honest framing: the client gets exactly the bytes the headers
announce (no stale Content-Length, no Content-Encoding over a decoded body), streamed or not, for
answers and error bodies."""

from __future__ import annotations

import gzip
import json
import random
import re
import ssl
import zlib
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from support.proxy import start_proxy, stop_proxy
from support.secretgen import AN, Gen
from support.upstream import serve

PLACEHOLDER = re.compile(rb"\[REDACTED:[a-z0-9._-]+:[0-9a-f]{10}\]")


class _Handler(BaseHTTPRequestHandler):
    """/error: a JSON 400 with Content-Length (on a streaming path too); /gzip-sse and /deflate-sse:
    an Anthropic stream, compressed, echoing the placeholder the request carried."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        found = PLACEHOLDER.search(body)
        placeholder = found.group(0).decode() if found else "none"
        if "error" in self.path or "enerateContent" in self.path:
            # APIs quote the offending input in errors: the placeholder is restored, the length changes
            payload = json.dumps({"error": {"code": 400, "message": f"bad value {placeholder}", "status": "INVALID_ARGUMENT"}}).encode()
            self.send_response(400)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        events = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": "m",
                        "type": "message",
                        "role": "assistant",
                        "model": "c",
                        "content": [],
                        "stop_reason": None,
                        "usage": {"input_tokens": 1, "output_tokens": 0},
                    },
                },
            ),
            ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"token={placeholder}"}},
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_stop", {"type": "message_stop"}),
        ]
        plain = "".join(f"event: {k}\ndata: {json.dumps(v)}\n\n" for k, v in events).encode()
        encoding = "gzip" if "gzip" in self.path else "deflate"
        data = gzip.compress(plain) if encoding == "gzip" else zlib.compress(plain)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-encoding", encoding)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def site(pki):
    server = serve(_Handler, pki)
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture(scope="module")
def framing_proxy(tmp_path_factory, pki, site):
    p = start_proxy(tmp_path_factory.mktemp("framing"), pki, site)
    yield p
    stop_proxy(p)


def _token(seed: str) -> str:
    return "ghp_" + Gen(random.Random(seed)).s(AN, 36)


def _client(proxy) -> httpx.Client:
    return httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=10)


@pytest.mark.parametrize(
    "path", ["/v1beta/models/g:streamGenerateContent?alt=sse", "/v1beta/models/g:generateContent", "/v1/messages/error"]
)
def test_error_bodies_arrive_whole(framing_proxy, site, path):
    token = _token(path)
    text = f"my token is {token}"
    body = (
        {"contents": [{"role": "user", "parts": [{"text": text}]}]}
        if "models" in path
        else {"model": "c", "max_tokens": 1, "messages": [{"role": "user", "content": text}]}
    )
    with _client(framing_proxy) as client:
        resp = client.post(f"https://127.0.0.1:{site}{path}", json=body)  # a stale length would time out here
    assert resp.status_code == 400
    assert json.loads(resp.content)["error"] == {"code": 400, "message": f"bad value {token}", "status": "INVALID_ARGUMENT"}
    if "content-length" in resp.headers:
        assert int(resp.headers["content-length"]) == len(resp.content)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_stream_is_decoded_rewritten_and_announced_as_such(framing_proxy, site, encoding):
    token = _token(encoding)
    with (
        _client(framing_proxy) as client,
        client.stream(
            "POST",
            f"https://127.0.0.1:{site}/v1/messages/{encoding}-sse",
            headers={"accept-encoding": "identity"},
            json={"model": "c", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": f"my token is {token}"}]},
        ) as resp,
    ):
        raw = b"".join(resp.iter_raw())
        headers = resp.headers
    assert "content-encoding" not in headers
    assert "content-length" not in headers or int(headers["content-length"]) == len(raw)
    assert f"token={token}".encode() in raw  # decoded, and the placeholder restored
    assert b"event: message_stop" in raw
