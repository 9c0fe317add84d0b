"""End to end: the destination decides, not the Host header; plain HTTP to catalogued hosts;
hostname forms; uninspectable services. Real proxy, real clients (curl, raw sockets with ssl,
httpx over HTTP/2), all traffic on loopback."""

from __future__ import annotations

import http.client
import json
import secrets as pysecrets
import socket
import ssl
import subprocess

import h2.config
import h2.connection
import h2.events
import pytest

from support.proxy import start_proxy, stop_proxy, wait_for
from support.upstream import serve_upstream

GITHUB_TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

# 'localhost' stands for a catalogued name (the tests have no DNS): one TLS endpoint on the
# fake upstream's port, one plain-HTTP endpoint on the plain upstream's port
NAMED_RULES = """
endpoints:
  - id: test-named
    hosts: [localhost]
    ports: [{tls_port}]
    protocol: openai
  - id: test-plain
    hosts: [localhost]
    ports: [{plain_port}]
    plain_http: true
    protocol: openai
"""


def github_token() -> str:
    return "ghp_" + "".join(pysecrets.choice(GITHUB_TOKEN_CHARS) for _ in range(35)) + "7"


@pytest.fixture(scope="module")
def plain_upstream(pki):
    server, up = serve_upstream(pki, tls=False)
    yield up
    server.shutdown()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, pki, upstream, plain_upstream):
    # lazy: the proxy talks to the client (TLS, ALPN h2) before it connects upstream, so refused
    # requests to names that do not resolve here never need an upstream
    p = start_proxy(
        tmp_path_factory.mktemp("proxy"),
        pki,
        upstream.port,
        ["--set", "connection_strategy=lazy"],
        files={"zz-named.yaml": NAMED_RULES.format(tls_port=upstream.port, plain_port=plain_upstream.port)},
    )
    yield p
    stop_proxy(p)


def records_after(proxy, mark: int, count: int, event: str = "request") -> list[dict]:
    return wait_for(lambda: (r := proxy.records(event)[mark:]) and len(r) >= count and r, f"{count} {event} records")


class _Stream:
    """Lets http.client read several responses from one buffered stream (pipelining): it would
    close the stream after the first body."""

    def __init__(self, f):
        self.f = f
        self.readline, self.read, self.readinto = f.readline, f.read, f.readinto

    def makefile(self, *args, **kwargs):
        return self

    def close(self):
        pass

    def flush(self):
        pass


def read_response(f) -> tuple[int, dict, bytes]:
    r = http.client.HTTPResponse(_Stream(f))
    r.begin()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()


def tunnel(proxy, target: str, sni: str | None, alpn: list[str] | None = None) -> ssl.SSLSocket:
    """CONNECT ``target`` through the proxy, then TLS trusting only the proxy's CA: a handshake
    that succeeds proves the proxy decrypted the tunnel."""
    raw = socket.create_connection(("127.0.0.1", proxy.port), timeout=20)
    raw.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += raw.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200"), reply
    ctx = ssl.create_default_context(cafile=str(proxy.ca))
    ctx.check_hostname = False  # the names here are odd on purpose; trust in the CA is what counts
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx.wrap_socket(raw, server_hostname=sni)


def post(path: str, host: str, doc: dict) -> bytes:
    body = json.dumps(doc).encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def chat(text: str) -> dict:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": text}]}


def test_host_naming_another_site_inside_a_catalogued_tunnel_is_refused_421_also_when_pipelined(proxy, upstream):
    mark, seen = len(proxy.records()), len(upstream.received)
    first, second = github_token(), github_token()
    with tunnel(proxy, f"127.0.0.1:{upstream.port}", None) as s:
        s.sendall(
            post("/v1/chat/completions", f"127.0.0.1:{upstream.port}", chat(first))
            + post("/v1/chat/completions", "evil.example", chat(second))
        )
        f = s.makefile("rb")
        status1, _, _ = read_response(f)
        status2, headers2, body2 = read_response(f)
    assert status1 == 200 and status2 == 421
    assert headers2["x-llm-dlp"] == "llm_dlp_misdirected_request" and "another site" in json.loads(body2)["error"]["message"]
    forwarded = [r.body.decode() for r in upstream.received[seen:]]
    assert len(forwarded) == 1 and first not in forwarded[0] and "[REDACTED:github-token:" in forwarded[0]
    assert second not in "".join(forwarded)
    recs = {r["decision"] + ":" + str(r["reason"]): r for r in records_after(proxy, mark, 2)}
    assert set(recs) == {"redact:None", "refuse:misdirected_request"}
    misdirected = recs["refuse:misdirected_request"]
    assert misdirected["status"] == 421 and misdirected["endpoint"] == "test-openai" and misdirected["host"] == "127.0.0.1"


@pytest.mark.parametrize("host", ["203.0.113.9", "api.openai.com"])
def test_host_that_is_an_address_or_another_ai_service_is_misdirected(proxy, upstream, host):
    seen = len(upstream.received)
    with tunnel(proxy, f"127.0.0.1:{upstream.port}", None) as s:
        s.sendall(post("/v1/chat/completions", host, chat(github_token())))
        status, _, _ = read_response(s.makefile("rb"))
    assert status == 421 and len(upstream.received) == seen


