"""End to end: the real ``llm-dlp run``, a real TLS upstream on loopback, real clients
(openai and anthropic SDKs, httpx, curl) going through HTTPS_PROXY and trusting the proxy's CA."""

from __future__ import annotations

import gzip
import json
import random
import secrets as pysecrets
import ssl
import subprocess
import time

import anthropic
import httpx
import openai
import pytest

from support.secretgen import Gen, provider_tokens

pytestmark = pytest.mark.e2e


def fresh_github_token() -> str:
    return "ghp_" + "".join(pysecrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(35)) + "7"


def trusting(ca) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def client(proxy) -> httpx.Client:
    return httpx.Client(verify=trusting(proxy.ca), timeout=20)


def anthropic_client(proxy, upstream) -> anthropic.Anthropic:
    # this SDK generation is built on httpx2, which takes an httpx2 client
    import httpx2

    return anthropic.Anthropic(
        base_url=upstream.url, api_key="sk-ant-test", max_retries=0, http_client=httpx2.Client(verify=trusting(proxy.ca), timeout=20)
    )


def test_openai_sdk_secret_redacted_every_occurrence_and_restored(proxy_env, upstream):
    mark = len(proxy_env.records())
    token = fresh_github_token()
    oai = openai.OpenAI(base_url=f"{upstream.url}/v1", api_key="sk-test-not-a-real-key", http_client=client(proxy_env))
    reply = oai.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "You are a coding assistant."},
            {"role": "user", "content": f"Fix this:\nGITHUB_TOKEN = \"{token}\"\nrequests.get(url, auth=('x', '{token}'))"},
        ],
    )
    sent = upstream.last().json()
    text = sent["messages"][1]["content"]
    assert token not in upstream.last().body.decode()
    assert text.count("[REDACTED:github-token:") == 2  # both copies, not just the first
    assert sent["messages"][0]["content"] == "You are a coding assistant."
    # the fake model echoes the prompt: the developer gets the original value back
    assert reply.choices[0].message.content.count(token) == 2
    rec = proxy_env.wait_for_record(mark + 1)
    assert rec["decision"] == "redact" and rec["endpoint"] == "test-openai" and rec["tool"] == "openai-sdk-python"
    assert rec["model"] == "gpt-4o"
    assert {f["rule"] for f in rec["findings"]} == {"github-token"}
    assert rec["findings"][0]["field"] == "/messages/1/content" and rec["findings"][0]["line"] == 2
    assert token not in json.dumps(rec)


def test_openai_sdk_block_raises_with_rule_message(proxy_env, upstream):
    oai = openai.OpenAI(base_url=f"{upstream.url}/v1", api_key="sk-test", http_client=client(proxy_env), max_retries=0)
    before = len(upstream.received)
    marker = "BLOCKME-" + pysecrets.token_hex(8)
    with pytest.raises(openai.PermissionDeniedError) as err:
        oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"line one\nuse {marker}"}])
    assert len(upstream.received) == before  # never reached the upstream
    assert "test-block-marker" in str(err.value) and "line 2" in str(err.value)
    assert marker not in str(err.value)
    assert err.value.body["code"] == "llm_dlp_blocked"


def test_openai_responses_api(proxy_env, upstream):
    token = fresh_github_token()
    oai = openai.OpenAI(base_url=f"{upstream.url}/v1", api_key="sk-test", http_client=client(proxy_env))
    resp = oai.responses.create(model="gpt-4.1", instructions="be brief", input=f"deploy with {token}")
    assert token not in upstream.last().body.decode()
    assert "[REDACTED:github-token:" in upstream.last().json()["input"]
    assert token in resp.output_text


def test_openai_streaming_restores_placeholders_in_text_and_tool_arguments(proxy_env, upstream):
    mark = len(proxy_env.records())
    token = fresh_github_token()
    oai = openai.OpenAI(base_url=f"{upstream.url}/v1", api_key="sk-test", http_client=client(proxy_env))
    tools = [{"type": "function", "function": {"name": "write_file", "parameters": {"type": "object"}}}]
    first_event_at = None
    text, args = "", ""
    stream = oai.chat.completions.create(
        model="gpt-4o", stream=True, tools=tools, messages=[{"role": "user", "content": f"token {token} ok"}]
    )
    for chunk in stream:
        first_event_at = first_event_at or time.monotonic()
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            for call in chunk.choices[0].delta.tool_calls or []:
                args += call.function.arguments or ""
    assert token not in upstream.last().body.decode()
    # the upstream sent the placeholder in 7-character events; the developer gets the value
    assert text == f"You said: token {token} ok"
    assert json.loads(args)["content"] == text
    # streamed, not buffered: the first event arrived before the upstream had finished
    assert first_event_at < upstream.stream_finished_at
    assert proxy_env.wait_for_record(mark + 1)["restored_placeholders"] == 2


