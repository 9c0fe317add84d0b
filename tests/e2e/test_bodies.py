"""End to end, through the real proxy: every byte the model reads is inspected or the request is
refused. Strict JSON (a 400 in the API's own error shape), every gzip member, the limit on the
decoded size (413), JSON escapes in raw text, disguised and split secrets."""

from __future__ import annotations

import gzip
import json
import random
import secrets as pysecrets
import ssl

import httpx
import pytest

from support.secretgen import Gen

pytestmark = pytest.mark.e2e

CHAT, MESSAGES, GEMINI = "/v1/chat/completions", "/v1/messages", "/v1beta/models/gemini-2.5-pro:generateContent"


def token() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "ghp_" + "".join(pysecrets.choice(alphabet) for _ in range(35)) + "7"


def post(proxy, upstream, path: str, content: bytes, **headers) -> httpx.Response:
    with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=20) as c:
        return c.post(f"{upstream.url}{path}", content=content, headers={"content-type": "application/json", **headers})


def chat(text: str) -> dict:
    return {"model": "m", "messages": [{"role": "user", "content": text}]}


def error_message(path: str, r: httpx.Response) -> str:
    """The refusal in the API's own error shape."""
    doc = r.json()
    if path == MESSAGES:
        assert doc["type"] == "error" and doc["error"]["type"] == "invalid_request_error"
    elif path == GEMINI:
        assert doc["error"]["status"] == "INVALID_ARGUMENT"
    else:
        assert doc["error"]["code"].startswith("llm_dlp_")
    return doc["error"]["message"]


PARSER_DIFFERENTIALS = {
    "duplicate key": lambda s: b'{"model": "m", "messages": [{"role": "user", "content": "' + s + b'", "content": "hello"}]}',
    "byte order mark": lambda s: b"\xef\xbb\xbf" + json.dumps(chat("\\u0067" + s.decode()[1:])).encode(),
    "trailing data": lambda s: json.dumps(chat("hello")).encode() + b'\n{"messages": [{"role": "user", "content": "' + s + b'"}]}',
    "long number": lambda s: b'{"model": "m", "n": ' + b"9" * 5000 + b', "messages": [{"role": "user", "content": "' + s + b'"}]}',
    "utf-16": lambda s: json.dumps(chat(s.decode())).encode("utf-16"),
}


@pytest.mark.parametrize("path", [CHAT, MESSAGES, GEMINI])
@pytest.mark.parametrize("kind", PARSER_DIFFERENTIALS)
def test_a_body_a_provider_could_read_differently_is_refused(proxy, upstream, path, kind):
    secret = token()
    before, mark = len(upstream.received), len(proxy.records())
    r = post(proxy, upstream, path, PARSER_DIFFERENTIALS[kind](secret.encode()), **{"x-api-key": "k", "x-goog-api-key": "k"})
    assert r.status_code == 400
    message = error_message(path, r)
    assert "refused" in message and secret not in r.text
    assert len(upstream.received) == before
    rec = proxy.wait_for_record(mark + 1)
    assert rec["decision"] == "refuse" and rec["reason"] in ("duplicate_key", "not_utf8", "not_json", "number_too_long")
    assert secret not in json.dumps(rec)


def test_every_gzip_member_is_inspected(proxy, upstream):
    secret = token()
    body = json.dumps(chat(f"first half and {secret}")).encode()
    wire = gzip.compress(body[:20]) + gzip.compress(body[20:])
    r = post(proxy, upstream, CHAT, wire, **{"content-encoding": "gzip"})
    assert r.status_code == 200
    sent = upstream.last()
    assert sent.headers["content-encoding"] == "gzip"
    forwarded = gzip.decompress(sent.body).decode()
    assert secret not in forwarded and "[REDACTED:github-token:" in forwarded


def test_a_compression_bomb_is_refused_on_its_decoded_size(proxy, upstream):
    before, mark = len(upstream.received), len(proxy.records())
    bomb = gzip.compress(b'{"messages": [{"role": "user", "content": "' + b" " * (64 << 20) + b'"}]}')
    assert len(bomb) < 1 << 20
    r = post(proxy, upstream, CHAT, bomb, **{"content-encoding": "gzip"})
    assert r.status_code == 413 and "decoded request body exceeds the inspection limit" in r.json()["error"]["message"]
    assert len(upstream.received) == before
    assert proxy.wait_for_record(mark + 1)["reason"] == "body_too_large"


