"""Amazon Bedrock through the real proxy: a ConverseStream and an InvokeModelWithResponseStream
request with a secret is redacted upstream and the secret restored in the AWS event-stream answer,
which botocore's parser still reads; a SigV4-signed body with a secret is blocked (its signature
covers the body); a corrupted stream is ended with an exception frame, its unread bytes withheld."""

from __future__ import annotations

import json
import random
import ssl

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from support import eventstream
from support.bedrock_upstream import serve_bedrock
from support.proxy import start_proxy, stop_proxy
from support.secretgen import Gen, provider_tokens

CATALOG = """
version: 1
endpoints:
  - id: test-bedrock
    hosts: ["127.0.0.1"]
    ports: [{port}]
    path_prefixes: [/model/]
    protocol: bedrock
"""
MODEL = "us.anthropic.claude-x-v1:0"


@pytest.fixture(scope="module")
def bedrock(pki):
    server, up = serve_bedrock(pki)
    yield up
    server.shutdown()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, pki, bedrock):
    p = start_proxy(tmp_path_factory.mktemp("bedrock"), pki, bedrock.port, files={"zz-bedrock.yaml": CATALOG.format(port=bedrock.port)})
    yield p
    stop_proxy(p)


@pytest.fixture
def client(proxy):
    with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=20) as c:
        yield c


def secret() -> str:
    return dict(provider_tokens(Gen(random.Random())))["github-pat"]


def converse_body(text: str) -> bytes:
    return json.dumps({"messages": [{"role": "user", "content": [{"text": text}]}], "inferenceConfig": {"maxTokens": 100}}).encode()


def streamed_text(data: bytes) -> str:
    """What an SDK client assembles from the answer, read with botocore's own event-stream parser."""
    text = ""
    for doc in eventstream.payloads(data):
        delta = doc.get("delta") or {}
        text += delta.get("text", "") if isinstance(delta, dict) else ""
    return text


def signed_headers(url: str, body: bytes) -> dict[str, str]:
    request = AWSRequest("POST", url, data=body, headers={"content-type": "application/json"})
    SigV4Auth(Credentials("AKIDEXAMPLE", "example-signing-key-for-tests"), "bedrock", "us-east-1").add_auth(request)
    return dict(request.headers)


def test_converse_stream_secret_is_redacted_upstream_and_restored_in_the_event_stream(client, bedrock, proxy):
    token = secret()
    url = f"{bedrock.url}/model/{MODEL}/converse-stream"
    r = client.post(url, content=converse_body(f"deploy with {token} please"), headers={"authorization": "Bearer bedrock-api-key-test"})
    assert r.status_code == 200 and r.headers["content-type"] == eventstream.CONTENT_TYPE
    sent = bedrock.last().body.decode()
    assert token not in sent and "[REDACTED:" in sent
    assert streamed_text(r.content) == f"You said: deploy with {token} please"  # every frame parsed by botocore, CRCs valid
    record = proxy.records()[-1]
    assert record["decision"] == "redact" and record["endpoint"] == "test-bedrock"


def test_invoke_with_response_stream_restores_inside_base64_chunks(client, bedrock):
    token = secret()
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "messages": [{"role": "user", "content": f"use {token} now"}]}
    r = client.post(
        f"{bedrock.url}/model/{MODEL}/invoke-with-response-stream", json=body, headers={"authorization": "Bearer bedrock-api-key-test"}
    )
    assert r.status_code == 200
    sent = json.loads(bedrock.last().body)
    assert token not in json.dumps(sent) and sent["anthropic_version"] == "bedrock-2023-05-31"
    chunks = eventstream.messages(r.content)
    assert {m.headers[":event-type"] for m in chunks} == {"chunk"}
    assert all(json.loads(m.payload)["p"] == "abcdefghijklmnop" for m in chunks)  # the chunk's other members kept
    text = "".join(e["delta"]["text"] for e in eventstream.payloads(r.content) if e["type"] == "content_block_delta")
    assert text == f"You said: use {token} now"


def test_a_sigv4_signed_body_with_a_secret_is_blocked_not_redacted(client, bedrock, proxy):
    token = secret()
    url = f"{bedrock.url}/model/{MODEL}/converse"
    body = converse_body(f"deploy with {token}")
    before = len(bedrock.received)
    r = client.post(url, content=body, headers=signed_headers(url, body))
    assert r.status_code == 403 and len(bedrock.received) == before  # nothing reached the service
    assert r.headers["x-amzn-errortype"] == "AccessDeniedException"
    message = r.json()["message"]
    assert "signed (AWS SigV4)" in message and "Bedrock API key (Bearer)" in message and token not in message
    record = proxy.records()[-1]
    assert record["decision"] == "block" and record["reason"] == "signed_body"


def test_a_sigv4_signed_body_without_secrets_is_forwarded_untouched(client, bedrock):
    url = f"{bedrock.url}/model/{MODEL}/converse"
    body = converse_body("just refactor this loop")
    r = client.post(url, content=body, headers=signed_headers(url, body))
    assert r.status_code == 200 and bedrock.last().body == body
    assert r.json()["output"]["message"]["content"][0]["text"] == "You said: just refactor this loop"


def test_a_corrupted_event_stream_ends_with_an_exception_and_nothing_unread(client, bedrock, proxy):
    token = secret()
    url = f"{bedrock.url}/model/{MODEL}/converse-stream"
    r = client.post(url, content=converse_body(f"deploy with {token} please"), headers={"authorization": "Bearer k", "x-fake-corrupt": "1"})
    messages = eventstream.messages(r.content)  # botocore reads the whole answer: no damaged frame reached the client
    assert messages[-1].headers[":message-type"] == "exception" and b"llm-dlp" in messages[-1].payload
    # messageStart and the first delta (what was held back of it included), then the exception instead of the damaged rest
    assert [m.headers[":event-type"] for m in messages[:-1]] == ["messageStart"] + ["contentBlockDelta"] * (len(messages) - 2)
    assert streamed_text(r.content) == "You sai"  # the first delta's 7 characters, nothing of the damaged frame
    assert "[REDACTED:" not in r.content.decode("latin-1")
    assert 'kind="bad_message_crc"' in proxy.metrics()
