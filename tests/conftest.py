"""Shared fixtures: a test PKI, a fake LLM upstream over real TLS on loopback, and the real
``llm-dlp run`` in a subprocess pointed at it."""

from __future__ import annotations

import datetime
import gzip
import ipaddress
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
LLM_DLP = Path(sys.executable).parent / "llm-dlp"


# ---- PKI ----------------------------------------------------------------------------------------
def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, issuer, key, signer, *, ca: bool, sans=()):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
    )
    if ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return b.sign(signer, hashes.SHA256())


@dataclass
class PKI:
    ca_file: Path
    cert_file: Path
    key_file: Path


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


def make_pki(d: Path, names: tuple[str, ...] = ()) -> PKI:
    """A test CA and one server certificate for localhost, 127.0.0.1 and ``names``."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(_name("llm-dlp test upstream CA"), _name("llm-dlp test upstream CA"), ca_key, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")), *map(x509.DNSName, names)]
    cert = _cert(_name("localhost"), ca.subject, key, ca_key, ca=False, sans=sans)
    pki = PKI(d / "ca.pem", d / "server.pem", d / "server.key")
    pki.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return pki


# ---- fake LLM upstream --------------------------------------------------------------------------
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
    received: list[Received] = field(default_factory=list)
    stream_delay: float = 0.05
    stream_finished_at: float = 0.0
    sent_times: list[float] = field(default_factory=list)  # when each event of the last stream went out

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

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
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.upstream.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        plain = gzip.decompress(body) if self.headers.get("content-encoding") == "gzip" else body
        try:
            doc = json.loads(plain)
        except ValueError:
            return self._send(400, b'{"error": {"message": "bad json"}}', "application/json")
        said = _last_user_text(doc)
        # "REVERSE:<text>" makes the fake model write text the request never contained
        echo = "You said: " + (said[len("REVERSE:"):][::-1] if said.startswith("REVERSE:") else said)
        if self.headers.get("x-fake-reply") == "short":  # benchmarks: a small answer to a big prompt
            echo = "ok"
        path = self.path.split("?")[0]
        if doc.get("stream") or "streamGenerateContent" in path:
            return self._stream(path, doc, echo)
        if path.endswith("/messages"):
            out = {"id": "msg_1", "type": "message", "role": "assistant", "model": doc.get("model"), "content": [{"type": "text", "text": echo}],
                   "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}
        elif path.endswith("/responses"):
            out = {"id": "resp_1", "object": "response", "created_at": 1, "model": doc.get("model"), "status": "completed",
                   "output": [{"type": "message", "id": "m1", "role": "assistant", "status": "completed",
                               "content": [{"type": "output_text", "text": echo, "annotations": []}]}],
                   "parallel_tool_calls": True, "tool_choice": "auto", "tools": []}
        elif ":generateContent" in path:
            out = {"candidates": [{"content": {"role": "model", "parts": [{"text": echo}]}, "finishReason": "STOP"}], "modelVersion": "gemini-test"}
        else:
            out = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": doc.get("model"),
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": echo}, "finish_reason": "stop"}]}
        self._send(200, json.dumps(out).encode(), "application/json")

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
            events.append(sse("message_start", {"type": "message_start", "message": {
                "id": "msg_1", "type": "message", "role": "assistant", "model": doc.get("model"), "content": [],
                "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 0}}}))
            events.append(sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))
        events += [self._text_event(anthropic, doc, echo[i : i + 7]) for i in range(0, len(echo), 7)]
        if anthropic:
            events.append(sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
        if doc.get("tools"):
            if anthropic:
                events.append(sse("content_block_start", {"type": "content_block_start", "index": 1,
                                                          "content_block": {"type": "tool_use", "id": "toolu_1", "name": "write_file", "input": {}}}))
            events += [self._args_event(anthropic, doc, args[i : i + 5], i == 0) for i in range(0, len(args), 5)]
            if anthropic:
                events.append(sse("content_block_stop", {"type": "content_block_stop", "index": 1}))
        if anthropic:
            events.append(sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 5}}))
            events.append(sse("message_stop", {"type": "message_stop"}))
        else:
            events.append("data: [DONE]\n\n")
        self.upstream.sent_times = []
        for i, data in enumerate(events):
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
        ev = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": doc.get("model"),
              "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        return f"data: {json.dumps(ev)}\n\n"

    @staticmethod
    def _args_event(anthropic, doc, piece, first):
        if anthropic:
            ev = {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": piece}}
            return f"event: content_block_delta\ndata: {json.dumps(ev)}\n\n"
        call = {"index": 0, "function": {"arguments": piece}}
        if first:
            call.update(id="call_1", type="function", function={"name": "write_file", "arguments": piece})
        ev = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": doc.get("model"),
              "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]}
        return f"data: {json.dumps(ev)}\n\n"

    def _chunk(self, data: bytes):
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def serve_upstream(pki: PKI, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, Upstream]:
    upstream = Upstream(0)
    handler = type("Handler", (_Handler,), {"upstream": upstream})
    server = ThreadingHTTPServer((host, port), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.cert_file, pki.key_file)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    upstream.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, upstream


@pytest.fixture(scope="session")
def upstream(pki):
    server, up = serve_upstream(pki)
    yield up
    server.shutdown()


@pytest.fixture(scope="session")
def other_site(pki):
    """A TLS site that is not in the catalog."""
    server, up = serve_upstream(pki)
    yield up
    server.shutdown()


def wait_for(check, what: str, timeout: float = 30):
    """Poll ``check`` until it returns something true, and return that."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# ---- the proxy ----------------------------------------------------------------------------------
