"""``llm-dlp scan`` answers "what would the proxy do": the same bodies sent through the running
proxy and given to ``scan --json`` yield the same findings (same rule, field, offsets, action and
value hash), because both run the one request pipeline."""

from __future__ import annotations

import json
import os
import random
import ssl
import subprocess

import httpx
import pytest

from support.proxy import LLM_DLP
from support.secretgen import Gen, provider_tokens


def bodies() -> list[tuple[str, str, dict]]:
    tokens = dict(provider_tokens(Gen(random.Random(5))))
    gh, slack = tokens["github-pat"], tokens["slack-bot"]
    return [
        (
            "openai",
            "/v1/chat/completions",
            {
                "model": "m",
                "messages": [
                    {"role": "user", "content": f"deploy with {gh} please"},
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "read", "arguments": '{"path": ".env"}'}}],
                    },
                    {"role": "tool", "tool_call_id": "c1", "content": f"SLACK={slack}\nDEBUG=1\n"},
                ],
            },
        ),
        ("openai", "/v1/responses", {"model": "m", "input": f"token {slack} and BLOCKME-0123456789abcdef"}),
        (
            "anthropic",
            "/v1/messages",
            {
                "model": "m",
                "max_tokens": 10,
                "messages": [{"role": "user", "content": [{"type": "text", "text": f"WARNME-0123456789abcdef {gh}"}]}],
            },
        ),
        ("gemini", "/v1beta/models/g:generateContent", {"contents": [{"role": "user", "parts": [{"text": f"key={gh}"}]}]}),
    ]


def comparable(findings: list[dict]) -> list[tuple]:
    return sorted(
        (f["rule"], f.get("field", ""), f.get("start"), f.get("end"), f["action"], f["value_hash"], f.get("path")) for f in findings
    )


@pytest.mark.parametrize("family, path, doc", bodies(), ids=lambda v: v if isinstance(v, str) else "")
def test_scan_and_proxy_report_the_same_findings(proxy, upstream, tmp_path, family, path, doc):
    body = json.dumps(doc).encode()
    count = len(proxy.records())
    with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=20) as c:
        c.post(f"{upstream.url}{path}", content=body, headers={"content-type": "application/json"})
    seen_by_proxy = proxy.wait_for_record(count + 1)["findings"]
    (tmp_path / "body.json").write_bytes(body)
    env = {**os.environ, "LLM_DLP_PLACEHOLDER_KEY": "test-placeholder-key-0123456789"}
    out = subprocess.run(
        [str(LLM_DLP), "scan", str(tmp_path / "body.json"), "--json", "--protocol", family, "--path", path, "--rules", str(proxy.rules)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 1, out.stderr
    seen_by_scan = [json.loads(line) for line in out.stdout.splitlines()]
    assert seen_by_proxy and comparable(seen_by_scan) == comparable(seen_by_proxy)
