"""Protected paths: globs, file regions in text, and every tool shape end to end through the proxy."""

from __future__ import annotations

import json

import pytest

from llm_dlp.detect.protected import file_regions
from llm_dlp.text.globs import glob_regex

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


@pytest.mark.parametrize("pattern, path, hit", [
    ("src/pricing/**", "/home/dev/repo/src/pricing/a/b.py", True),
    ("src/pricing/**", "src/pricing/x.py", True),
    ("src/pricing/**", "src/pricingx/x.py", False),
    ("**/.env", ".env", True),
    ("**/.env", "app/.env", True),
    ("**/.env", "app/.envrc", False),
    ("/etc/*.conf", "/etc/app.conf", True),
    ("/etc/*.conf", "/etc/sub/app.conf", False),
    ("*.PEM", "certs/server.pem", True),  # case-insensitive by default
])
def test_globs(pattern, path, hit):
    assert bool(glob_regex(pattern, False).search(path)) is hit


def test_file_regions_in_text():
    text = ('see <attachment id="a" filePath="/r/src/pricing/e.py">CODE1</attachment>\n'
            "```python\n// FILEPATH: src/pricing/f.py\nCODE2\n```\n"
            "src/pricing/g.py\n```python\nCODE3\n```\n"
            "```python src/ui/h.py\nCODE4\n```\n")
    found = {path: text[s:e].strip() for s, e, path in file_regions(text)}
    assert found == {"/r/src/pricing/e.py": "CODE1", "src/pricing/f.py": "CODE2", "src/pricing/g.py": "CODE3", "src/ui/h.py": "CODE4"}


CASES = {
    "copilot-completions": ("/v1/engines/copilot-codex/completions", {
        "prompt": "# Path: src/pricing/rates.py\n" + PRICING, "suffix": "\n", "stream": False, "nwo": "acme/shop",
        "extra": {"language": "python", "context": [{"path": "src/pricing/tiers.py", "content": PRICING + "# tiers"}, {"path": "src/ui/app.py", "content": OTHER}]}}),
    "copilot-chat": ("/v1/chat/completions", {"model": "gpt-4o", "messages": [
        {"role": "user", "content": f'<attachment id="f1" filePath="/home/dev/shop/src/pricing/engine.py">{PRICING}</attachment>\nWhy slow? Also {OTHER}'},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": json.dumps({"filePath": "src/pricing/bands.py"})}}]},
        {"role": "tool", "tool_call_id": "c1", "content": PRICING + "# bands"},
        {"role": "user", "content": f"```python\n// FILEPATH: src/pricing/more.py\n{PRICING}# more\n```\n{OTHER}"}]}),
    "claude-code": ("/v1/messages", {"model": "claude", "max_tokens": 10, "messages": [
        {"role": "user", "content": "optimise pricing"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "/repo/src/pricing/calc.py"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "     1\t" + PRICING.replace("\n", "\n     2\t")}, {"type": "text", "text": OTHER}]}]}),
    "codex": ("/v1/responses", {"model": "gpt-5-codex", "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context><cwd>/repo</cwd></environment_context> " + OTHER}]},
        {"type": "function_call", "call_id": "x1", "name": "shell", "arguments": json.dumps({"path": "src/pricing/calc.py", "command": ["cat", "src/pricing/calc.py"]})},
        {"type": "function_call_output", "call_id": "x1", "output": PRICING + "# codex"}]}),
    "gemini": ("/v1beta/models/gemini-2.5-pro:generateContent", {"contents": [
        {"role": "user", "parts": [{"text": OTHER}]},
        {"role": "model", "parts": [{"functionCall": {"name": "read_file", "args": {"path": "src/pricing/gem.py"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "read_file", "response": {"content": PRICING + "# gemini"}}}]}]}),
    "aider": ("/v1/chat/completions", {"model": "gpt-4o", "messages": [
        {"role": "user", "content": f"src/pricing/aider.py\n```python\n{PRICING}```\n\n{OTHER}"}]}),
}