def test_anthropic_sdk_stream_restores_placeholders(proxy_env, upstream):
    token = fresh_github_token()
    ant = anthropic_client(proxy_env, upstream)
    tools = [{"name": "write_file", "description": "w", "input_schema": {"type": "object"}}]
    with ant.messages.stream(
        model="claude-test-model", max_tokens=100, tools=tools, messages=[{"role": "user", "content": f"key {token}"}]
    ) as stream:
        text = "".join(stream.text_stream)
        message = stream.get_final_message()
    assert token not in upstream.last().body.decode()
    assert text == f"You said: key {token}"
    assert [b.input for b in message.content if b.type == "tool_use"] == [{"file_path": "notes.txt", "content": text}]


def test_anthropic_sdk_blocks_and_redacts(proxy_env, upstream):
    mark = len(proxy_env.records())
    ant = anthropic_client(proxy_env, upstream)
    g = Gen(random.Random())
    aws = dict(provider_tokens(g))["aws-access-key-id"]
    msg = ant.messages.create(
        model="claude-test-model",
        max_tokens=100,
        system=[{"type": "text", "text": "sys"}],
        messages=[
            {"role": "user", "content": "read config"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "/repo/settings.py"}}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": f"AWS_ACCESS_KEY_ID={aws}\n"},
                    {"type": "text", "text": "what is wrong?"},
                ],
            },
        ],
    )
    sent = upstream.last()
    assert aws not in sent.body.decode()
    assert "[REDACTED:aws-access-key-id:" in sent.json()["messages"][2]["content"][0]["content"]
    assert msg.content[0].text == f"You said: AWS_ACCESS_KEY_ID={aws}\nwhat is wrong?"  # restored in the echo
    rec = proxy_env.wait_for_record(mark + 1)
    assert rec["endpoint"] == "test-anthropic" and rec["tool"] == "anthropic-sdk-python"
    finding = rec["findings"][0]
    assert finding["role"] == "tool_result" and finding["path"] == "/repo/settings.py"
    with pytest.raises(anthropic.PermissionDeniedError) as err:
        ant.messages.create(
            model="claude-test-model", max_tokens=10, messages=[{"role": "user", "content": "BLOCKME-" + pysecrets.token_hex(8)}]
        )
    assert err.value.body["error"]["type"] == "permission_error"
    assert "test-block-marker" in err.value.body["error"]["message"]


def test_gemini_with_httpx_and_gzip_body(proxy_env, upstream):
    mark = len(proxy_env.records())
    g = Gen(random.Random())
    key = dict(provider_tokens(g))["stripe-live"]
    body = {"contents": [{"role": "user", "parts": [{"text": f"stripe.api_key = '{key}'"}]}]}
    with client(proxy_env) as c:
        r = c.post(
            f"{upstream.url}/v1beta/models/gemini-2.5-pro:generateContent",
            content=gzip.compress(json.dumps(body).encode()),
            headers={"content-type": "application/json", "content-encoding": "gzip", "x-goog-api-key": "test"},
        )
        assert r.status_code == 200
        sent = upstream.last()
        assert sent.headers["content-encoding"] == "gzip"
        assert int(sent.headers["content-length"]) == len(sent.body)
        decoded = json.loads(gzip.decompress(sent.body))
        assert key not in json.dumps(decoded) and "[REDACTED:stripe-key:" in decoded["contents"][0]["parts"][0]["text"]
        assert key in r.json()["candidates"][0]["content"]["parts"][0]["text"]
        rec = proxy_env.wait_for_record(mark + 1)
        assert rec["model"] == "gemini-2.5-pro" and rec["tool"] == "python-httpx"
        blocked = c.post(
            f"{upstream.url}/v1beta/models/m:generateContent",
            json={"contents": [{"parts": [{"text": "BLOCKME-" + pysecrets.token_hex(8)}]}]},
        )
        assert blocked.status_code == 403 and blocked.json()["error"]["status"] == "PERMISSION_DENIED"


def test_curl_through_https_proxy(proxy, upstream):
    mark = len(proxy.records())
    token = fresh_github_token()
    env = {"https_proxy": proxy.url, "PATH": "/usr/bin:/bin"}
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": f"x {token}"}]})
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "--cacert",
            str(proxy.ca),
            "-H",
            "content-type: application/json",
            "-d",
            body,
            f"{upstream.url}/v1/chat/completions",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert token not in upstream.last().body.decode()
    assert proxy.wait_for_record(mark + 1)["tool"] == "curl"


