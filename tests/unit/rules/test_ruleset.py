"""Rule files (schema, errors with file and line), the bundled rules' examples, and the CLI."""

import json
import random

import pytest

from llm_dlp.rules.ruleset import load_ruleset, run_examples
from support.rules import bundled
from support.secretgen import Gen


def test_bundled_rules_pass_their_examples():
    count, failures = run_examples(bundled())
    assert count > 80 and failures == []


def test_engine_finds_whole_pem_and_every_repeat():
    g = Gen(random.Random())
    key = g.pem("RSA PRIVATE KEY")
    rs = bundled()
    text = f"k = '''{key}'''\n" + json.dumps({"private_key": key})
    found = [f for f in rs.detector.scan(text) if f.rule_id == "private-key"]
    assert text[found[0].start : found[0].end] == key
    assert text[found[1].start : found[1].end] == json.dumps(key)[1:-1]
    pw = g.password()
    text = f'DB_PASSWORD = "{pw}"\nconnect(user, "{pw}")\nlog({pw!r})'
    assert [text[f.start : f.end] for f in rs.detector.scan(text)] == [pw, pw, pw]


def test_documented_examples_are_not_findings():
    rs = bundled()
    text = (
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\napi_key = 'your-api-key-here'\ntoken = 'xxxxxxxxxxxxxxxx'\npassword = '${DB_PASSWORD}'\n"
    )
    assert rs.detector.scan(text) == []


def test_partly_overlapping_findings_widen_instead_of_leaving_a_tail(tmp_path):
    (tmp_path / "r.yaml").write_text(
        "secrets:\n"
        "  - id: long\n    action: redact\n    patterns: ['AAAA[0-9]{12}']\n"
        "  - id: short\n    action: redact\n    patterns: ['[0-9]{8}ZZZZ']\n"
    )
    det = load_ruleset(tmp_path).detector
    text = "x AAAA123456789012ZZZZ y"
    (f,) = det.scan(text)
    assert (f.rule_id, text[f.start : f.end]) == ("long", "AAAA123456789012ZZZZ")


@pytest.mark.parametrize(
    "headers, tool",
    [
        (
            {"user-agent": "GitHubCopilotChat/0.22.4", "copilot-integration-id": "vscode-chat", "editor-version": "vscode/1.95.0"},
            "copilot-chat",
        ),
        (
            {"user-agent": "GithubCopilot/1.250.0", "editor-plugin-version": "copilot/1.250.0", "editor-version": "vscode/1.95.0"},
            "copilot-completions",
        ),
        ({"user-agent": "claude-cli/2.0.14 (external, cli)", "x-app": "cli", "anthropic-beta": "claude-code-20250219"}, "claude-code"),
        ({"user-agent": "codex_cli_rs/0.46.0 (Debian 12; x86_64)", "originator": "codex_cli_rs"}, "codex-cli"),
        ({"user-agent": "litellm/1.50.0", "x-stainless-lang": "python"}, "aider"),
        ({"user-agent": "GeminiCLI/0.9.0 (linux; x64)"}, "gemini-cli"),
        ({"user-agent": "OpenAI/Python 1.54.0", "x-stainless-lang": "python"}, "openai-sdk-python"),
        ({"user-agent": "Anthropic/Python 0.40.0"}, "anthropic-sdk-python"),
        ({"user-agent": "curl/7.88.1"}, "curl"),
        ({"user-agent": "SomethingElse/1.0"}, "unknown"),
    ],
)
def test_tool_signatures(headers, tool):
    from mitmproxy.http import Headers

    classifier = bundled().tools
    assert classifier.classify(Headers(**{k.replace("-", "_"): v for k, v in headers.items()})) == tool