class H2Client:
    """HTTP/2 over a CONNECT tunnel with the h2 package (httpx offers "http/1.1" first in ALPN,
    which mitmproxy then picks; an h2-only httpx would speak HTTP/2 to the proxy itself)."""

    def __init__(self, sock: ssl.SSLSocket):
        assert sock.selected_alpn_protocol() == "h2"
        self.sock, self.conn = sock, h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())

    def post(self, authority: str, path: str, doc: dict | bytes, content_type: str = "application/json") -> tuple[int, bytes]:
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(
            sid,
            [
                (":method", "POST"),
                (":scheme", "https"),
                (":authority", authority),
                (":path", path),
                ("content-type", content_type),
                ("content-length", str(len(body))),
            ],
        )
        self.conn.send_data(sid, body, end_stream=True)
        self.sock.sendall(self.conn.data_to_send())
        status, data = None, b""
        while True:
            for event in self.conn.receive_data(self.sock.recv(65536)):
                if isinstance(event, h2.events.ResponseReceived) and event.stream_id == sid:
                    status = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.DataReceived):
                    self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    data += event.data if event.stream_id == sid else b""
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id == sid:
                    self.sock.sendall(self.conn.data_to_send())
                    return status, data
            self.sock.sendall(self.conn.data_to_send())


def test_http2_authority_naming_another_site_is_misdirected(proxy, upstream):
    mark, seen = len(proxy.records()), len(upstream.received)
    token = github_token()
    with tunnel(proxy, f"127.0.0.1:{upstream.port}", None, alpn=["h2"]) as s:
        client = H2Client(s)
        ok = client.post(f"127.0.0.1:{upstream.port}", "/v1/chat/completions", chat(token))
        refused = client.post("evil.example", "/v1/chat/completions", chat(token))  # a second stream on the same connection
    assert ok[0] == 200 and token in ok[1].decode()  # restored for the developer
    assert refused[0] == 421 and "another site" in json.loads(refused[1])["error"]["message"]
    assert len(upstream.received) == seen + 1 and token not in upstream.last().body.decode()
    assert {r["reason"] for r in records_after(proxy, mark, 2)} == {None, "misdirected_request"}


def test_grpc_to_an_ai_endpoint_is_refused_with_an_explanation(proxy, upstream):
    mark, seen = len(proxy.records()), len(upstream.received)
    token = github_token().encode()
    message = b"\x0a" + bytes([len(token)]) + token  # a protobuf string field, in a gRPC length-prefixed frame
    with tunnel(proxy, f"127.0.0.1:{upstream.port}", None, alpn=["h2"]) as s:
        status, body = H2Client(s).post(
            f"127.0.0.1:{upstream.port}",
            "/google.cloud.aiplatform.v1.PredictionService/StreamGenerateContent",
            b"\x00" + len(message).to_bytes(4, "big") + message,
            "application/grpc",
        )
    assert status == 415 and "api_transport='rest'" in json.loads(body)["error"]["message"]
    assert len(upstream.received) == seen
    assert records_after(proxy, mark, 1)[0]["reason"] == "uninspectable_protocol"


def test_trailing_dot_connect_is_the_catalogued_host(proxy, upstream):
    mark = len(proxy.records())
    marker = "BLOCKME-" + pysecrets.token_hex(8)
    with tunnel(proxy, f"localhost.:{upstream.port}", "localhost.") as s:  # Python keeps the dot in the SNI
        s.sendall(post("/v1/chat/completions", f"localhost.:{upstream.port}", chat(marker)))
        status, headers, _ = read_response(s.makefile("rb"))
    assert status == 403 and headers["x-llm-dlp"] == "llm_dlp_blocked"
    rec = records_after(proxy, mark, 1)[0]
    assert rec["endpoint"] == "test-named" and rec["host"] == "localhost" and rec["decision"] == "block"


def curl(proxy, url: str, body: dict) -> tuple[int, str]:
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "-x",
            proxy.url,
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "-H",
            "content-type: application/json",
            "--data-binary",
            json.dumps(body),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    text, _, code = out.stdout.rpartition("\n")
    return int(code), text


def test_absolute_form_plain_http_to_a_catalogued_https_host_is_refused_and_audited(proxy):
    mark = len(proxy.records())
    token = github_token()
    status, text = curl(proxy, "http://api.openai.com/v1/chat/completions", chat(token))
    assert status == 403 and "plain HTTP" in json.loads(text)["error"]["message"] and token not in text
    rec = records_after(proxy, mark, 1)[0]
    assert (rec["endpoint"], rec["host"], rec["decision"], rec["reason"]) == ("openai", "api.openai.com", "refuse", "plain_http_refused")


def test_plain_http_to_a_plain_http_endpoint_is_inspected(proxy, plain_upstream):
    mark = len(proxy.records())
    token = github_token()
    status, text = curl(proxy, f"http://localhost:{plain_upstream.port}/v1/chat/completions", chat(token))
    assert status == 200 and token in text  # restored for the developer
    assert token not in plain_upstream.last().body.decode() and "[REDACTED:github-token:" in plain_upstream.last().body.decode()
    rec = records_after(proxy, mark, 1)[0]
    assert (rec["endpoint"], rec["decision"]) == ("test-plain", "redact")


def test_connect_to_an_uninspectable_service_is_refused_with_an_explanation(proxy):
    mark = len(proxy.records("refusal"))
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=20) as raw:
        raw.sendall(b"CONNECT api2.cursor.sh:443 HTTP/1.1\r\nHost: api2.cursor.sh:443\r\n\r\n")
        status, _, body = read_response(raw.makefile("rb"))
    assert status == 403 and b"cannot inspect" in body
    rec = records_after(proxy, mark, 1, "refusal")[0]
    assert (rec["host"], rec["reason"]) == ("api2.cursor.sh", "endpoint_uninspectable")
