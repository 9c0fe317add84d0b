"""End to end over WebSocket: the real ``llm-dlp run``, the real ``websockets`` client through
the proxy (CONNECT, TLS with the proxy's CA, permessage-deflate as Codex offers it) and a fake
TLS WebSocket upstream on loopback."""

from __future__ import annotations

import json
import os
import random
import secrets as pysecrets
import ssl
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.sync.client import connect

from support.proxy import ROOT, start_proxy, stop_proxy, wait_for
from support.secretgen import Gen, provider_tokens
from support.ws_upstream import PIECE, serve_ws_upstream

pytestmark = pytest.mark.e2e

SCHEMA = json.loads(resources.files("llm_dlp").joinpath("schemas/audit.schema.json").read_text())
LIVE = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
REFUSED = """
version: 1
endpoints:
  - id: test-ws-refused
    hosts: ["127.0.0.1"]
    ports: [{port}]
    path_prefixes: [/refused/]
    protocol: openai
    websocket: refuse
"""


@pytest.fixture(scope="module")
def ws_upstream(pki):
    server, up = serve_ws_upstream(pki)
    yield up
    server.shutdown()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, pki, ws_upstream):
    p = start_proxy(tmp_path_factory.mktemp("proxy"), pki, ws_upstream.port, files={"zz-ws.yaml": REFUSED.format(port=ws_upstream.port)})
    yield p
    stop_proxy(p)


def token() -> str:
    return dict(provider_tokens(Gen(random.Random())))["github-pat"]


def open_ws(proxy, upstream, path="/v1/responses", **kwargs):
    trust = ssl.create_default_context(cafile=str(proxy.ca))
    headers = {"Authorization": "Bearer sk-test", "OpenAI-Beta": "responses_websockets=2026-02-06", "originator": "codex_cli_rs"}
    return connect(upstream.url + path, ssl=trust, proxy=proxy.url, additional_headers=headers, open_timeout=20, close_timeout=5, **kwargs)


def create(text: str) -> dict:
    return {
        "type": "response.create",
        "model": "gpt-5-codex",
        "instructions": "You are Codex.",
        "previous_response_id": "resp_1",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}],
        "stream": True,
        "store": False,
    }


def until_completed(ws) -> list[dict]:
    events = []
    while not events or events[-1]["type"] not in ("response.completed", "error"):
        events.append(json.loads(ws.recv(timeout=20)))
    return events


def ws_records(proxy, n: int) -> list[dict]:
    records = wait_for(lambda: proxy.records("websocket") if len(proxy.records("websocket")) >= n else None, f"{n} websocket records")
    for record in records:
        jsonschema.validate(record, SCHEMA)
    return records