def test_escapes_in_a_body_read_as_raw_text_are_undone(proxy, upstream):
    secret = token()
    escaped = "".join(f"\\u{ord(c):04x}" for c in secret[:6]) + secret[6:]
    r = post(proxy, upstream, CHAT, f"not json at all: {escaped}".encode(), **{"content-type": "text/plain"})
    assert r.status_code == 400  # the fake upstream reads only JSON
    forwarded = upstream.last().body.decode()
    assert escaped not in forwarded and secret[6:] not in forwarded and "[REDACTED:github-token:" in forwarded


@pytest.mark.parametrize("path", [CHAT, MESSAGES])
def test_disguised_and_split_secrets_are_redacted_every_piece(proxy, upstream, path):
    secret = token()
    disguised = secret[:7] + "\u200b" + secret[7:15] + "\u0430" + secret[16:]  # a zero-width space, a Cyrillic a
    doc = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": f"one: {disguised}"},
            {"role": "assistant", "content": f"two: {secret[:20]}"},
            {"role": "user", "content": f"{secret[20:]} three"},
        ],
    }
    r = post(proxy, upstream, path, json.dumps(doc, ensure_ascii=False).encode(), **{"x-api-key": "k"})
    assert r.status_code == 200
    sent = upstream.last().json()["messages"]
    texts = [m["content"] for m in sent]
    assert texts[0].startswith("one: [REDACTED:github-token:") and "\u200b" not in texts[0]
    assert texts[1].startswith("two: [REDACTED:github-token:") and secret[:20] not in texts[1]
    assert texts[2].endswith("] three") and secret[20:] not in texts[2]


@pytest.mark.parametrize("path", [CHAT, MESSAGES])
def test_a_private_key_split_across_two_messages_reaches_the_upstream_in_no_piece(proxy, upstream, path):
    key = Gen(random.Random()).pem("RSA PRIVATE KEY", lines=26)  # about 1.7 KB, longer than a seam's window
    cut = len(key) // 2
    doc = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": f"my key, first half:\n{key[:cut]}"},
            {"role": "assistant", "content": "go on"},
            {"role": "user", "content": key[cut:]},
        ],
    }
    mark = len(proxy.records())
    r = post(proxy, upstream, path, json.dumps(doc).encode(), **{"x-api-key": "k"})
    assert r.status_code == 200
    forwarded = upstream.last().body.decode()
    assert not [line for line in key.splitlines() if len(line) > 20 and line in forwarded]
    texts = [m["content"] for m in upstream.last().json()["messages"]]
    assert texts[0].startswith("my key, first half:\n[REDACTED:private-key:") and texts[2].startswith("[REDACTED:private-key:")
    assert texts[1] == "go on"
    rec = proxy.wait_for_record(mark + 1)
    assert [(f["rule"], f["field"]) for f in rec["findings"]] == [
        ("private-key", "/messages/0/content"),
        ("private-key", "/messages/2/content"),
    ]


def _responses_events(text: str) -> list[tuple[str, dict]]:
    part = {"type": "output_text", "text": text, "annotations": []}
    item = {"type": "message", "id": "m1", "role": "assistant", "status": "completed", "content": [part]}
    deltas = [
        ("response.output_text.delta", {"item_id": "m1", "output_index": 0, "content_index": 0, "delta": text[i : i + 9]})
        for i in range(0, len(text), 9)
    ]
    return [
        *deltas,
        ("response.output_text.done", {"item_id": "m1", "output_index": 0, "content_index": 0, "text": text}),
        ("response.output_item.done", {"output_index": 0, "item": item}),
        ("response.completed", {"response": {"id": "r1", "object": "response", "status": "completed", "output": [item]}}),
    ]


def _sse(events, multi_line: bool = False) -> bytes:
    out = []
    for kind, body in events:
        payload = json.dumps({"type": kind, **body}, indent=1 if multi_line else None)
        out.append(f"event: {kind}\n" + "".join(f"data: {line}\n" for line in payload.splitlines()) + "\n")
    return "".join(out).encode()


@pytest.mark.parametrize("variant", ["plain", "gzip", "multi-line"])
def test_a_secret_in_a_responses_stream_never_reaches_the_client(proxy, upstream, variant):
    secret = token()
    stream = _sse(_responses_events(f"the key is {secret} as asked"), multi_line=variant == "multi-line")
    headers = {"content-type": "text/event-stream"}
    if variant == "gzip":
        stream, headers["content-encoding"] = gzip.compress(stream), "gzip"
    upstream.canned = (headers, stream)
    with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=20) as c:
        with c.stream("POST", f"{upstream.url}/v1/responses", json={"model": "m", "input": "hi", "stream": True}) as r:
            assert "content-encoding" not in r.headers
            got = b"".join(r.iter_raw())
    assert secret.encode() not in got
    events = [json.loads(line[6:]) for line in got.decode().splitlines() if line.startswith("data: ")]
    by_type = {e["type"]: e for e in events}
    assert "[REDACTED:github-token:" in by_type["response.output_text.done"]["text"]
    assert "[REDACTED:github-token:" in by_type["response.completed"]["response"]["output"][0]["content"][0]["text"]