@dataclass
class Proxy:
    port: int
    metrics_port: int
    confdir: Path
    rules: Path
    audit: Path
    log: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ca(self) -> Path:
        return self.confdir / "mitmproxy-ca-cert.pem"

    def records(self, event: str = "request") -> list[dict]:
        lines = self.audit.read_text().splitlines() if self.audit.exists() else []
        return [r for r in map(json.loads, lines) if r["event"] == event]

    def wait_for_record(self, request_count: int, timeout: float = 10) -> dict:
        return wait_for(lambda: self.records()[request_count - 1 : request_count], f"audit record #{request_count}", timeout)[0]

    def metrics(self) -> str:
        return urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()


TEST_RULES = """
version: 1
endpoints:
  - id: test-openai
    hosts: ["127.0.0.1"]
    ports: [{port}]
    path_prefixes: [/v1/chat, /v1/responses, /v1/completions, /v1/engines]
    protocol: openai
  - id: test-anthropic
    hosts: ["127.0.0.1"]
    ports: [{port}]
    path_prefixes: [/v1/messages]
    protocol: anthropic
  - id: test-gemini
    hosts: ["127.0.0.1"]
    ports: [{port}]
    path_prefixes: [/v1beta/]
    protocol: gemini
secrets:
  - id: test-block-marker
    description: A marker that tests use to trigger a block.
    kind: test
    action: block
    patterns: ['BLOCKME-[0-9a-f]{{16}}']
  - id: test-warn-marker
    description: A marker that tests use to trigger a warning.
    kind: test
    action: warn
    patterns: ['WARNME-[0-9a-f]{{16}}']
"""


def start_proxy(tmp: Path, pki: PKI, upstream_port: int, extra_args=(), files: dict[str, str | bytes] | None = None) -> Proxy:
    """``files``: more files for the rules directory (a policy, an htpasswd file...); a file
    named like a bundled one replaces it."""
    rules = tmp / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "zz-test.yaml").write_text(TEST_RULES.format(port=upstream_port))
    for name, content in (files or {}).items():
        (rules / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    log = tmp / "proxy.log"
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy", "http_proxy", "all_proxy", "no_proxy")}
    env["LLM_DLP_PLACEHOLDER_KEY"] = "test-placeholder-key-0123456789"
    cmd = [str(LLM_DLP), "run", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--rules", str(rules),
           "--audit-log", str(tmp / "audit.jsonl"), "--confdir", str(tmp / "conf"), "--upstream-ca", str(pki.ca_file), *extra_args]
    proc = subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        text = log.read_text(errors="replace")
        port = re.search(r"proxy listening at .*?:(\d+)", text)
        metrics = re.search(r"metrics at http://[^:]+:(\d+)/metrics", text)
        if port and metrics and (tmp / "conf" / "mitmproxy-ca-cert.pem").exists():
            return Proxy(int(port.group(1)), int(metrics.group(1)), tmp / "conf", rules, tmp / "audit.jsonl", log, proc)
        if proc.poll() is not None:
            raise RuntimeError(f"llm-dlp run exited:\n{text}")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"llm-dlp run did not start:\n{log.read_text()}")


def stop_proxy(proxy: Proxy) -> None:
    proxy.process.terminate()
    try:
        proxy.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proxy.process.kill()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, pki, upstream):
    p = start_proxy(tmp_path_factory.mktemp("proxy"), pki, upstream.port)
    yield p
    stop_proxy(p)


@pytest.fixture
def proxy_env(monkeypatch, proxy):
    """Point clients at the proxy the usual way: HTTPS_PROXY, nothing bypassed."""
    for var in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("https_proxy", proxy.url)
    return proxy
