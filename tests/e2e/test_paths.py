"""Protected paths: globs, file regions in text, and every tool shape end to end through the proxy."""

from __future__ import annotations

import json
import ssl

import httpx
import pytest

from support.proxy import start_proxy, stop_proxy

PRICING = "def tiered_price(units):\n    return sum(RATE_TABLE[band] * min(units, cap) for band, cap in BANDS)  # margin model v7\n"
OTHER = "def render_button(label):\n    return f'<button>{label}</button>'\n"
NOTE = "was withheld by policy pricing"

PATHS = """
paths:
  - id: pricing
    patterns: ["src/pricing/**"]
    action: redact
  - id: key-vault
    patterns: ["**/internal/keys/**"]
    action: block
"""


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, pki, upstream):
    p = start_proxy(tmp_path_factory.mktemp("paths"), pki, upstream.port, files={"paths-test.yaml": PATHS})
    yield p
    stop_proxy(p)


def send(proxy, upstream, path, body):
    with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=20) as c:
        return c.post(f"{upstream.url}{path}", json=body)


CASES = {
    "copilot-completions": (
        "/v1/engines/copilot-codex/completions",
        {
            "prompt": "# Path: src/pricing/rates.py\n" + PRICING,
            "suffix": "\n",
            "stream": False,
            "nwo": "acme/shop",
            "extra": {
                "language": "python",
                "context": [{"path": "src/pricing/tiers.py", "content": PRICING + "# tiers"}, {"path": "src/ui/app.py", "content": OTHER}],
            },
        },
    ),
    "copilot-chat": (
        "/v1/chat/completions",
        {
            "model": "gpt-4o",
            "messages": [
                {
                    "role": "user",
                    "content": f'<attachment id="f1" filePath="/home/dev/shop/src/pricing/engine.py">{PRICING}</attachment>\nWhy slow? Also {OTHER}',
                },
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "read_file", "arguments": json.dumps({"filePath": "src/pricing/bands.py"})},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": PRICING + "# bands"},
                {"role": "user", "content": f"```python\n// FILEPATH: src/pricing/more.py\n{PRICING}# more\n```\n{OTHER}"},
            ],
        },
    ),
    "claude-code": (
        "/v1/messages",
        {
            "model": "claude",
            "max_tokens": 10,
            "messages": [
                {"role": "user", "content": "optimise pricing"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "/repo/src/pricing/calc.py"}}],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t1", "content": "     1\t" + PRICING.replace("\n", "\n     2\t")},
                        {"type": "text", "text": OTHER},
                    ],
                },
            ],
        },
    ),
    "codex": (
        "/v1/responses",
        {
            "model": "gpt-5-codex",
            "input": [
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "<environment_context><cwd>/repo</cwd></environment_context> " + OTHER}],
                },
                {
                    "type": "function_call",
                    "call_id": "x1",
                    "name": "shell",
                    "arguments": json.dumps({"path": "src/pricing/calc.py", "command": ["cat", "src/pricing/calc.py"]}),
                },
                {"type": "function_call_output", "call_id": "x1", "output": PRICING + "# codex"},
            ],
        },
    ),
    "gemini": (
        "/v1beta/models/gemini-2.5-pro:generateContent",
        {
            "contents": [
                {"role": "user", "parts": [{"text": OTHER}]},
                {"role": "model", "parts": [{"functionCall": {"name": "read_file", "args": {"path": "src/pricing/gem.py"}}}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "read_file", "response": {"content": PRICING + "# gemini"}}}]},
            ]
        },
    ),
    "aider": (
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": [{"role": "user", "content": f"src/pricing/aider.py\n```python\n{PRICING}```\n\n{OTHER}"}]},
    ),
}


@pytest.mark.parametrize("tool", sorted(CASES))
def test_protected_file_withheld_rest_intact(proxy, upstream, tool):
    path, body = CASES[tool]
    mark = len(proxy.records())
    r = send(proxy, upstream, path, body)
    sent = upstream.last().body.decode()
    assert "RATE_TABLE" not in sent, tool  # not one copy of the pricing code left
    assert NOTE in sent and "render_button" in sent
    json.loads(sent)  # still a valid body
    rec = proxy.wait_for_record(mark + 1)
    assert rec["decision"] == "redact" and {f["rule"] for f in rec["findings"]} == {"pricing"}
    assert all(f["path"].endswith(".py") and "src/pricing/" in f["path"] for f in rec["findings"])
    assert r.status_code == 200


def test_blocked_path(proxy, upstream):
    body = {
        "model": "claude",
        "max_tokens": 10,
        "messages": [
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "/srv/internal/keys/signing.txt"}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "a signing seed"}]},
        ],
    }
    before = len(upstream.received)
    r = send(proxy, upstream, "/v1/messages", body)
    assert r.status_code == 403 and "protected path /srv/internal/keys/signing.txt (rule key-vault)" in r.json()["error"]["message"]
    assert len(upstream.received) == before


def test_unrelated_request_untouched(proxy, upstream):
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": f"src/ui/app.py\n```python\n{OTHER}```"}]}
    send(proxy, upstream, "/v1/chat/completions", body)
    assert json.loads(upstream.last().body) == body