# ---- documents, files, keys -----------------------------------------------------------------------
def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def _unb64(text: str) -> str:
    import base64

    return base64.b64decode(text).decode()


def test_anthropic_text_document_is_redacted_inside_its_base64(proxy, upstream):
    secret = token()
    block = {
        "type": "document",
        "title": "env",
        "source": {"type": "base64", "media_type": "text/plain", "data": _b64(f"TOKEN={secret}\n".encode())},
    }
    doc = {"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": [block, {"type": "text", "text": "read it"}]}]}
    r = post(proxy, upstream, MESSAGES, json.dumps(doc).encode(), **{"x-api-key": "k"})
    assert r.status_code == 200
    sent = _unb64(upstream.last().json()["messages"][0]["content"][0]["source"]["data"])
    assert secret not in sent and sent.startswith("TOKEN=[REDACTED:github-token:")


def test_a_pdf_in_a_tool_result_blocks_naming_document_and_rule(proxy, upstream):
    from support.pdfgen import make_pdf

    secret = token()
    pdf = {
        "type": "document",
        "title": "report.pdf",
        "source": {"type": "base64", "media_type": "application/pdf", "data": _b64(make_pdf([["quarterly"], [f"deploy key {secret}"]]))},
    }
    doc = {
        "model": "c",
        "max_tokens": 5,
        "messages": [
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/w/report.pdf"}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [pdf]}]},
        ],
    }
    before, mark = len(upstream.received), len(proxy.records())
    r = post(proxy, upstream, MESSAGES, json.dumps(doc).encode(), **{"x-api-key": "k"})
    assert r.status_code == 403 and r.json()["type"] == "error"
    message = r.json()["error"]["message"]
    assert "'report.pdf'" in message and "github-token" in message and secret not in r.text
    assert len(upstream.received) == before
    rec = proxy.wait_for_record(mark + 1)
    assert rec["decision"] == "block" and rec["findings"][0]["document"] == "report.pdf" and secret not in json.dumps(rec)


def test_chat_file_part_pdf_blocks_and_responses_input_file_text_is_redacted(proxy, upstream):
    from support.pdfgen import make_pdf

    secret = token()
    url = "data:application/pdf;base64," + _b64(make_pdf([[f"x {secret}"]]))
    chat_doc = {
        "model": "m",
        "messages": [{"role": "user", "content": [{"type": "file", "file": {"filename": "a.pdf", "file_data": url}}]}],
    }
    r = post(proxy, upstream, CHAT, json.dumps(chat_doc).encode())
    assert r.status_code == 403 and "'a.pdf'" in r.json()["error"]["message"]
    text_url = "data:text/plain;base64," + _b64(f"k={secret}".encode())
    responses_doc = {
        "model": "m",
        "input": [{"role": "user", "content": [{"type": "input_file", "filename": "k.txt", "file_data": text_url}]}],
    }
    assert post(proxy, upstream, "/v1/responses", json.dumps(responses_doc).encode()).status_code == 200
    sent = upstream.last().json()["input"][0]["content"][0]["file_data"]
    assert sent.startswith("data:text/plain;base64,") and secret not in _unb64(sent.split(",", 1)[1])


def test_gemini_inline_text_data_is_redacted(proxy, upstream):
    secret = token()
    doc = {
        "contents": [
            {"role": "user", "parts": [{"text": "see"}, {"inlineData": {"mimeType": "text/plain", "data": _b64(secret.encode())}}]}
        ]
    }
    assert post(proxy, upstream, GEMINI, json.dumps(doc).encode(), **{"x-goog-api-key": "k"}).status_code == 200
    assert _unb64(upstream.last().json()["contents"][0]["parts"][1]["inlineData"]["data"]).startswith("[REDACTED:github-token:")