def test_secret_redacted_in_response_create_and_restored_in_the_answer(proxy, ws_upstream):
    before, sent_before = len(proxy.records("websocket")), len(ws_upstream.received)
    secret = token()
    text = f"Deploy with GH_TOKEN={secret} and tell me how."
    message = json.dumps(create(text))
    with open_ws(proxy, ws_upstream) as ws:
        ws.send([message[:40], message[40:90], message[90:]])  # one message in three fragments
        events = until_completed(ws)
        assert any(isinstance(e, PerMessageDeflate) for e in ws.protocol.extensions)
    path, upstream_saw = ws_upstream.received[sent_before]
    assert path == "/v1/responses" and secret not in upstream_saw
    forwarded = json.loads(upstream_saw)
    assert forwarded["previous_response_id"] == "resp_1" and forwarded["type"] == "response.create"
    assert "[REDACTED:github-token:" in forwarded["input"][0]["content"][0]["text"]
    # the fake model echoed the placeholder in 7-character pieces: the developer gets the value back
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert deltas == text
    assert next(e for e in events if e["type"] == "response.output_text.done")["text"] == text
    assert ws_upstream.headers[-1]["openai-beta"] == "responses_websockets=2026-02-06"
    rec = ws_records(proxy, before + 1)[before]
    assert rec["api"] == "openai-responses" and rec["endpoint"] == "test-openai" and rec["decision"] == "redact"
    upstream_sent = 6 + -(-len(forwarded["input"][0]["content"][0]["text"]) // PIECE)  # 3 events before the deltas, 3 after
    assert rec["client_messages"] == 1 and rec["server_messages"] == upstream_sent and rec["restored_placeholders"] >= 1
    [entry] = rec["messages"]
    assert entry["type"] == "response.create" and entry["model"] == "gpt-5-codex"
    assert [(f["rule"], f["field"]) for f in entry["findings"]] == [("github-token", "/input/0/content/0/text")]
    assert rec["closed_by"] == "client" and rec["close_code"] == 1000
    assert secret not in json.dumps(rec) and secret not in proxy.audit.read_text()
    upgrade = [r for r in proxy.records() if r["path"] == "/v1/responses"][-1]
    assert upgrade["status"] == 101


def test_permessage_deflate_negotiated_on_both_sides(proxy, ws_upstream):
    with open_ws(proxy, ws_upstream) as ws:
        ws.send(json.dumps(create("hello " * 500)))  # compressible: travels deflated on both legs
        events = until_completed(ws)
        client_deflate = any(isinstance(e, PerMessageDeflate) for e in ws.protocol.extensions)
    assert client_deflate and ws_upstream.deflate[-1]
    assert "permessage-deflate" in ws_upstream.headers[-1]["sec-websocket-extensions"]
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "hello " * 500


def test_block_answered_with_the_error_event_and_audited(proxy, ws_upstream):
    before, sent_before = len(proxy.records("websocket")), len(ws_upstream.received)
    marker = "BLOCKME-" + pysecrets.token_hex(8)
    with open_ws(proxy, ws_upstream) as ws:
        ws.send(json.dumps(create(f"first line\nthen {marker}")))
        error = json.loads(ws.recv(timeout=20))
        assert error["type"] == "error" and error["status"] == 403 and error["error"]["code"] == "llm_dlp_blocked"
        assert "test-block-marker" in error["error"]["message"] and "line 2" in error["error"]["message"]
        assert marker not in json.dumps(error)
        ws.send(json.dumps(create("a clean question")))  # the connection stays usable
        assert until_completed(ws)[-1]["type"] == "response.completed"
    assert [json.loads(m)["input"][0]["content"][0]["text"] for _, m in ws_upstream.received[sent_before:]] == ["a clean question"]
    rec = ws_records(proxy, before + 1)[before]
    assert rec["decision"] == "block" and rec["decisions"] == {"block": 1, "allow": 1}
    assert rec["messages"][0]["decision"] == "block" and rec["messages"][0]["findings"][0]["rule"] == "test-block-marker"
    assert marker not in json.dumps(rec)
    assert 'llm_dlp_websocket_messages_total{decision="block",direction="client",endpoint="test-openai"}' in proxy.metrics()


def test_binary_message_refused(proxy, ws_upstream):
    before, sent_before = len(proxy.records("websocket")), len(ws_upstream.received)
    with open_ws(proxy, ws_upstream) as ws:
        ws.send(json.dumps(create("hidden in a binary frame")).encode())
        error = json.loads(ws.recv(timeout=20))
    assert error["type"] == "error" and error["error"]["code"] == "llm_dlp_binary_message"
    assert len(ws_upstream.received) == sent_before
    rec = ws_records(proxy, before + 1)[before]
    assert rec["decision"] == "refuse" and rec["messages"][0]["reason"] == "binary_message"
    assert 'llm_dlp_inspection_errors_total{endpoint="test-openai",reason="binary_message"}' in proxy.metrics()


def test_gemini_live_redacted_restored_and_block_closes_with_1008(proxy, ws_upstream):
    before, sent_before = len(proxy.records("websocket")), len(ws_upstream.received)
    secret = token()
    with open_ws(proxy, ws_upstream, LIVE) as ws:
        ws.send(json.dumps({"setup": {"model": "models/gemini-live-2.5-flash"}}))
        assert json.loads(ws.recv(timeout=20)) == {"setupComplete": {}}
        ws.send(json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [{"text": f"key {secret} ok"}]}], "turnComplete": True}}))
        answer = []
        while "turnComplete" not in (doc := json.loads(ws.recv(timeout=20)))["serverContent"]:
            answer += [p["text"] for p in doc["serverContent"]["modelTurn"]["parts"]]
        assert "".join(answer) == f"key {secret} ok"
        ws.send(json.dumps({"realtimeInput": {"text": "BLOCKME-" + pysecrets.token_hex(8)}}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=20)
    assert closed.value.rcvd.code == 1008 and "blocked by llm-dlp" in closed.value.rcvd.reason
    assert all(secret not in str(m) for _, m in ws_upstream.received[sent_before:]) and len(ws_upstream.received) == sent_before + 2
    rec = ws_records(proxy, before + 1)[before]
    assert rec["api"] == "gemini-live" and rec["decision"] == "block" and rec["closed_by"] == "llm-dlp" and rec["close_code"] == 1008
    assert rec["model"] == "models/gemini-live-2.5-flash" and rec["restored_placeholders"] >= 1


def test_realtime_item_redacted_answer_restored_block_answered(proxy, ws_upstream):
    before, sent_before = len(proxy.records("websocket")), len(ws_upstream.received)
    secret = token()
    item = {
        "type": "conversation.item.create",
        "event_id": "evt_1",
        "item": {"id": "item_1", "type": "message", "role": "user", "content": [{"type": "input_text", "text": f"token {secret} here"}]},
    }
    with open_ws(proxy, ws_upstream, "/v1/realtime?model=gpt-realtime") as ws:
        ws.send(json.dumps(item))
        assert json.loads(ws.recv(timeout=20))["type"] == "conversation.item.added"
        ws.send(json.dumps({"type": "response.create", "event_id": "evt_2"}))
        events = []
        while not events or events[-1]["type"] != "response.done":
            events.append(json.loads(ws.recv(timeout=20)))
        ws.send(
            json.dumps({"type": "session.update", "event_id": "evt_3", "session": {"instructions": "BLOCKME-" + pysecrets.token_hex(8)}})
        )
        error = json.loads(ws.recv(timeout=20))
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == f"token {secret} here"
    assert next(e for e in events if e["type"] == "response.output_audio.delta")["delta"] == "AAAAAAAA"  # audio passes untouched
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == f"token {secret} here"
    assert error["type"] == "error" and error["error"]["event_id"] == "evt_3" and error["error"]["code"] == "llm_dlp_blocked"
    forwarded = [json.loads(m) for _, m in ws_upstream.received[sent_before:]]
    assert [f["type"] for f in forwarded] == ["conversation.item.create", "response.create"] and secret not in json.dumps(forwarded)
    assert forwarded[0]["item"]["id"] == "item_1" and forwarded[0]["event_id"] == "evt_1"
    rec = ws_records(proxy, before + 1)[before]
    assert rec["api"] == "openai-realtime" and rec["model"] == "gpt-realtime" and rec["decision"] == "block"
    assert [(m["type"], m["decision"]) for m in rec["messages"]] == [("conversation.item.create", "redact"), ("session.update", "block")]
    assert rec["messages"][0]["findings"][0]["field"] == "/item/content/0/text"


def test_websocket_refuse_answers_the_upgrade_with_403(proxy, ws_upstream):
    connections = len(ws_upstream.headers)
    with pytest.raises(InvalidStatus) as refused:
        open_ws(proxy, ws_upstream, "/refused/v1/responses")
    response = refused.value.response
    assert response.status_code == 403
    body = json.loads(response.body)
    assert body["error"]["code"] == "llm_dlp_websocket_refused" and "HTTPS" in body["error"]["message"]
    assert len(ws_upstream.headers) == connections  # never reached the upstream
    rec = wait_for(lambda: [r for r in proxy.records() if r["path"] == "/refused/v1/responses"], "the refusal's audit record")[-1]
    assert rec["decision"] == "refuse" and rec["reason"] == "websocket_refused" and rec["status"] == 403


# ---- real Codex --------------------------------------------------------------------------------------
CODEX = ROOT / ".tools" / "npm" / "node_modules" / ".bin" / "codex"  # deploy/bootstrap.sh test (the agent CLIs, pinned)


def codex(proxy, upstream, home: Path, prompt: str) -> subprocess.CompletedProcess:
    """``codex exec`` with an API key, through the proxy and trusting its CA, on the fake upstream."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        OPENAI_API_KEY="sk-test-not-a-real-key",
        HTTPS_PROXY=proxy.url,
        CODEX_CA_CERTIFICATE=str(proxy.ca),
        CODEX_HOME=str(home),
        NO_COLOR="1",
    )
    return subprocess.run(
        [str(CODEX), "exec", "-c", f'openai_base_url="{upstream.url}/v1"', "--skip-git-repo-check", "-s", "read-only", prompt],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_real_codex_over_websocket_redacted_upstream_restored_for_the_developer(proxy, ws_upstream, tmp_path):
    """Codex's default transport: its own WebSocket client (tungstenite, permessage-deflate) through
    the proxy with CODEX_CA_CERTIFICATE; the fake model repeats the prompt."""
    before, sent_before, connections = len(proxy.records("websocket")), len(ws_upstream.received), len(ws_upstream.headers)
    secret = token()
    done = codex(proxy, ws_upstream, tmp_path, f"Remember GH_TOKEN={secret} and repeat it")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"Remember GH_TOKEN={secret} and repeat it" in done.stdout  # the model saw a placeholder; Codex shows the value
    headers = ws_upstream.headers[connections]
    assert headers["openai-beta"].startswith("responses_websockets=") and headers["originator"] == "codex_exec"
    assert ws_upstream.deflate[connections]  # Codex negotiates permessage-deflate, through the proxy too
    creates = [json.loads(m) for _, m in ws_upstream.received[sent_before:]]
    assert creates and all(c["type"] == "response.create" for c in creates)
    assert all(secret not in json.dumps(c) for c in creates)
    assert any("[REDACTED:github-token:" in json.dumps(c) for c in creates)
    rec = ws_records(proxy, before + 1)[before]
    assert rec["tool"] == "codex-cli" and rec["api"] == "openai-responses" and rec["decision"] == "redact"
    assert {f["rule"] for m in rec["messages"] for f in m["findings"]} == {"github-token"} and rec["restored_placeholders"] >= 1
    assert secret not in proxy.audit.read_text()


def test_real_codex_shows_the_block_and_nothing_reaches_the_model(proxy, ws_upstream, tmp_path):
    """Codex takes the error event as a failed turn: it reconnects a few times and tries HTTPS,
    every attempt is blocked and audited, and the developer reads the reason."""
    before, sent_before = len(proxy.records("websocket")), len(ws_upstream.received)
    marker = "BLOCKME-" + pysecrets.token_hex(8)
    done = codex(proxy, ws_upstream, tmp_path, f"deploy with {marker} please")
    assert done.returncode != 0
    shown = [line for line in (done.stdout + done.stderr).splitlines() if "Request blocked by llm-dlp" in line]
    assert shown and all("rule test-block-marker" in line and marker not in line for line in shown)
    assert all(marker not in str(m) for _, m in ws_upstream.received[sent_before:])
    blocked = [r for r in ws_records(proxy, before + 1)[before:] if r["tool"] == "codex-cli"]
    assert blocked and all(r["decision"] == "block" for r in blocked)
    assert [f["rule"] for f in blocked[0]["messages"][-1]["findings"]] == ["test-block-marker"]
