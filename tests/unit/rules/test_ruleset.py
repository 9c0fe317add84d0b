"""Rule files (schema, errors with file and line), the bundled rules' examples, and the CLI."""

import json
import random

import pytest

from llm_dlp.rules.files import RuleFileError
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


def _fragment_rules(tmp_path, fragments: str, pattern: str):
    (tmp_path / "a.yaml").write_text(f"fragments:\n{fragments}")
    (tmp_path / "b.yaml").write_text(f"secrets:\n  - id: named\n    action: redact\n    ignore_case: true\n    patterns: ['{pattern}']\n")
    return load_ruleset(tmp_path)


def test_a_fragment_of_one_file_serves_the_patterns_of_another(tmp_path):
    rs = _fragment_rules(tmp_path, "  cred: '[a-z_]*(?:token|secret)'\n", r"{cred}\s*=\s*(?P<secret>[A-Z0-9]{12})\b|\{cred\}")
    text = "WIDGET_TOKEN = Q7K2M9X4P1Z8 and {cred}"
    assert [text[f.start : f.end] for f in rs.detector.scan(text)] == ["Q7K2M9X4P1Z8", "{cred}"]


@pytest.mark.parametrize(
    "fragments, pattern, message",
    [
        (
            "  cred: 'token'\n",
            "{credential}=(?P<secret>\\\\w+)",
            "b.yaml:5: secrets/0/patterns: no fragment named {credential} (fragments: cred)",
        ),
        ("  cred: '(token'\n", "{cred}=(?P<secret>\\\\w+)", "a.yaml:2: fragments/cred: invalid regex"),
    ],
)
def test_fragment_mistakes_are_reported_with_file_and_line(tmp_path, fragments, pattern, message):
    with pytest.raises(RuleFileError) as exc:
        _fragment_rules(tmp_path, fragments, pattern)
    assert message in str(exc.value)


def test_a_fragment_defined_in_two_files_is_refused(tmp_path):
    (tmp_path / "c.yaml").write_text("fragments:\n  cred: 'secret'\n")
    with pytest.raises(RuleFileError, match="fragment defined twice"):
        _fragment_rules(tmp_path, "  cred: 'token'\n", "{cred}=(?P<secret>\\\\w+)")