def test_secret_keys_block_in_a_tool_schema_and_are_renamed_in_a_tool_input(proxy, upstream):
    secret = token()
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {secret: {"type": "string"}}}}}]
    r = post(proxy, upstream, CHAT, json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": tools}).encode())
    assert r.status_code == 403 and secret not in r.text
    doc = {
        "model": "c",
        "max_tokens": 5,
        "messages": [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "t", "input": {secret: "v"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]},
        ],
    }
    assert post(proxy, upstream, MESSAGES, json.dumps(doc).encode(), **{"x-api-key": "k"}).status_code == 200
    assert secret not in upstream.last().body.decode()
    assert list(upstream.last().json()["messages"][0]["content"][0]["input"])[0].startswith("[REDACTED:github-token:")


FILES_RULES = """
version: 1
endpoints:
  - id: test-files
    hosts: ["127.0.0.1"]
    ports: [{port}]
    path_prefixes: [/v1/files, /v1/uploads]
    protocol: openai
"""


@pytest.fixture(scope="module")
def files_proxy(tmp_path_factory, pki, upstream):
    from support.proxy import start_proxy, stop_proxy

    p = start_proxy(tmp_path_factory.mktemp("files"), pki, upstream.port, files={"zz-files.yaml": FILES_RULES.format(port=upstream.port)})
    yield p
    stop_proxy(p)


def test_openai_sdk_batch_upload_is_inspected_line_by_line(files_proxy, upstream):
    import openai

    secret = token()
    escaped = "".join(f"\\u{ord(c):04x}" for c in secret)
    line = '{"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", "messages": [{"role": "user", "content": "%s"}]}}'
    client = openai.OpenAI(
        base_url=f"{upstream.url}/v1",
        api_key="sk-test",
        max_retries=0,
        http_client=httpx.Client(proxy=files_proxy.url, verify=ssl.create_default_context(cafile=str(files_proxy.ca))),
    )
    upstream.canned = (
        {"content-type": "application/json"},
        json.dumps(
            {
                "id": "file-1",
                "object": "file",
                "bytes": 1,
                "created_at": 1,
                "filename": "b.jsonl",
                "purpose": "batch",
                "status": "processed",
            }
        ).encode(),
    )
    client.files.create(file=("b.jsonl", (line % escaped + "\n").encode()), purpose="batch")
    sent = upstream.last().body
    assert escaped.encode() not in sent and secret.encode() not in sent and b"[REDACTED:github-token:" in sent
    assert upstream.last().headers["content-type"].startswith("multipart/form-data; boundary=")


def test_a_pdf_uploaded_to_files_blocks_and_upload_parts_are_refused(files_proxy, upstream):
    from support.pdfgen import make_pdf

    secret = token()
    files = {"file": ("r.pdf", make_pdf([[f"key {secret}"]]), "application/pdf")}
    with httpx.Client(proxy=files_proxy.url, verify=ssl.create_default_context(cafile=str(files_proxy.ca)), timeout=20) as c:
        r = c.post(f"{upstream.url}/v1/files", data={"purpose": "user_data"}, files=files)
        assert r.status_code == 403 and "'r.pdf'" in r.json()["error"]["message"] and secret not in r.text
        r = c.post(f"{upstream.url}/v1/uploads/upload_1/parts", files={"data": ("blob", b"half of a file", "application/octet-stream")})
        assert r.status_code == 400 and r.json()["error"]["code"] == "llm_dlp_uninspectable_upload_part"


def _raw_request(proxy, upstream, head: str, body: bytes) -> bytes:
    """One request over a CONNECT tunnel, written by hand (no client sends transfer codings)."""
    import socket

    with socket.create_connection(("127.0.0.1", proxy.port), timeout=20) as sock:
        sock.sendall(f"CONNECT 127.0.0.1:{upstream.port} HTTP/1.1\r\nHost: 127.0.0.1:{upstream.port}\r\n\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        with ssl.create_default_context(cafile=str(proxy.ca)).wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            tls.sendall(head.encode() + body)
            answer = b""
            while b"\r\n\r\n" not in answer:
                answer += tls.recv(65536)
            return answer


def test_a_gzip_transfer_coding_is_decoded_and_inspected(proxy, upstream):
    secret = token()
    wire = gzip.compress(json.dumps(chat(f"use {secret}")).encode())
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(wire), wire)
    head = (
        f"POST {CHAT} HTTP/1.1\r\nHost: 127.0.0.1:{upstream.port}\r\ncontent-type: application/json\r\n"
        "transfer-encoding: gzip, chunked\r\nconnection: close\r\n\r\n"
    )
    answer = _raw_request(proxy, upstream, head, chunked)
    assert answer.startswith(b"HTTP/1.1 200")
    sent = upstream.last()
    assert "gzip" not in sent.headers.get("transfer-encoding", "")
    assert secret.encode() not in sent.body and b"[REDACTED:github-token:" in sent.body
