"""Vertex AI-shaped requests through the real proxy: Gemini's generateContent and Anthropic's
rawPredict under /v1/projects/{p}/locations/{region}/publishers/{publisher}/models/{model}, each
read by its own protocol (the catalog routes them by path), redacted upstream and restored."""

from __future__ import annotations

import json
import random
import ssl

import httpx
import pytest

from support.proxy import start_proxy, stop_proxy
from support.secretgen import Gen, provider_tokens

# the fake upstream stands for {region}-aiplatform.googleapis.com (no DNS in the tests)
VERTEX_RULES = """
endpoints:
  - id: test-vertex-gemini
    hosts: ["127.0.0.1"]
    ports: [{port}]
    path_prefixes: [/v1/projects/*/locations/*/publishers/google/]
    protocol: gemini
  - id: test-vertex-anthropic
    hosts: ["127.0.0.1"]
    ports: [{port}]
    path_prefixes: [/v1/projects/*/locations/*/publishers/anthropic/]
    protocol: anthropic
"""
BASE = "/v1/projects/acme-dev/locations/europe-west4/publishers"
REQUESTS = {
    "gemini": (
        f"{BASE}/google/models/gemini-2.5-pro:generateContent",
        lambda t: {"contents": [{"role": "user", "parts": [{"text": f"why does {t} fail?"}]}]},
    ),
    "anthropic": (
        f"{BASE}/anthropic/models/claude-sonnet-4:rawPredict",
        lambda t: {
            "anthropic_version": "vertex-2023-10-16",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": [{"type": "text", "text": f"why does {t} fail?"}]}],
        },
    ),
}


@pytest.fixture(scope="module")
def vertex_proxy(tmp_path_factory, pki, upstream):
    proxy = start_proxy(
        tmp_path_factory.mktemp("vertex"), pki, upstream.port, files={"vertex.yaml": VERTEX_RULES.format(port=upstream.port)}
    )
    yield proxy
    stop_proxy(proxy)


@pytest.mark.parametrize("publisher", sorted(REQUESTS))
def test_vertex_requests_are_inspected_by_their_publishers_protocol(vertex_proxy, upstream, publisher):
    token = dict(provider_tokens(Gen(random.Random())))["github-pat"]
    path, body = REQUESTS[publisher]
    count = len(vertex_proxy.records())
    with httpx.Client(proxy=vertex_proxy.url, verify=ssl.create_default_context(cafile=str(vertex_proxy.ca)), timeout=20) as c:
        r = c.post(f"{upstream.url}{path}", json=body(token), headers={"authorization": "Bearer ya29.test-oauth-token"})
    sent = upstream.last().json()
    assert token not in json.dumps(sent) and sent.get("anthropic_version", "vertex-2023-10-16") == "vertex-2023-10-16"
    assert r.status_code == 200 and token in r.text  # the model's echo, restored for the developer
    record = vertex_proxy.wait_for_record(count + 1)
    assert (record["endpoint"], record["protocol"], record["decision"]) == (f"test-vertex-{publisher}", publisher, "redact")
    assert record["findings"][0]["field"].startswith("/contents/0/parts/0/text" if publisher == "gemini" else "/messages/0/content/0/text")