def test_undecodable_body_fails_closed(proxy_env, upstream):
    mark = len(proxy_env.records())
    before = len(upstream.received)
    with client(proxy_env) as c:
        r = c.post(
            f"{upstream.url}/v1/chat/completions",
            content=b"this is not gzip at all",
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
    assert r.status_code == 400 and r.json()["error"]["code"] == "llm_dlp_undecodable_body"
    assert len(upstream.received) == before
    rec = proxy_env.wait_for_record(mark + 1)
    assert rec["decision"] == "refuse" and rec["reason"] == "undecodable_body"


def test_malformed_json_is_refused_not_read_as_text(proxy_env, upstream):
    token = fresh_github_token()
    before = len(upstream.received)
    with client(proxy_env) as c:
        r = c.post(
            f"{upstream.url}/v1/chat/completions",
            content=f'{{"messages": [ broken {token}'.encode(),
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 400 and r.json()["error"]["code"] == "llm_dlp_not_json" and token not in r.text
    assert len(upstream.received) == before


def test_oversized_body_refused(tmp_path, pki, upstream):
    from conftest import start_proxy, stop_proxy

    p = start_proxy(tmp_path, pki, upstream.port, ["--set", "llm_dlp_max_body_bytes=1000"])
    try:
        with httpx.Client(proxy=p.url, verify=trusting(p.ca), timeout=20) as c:
            r = c.post(f"{upstream.url}/v1/chat/completions", json={"messages": [{"role": "user", "content": "a" * 5000}]})
        assert r.status_code == 413 and "inspection limit" in r.json()["error"]["message"]
        assert p.wait_for_record(1)["reason"] == "body_too_large"
    finally:
        stop_proxy(p)


def test_uncatalogued_host_is_tunnelled_not_decrypted(proxy, other_site, pki):
    # the client sees the site's own certificate: trusting only the upstream CA works...
    with httpx.Client(proxy=proxy.url, verify=trusting(pki.ca_file), timeout=10) as c:
        assert c.get(other_site.url).text == "plain upstream says hello"
    # ...and trusting only the proxy's CA fails, so the proxy did not intercept
    with httpx.Client(proxy=proxy.url, verify=trusting(proxy.ca), timeout=10) as c, pytest.raises(httpx.ConnectError):
        c.get(other_site.url)


def test_warn_forwards_unchanged_and_records(proxy_env, upstream):
    mark = len(proxy_env.records())
    marker = "WARNME-" + pysecrets.token_hex(8)
    with client(proxy_env) as c:
        c.post(f"{upstream.url}/v1/chat/completions", json={"messages": [{"role": "user", "content": marker}]})
    assert marker in upstream.last().body.decode()
    rec = proxy_env.wait_for_record(mark + 1)
    assert rec["decision"] == "warn" and rec["findings"][0]["rule"] == "test-warn-marker"


def test_metrics_count_requests_and_findings(proxy_env, upstream):
    token = fresh_github_token()
    with client(proxy_env) as c:
        c.post(f"{upstream.url}/v1/chat/completions", json={"messages": [{"role": "user", "content": token}]})
    page = proxy_env.metrics()
    assert 'llm_dlp_requests_total{decision="redact",endpoint="test-openai",tool="python-httpx"}' in page
    assert 'llm_dlp_findings_total{action="redact",rule="github-token"}' in page
    assert "llm_dlp_inspection_seconds_bucket" in page and "llm_dlp_rules_loaded" in page


def test_unapproved_package_warning_reaches_the_developer_and_the_audit(proxy_env, upstream):
    mark = len(proxy_env.records())
    oai = openai.OpenAI(base_url=f"{upstream.url}/v1", api_key="sk-test", http_client=client(proxy_env))
    reply = oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "pip install fastjsonx-turbo-ai"}])
    assert "not on the approved package list: `fastjsonx-turbo-ai` (pypi)" in reply.choices[0].message.content
    rec = proxy_env.wait_for_record(mark + 1)
    assert rec["packages"] == [{"name": "fastjsonx-turbo-ai", "ecosystem": "pypi", "status": "unapproved"}] and rec["model"] == "gpt-4o"
    ant = anthropic_client(proxy_env, upstream)
    with ant.messages.stream(
        model="claude-test-model", max_tokens=50, messages=[{"role": "user", "content": "try npm install left-padder-ai"}]
    ) as stream:
        text = "".join(stream.text_stream)
    assert text.startswith("You said: try npm install left-padder-ai") and "`left-padder-ai` (npm)" in text
    assert 'llm_dlp_package_warnings_total{ecosystem="npm",status="unapproved"}' in proxy_env.metrics()


def test_secret_in_model_output_is_redacted_and_audited(proxy_env, upstream):
    mark = len(proxy_env.records())
    token = fresh_github_token()
    oai = openai.OpenAI(base_url=f"{upstream.url}/v1", api_key="sk-test", http_client=client(proxy_env))
    # the request holds the token reversed (no secret); the fake model writes it out forwards,
    # split over 7-character events
    stream = oai.chat.completions.create(
        model="gpt-4o", stream=True, messages=[{"role": "user", "content": "REVERSE:" + token[::-1] + " :nekot"}]
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert token[::-1] in upstream.last().body.decode()
    assert token not in text and text.startswith("You said: token: [REDACTED:github-token:")
    rec = proxy_env.wait_for_record(mark + 1)
    assert [f["rule"] for f in rec["response_findings"]] == ["github-token"] and token not in json.dumps(rec)
    assert 'llm_dlp_response_findings_total{action="redact",rule="github-token"}' in proxy_env.metrics()
