"""Rule files (schema, errors with file and line), the bundled rules' examples, and the CLI."""

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from llm_dlp.rules.files import RuleFileError, bundled_rules_dir
from llm_dlp.rules.ruleset import load_ruleset, run_examples
from secretgen import Gen, provider_tokens

LLM_DLP = [str(Path(sys.executable).parent / "llm-dlp")]


def run(*args, input=None):
    return subprocess.run([*LLM_DLP, *args], input=input, capture_output=True, text=True, timeout=60)


def test_bundled_rules_pass_their_examples():
    count, failures = run_examples(load_ruleset(bundled_rules_dir()))
    assert count > 80 and failures == []


@pytest.mark.parametrize("text, line, field", [
    ("secrets:\n  - id: x\n    action: explode\n    patterns: ['a']\n", 3, "secrets/0/action"),
    ("secrets:\n  - id: x\n    action: block\n    patterns: ['(unclosed']\n", 4, "secrets/0/patterns"),
    ("secrets:\n  - id: x\n    action: block\n    plugin: NoSuchDetector\n", 4, "secrets/0/plugin"),
    ("endpoints:\n  - id: e\n    hosts: [a.example]\n    protocol: carrier-pigeon\n", 4, "endpoints/0/protocol"),
    ("secrets: [\n", 2, ""),
])
def test_errors_name_file_line_and_field(tmp_path, text, line, field):
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(RuleFileError) as err:
        load_ruleset(tmp_path)
    e = err.value.errors[0]
    assert e.file.endswith("bad.yaml") and e.line == line and e.field == field
    out = run("rules", "check", str(tmp_path))
    assert out.returncode == 1 and f"bad.yaml:{line}" in out.stderr


def test_rules_test_reports_failing_examples(tmp_path):
    (tmp_path / "r.yaml").write_text("secrets:\n  - id: t\n    action: redact\n    patterns: ['tok_[0-9]{8}']\n    examples:\n      match: ['tok_123']\n      no_match: ['tok_12345678']\n")
    out = run("rules", "test", str(tmp_path))
    assert out.returncode == 1 and "0 passed, 2 failed" in out.stdout and "t: expected a match" in out.stdout


def test_scan_json_offsets_and_exit_codes(tmp_path):
    token = dict(provider_tokens(Gen(random.Random())))["github-pat"]
    f = tmp_path / "a.py"
    f.write_text(f"x = 1\nTOKEN = '{token}'\n")
    out = run("scan", "--json", str(f))
    assert out.returncode == 1
    rec = json.loads(out.stdout.splitlines()[0])
    assert rec["rule"] == "github-token" and rec["line"] == 2 and f.read_text()[rec["start"]:rec["end"]] == token
    assert "field" not in rec
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": f"use {token}"}]})
    out = run("scan", "--json", "-", input=body)
    rec = json.loads(out.stdout)
    assert rec["field"] == "/messages/0/content" and json.loads(body)["messages"][0]["content"][rec["start"]:rec["end"]] == token
    red = run("scan", "--redact", "-", input=body)
    assert token not in red.stdout and "[REDACTED:github-token:" in json.loads(red.stdout)["messages"][0]["content"]
    clean = tmp_path / "clean.py"
    clean.write_text("print('hello')\n")
    assert run("scan", str(clean)).returncode == 0
    assert run("scan", str(tmp_path / "missing")).returncode == 2


def test_engine_finds_whole_pem_and_every_repeat():
    g = Gen(random.Random())
    key = g.pem("RSA PRIVATE KEY")
    rs = load_ruleset(bundled_rules_dir())
    text = f"k = '''{key}'''\n" + json.dumps({"private_key": key})
    found = [f for f in rs.detector.scan(text) if f.rule_id == "private-key"]
    assert text[found[0].start:found[0].end] == key
    assert text[found[1].start:found[1].end] == json.dumps(key)[1:-1]
    pw = g.password()
    text = f'DB_PASSWORD = "{pw}"\nconnect(user, "{pw}")\nlog({pw!r})'
    assert [text[f.start:f.end] for f in rs.detector.scan(text)] == [pw, pw, pw]


def test_documented_examples_are_not_findings():
    rs = load_ruleset(bundled_rules_dir())
    text = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\napi_key = 'your-api-key-here'\ntoken = 'xxxxxxxxxxxxxxxx'\npassword = '${DB_PASSWORD}'\n"
    assert rs.detector.scan(text) == []


def test_rules_check_bundled_ok():
    out = run("rules", "check")
    assert out.returncode == 0 and "secret rules" in out.stdout


def test_partly_overlapping_findings_widen_instead_of_leaving_a_tail(tmp_path):
    (tmp_path / "r.yaml").write_text(
        "secrets:\n"
        "  - id: long\n    action: redact\n    patterns: ['AAAA[0-9]{12}']\n"
        "  - id: short\n    action: redact\n    patterns: ['[0-9]{8}ZZZZ']\n")
    det = load_ruleset(tmp_path).detector
    text = "x AAAA123456789012ZZZZ y"
    (f,) = det.scan(text)
    assert (f.rule_id, text[f.start:f.end]) == ("long", "AAAA123456789012ZZZZ")


def test_keyhash_matches_the_proxy(tmp_path, monkeypatch):
    from llm_dlp.act.placeholders import Keyring

    env_key = "k" * 32
    out = subprocess.run([*LLM_DLP, "keyhash", "--confdir", str(tmp_path)], input="sk-org-123\n", capture_output=True, text=True,
                         env={"LLM_DLP_PLACEHOLDER_KEY": env_key, "PATH": "/usr/bin:/bin"}, timeout=60)
    assert out.stdout.strip() == Keyring(env_key.encode()).fingerprint("sk-org-123")


@pytest.mark.parametrize("headers, tool", [
    ({"user-agent": "GitHubCopilotChat/0.22.4", "copilot-integration-id": "vscode-chat", "editor-version": "vscode/1.95.0"}, "copilot-chat"),
    ({"user-agent": "GithubCopilot/1.250.0", "editor-plugin-version": "copilot/1.250.0", "editor-version": "vscode/1.95.0"}, "copilot-completions"),
    ({"user-agent": "claude-cli/2.0.14 (external, cli)", "x-app": "cli", "anthropic-beta": "claude-code-20250219"}, "claude-code"),
    ({"user-agent": "codex_cli_rs/0.46.0 (Debian 12; x86_64)", "originator": "codex_cli_rs"}, "codex-cli"),
    ({"user-agent": "litellm/1.50.0", "x-stainless-lang": "python"}, "aider"),
    ({"user-agent": "GeminiCLI/0.9.0 (linux; x64)"}, "gemini-cli"),
    ({"user-agent": "OpenAI/Python 1.54.0", "x-stainless-lang": "python"}, "openai-sdk-python"),
    ({"user-agent": "Anthropic/Python 0.40.0"}, "anthropic-sdk-python"),
    ({"user-agent": "curl/7.88.1"}, "curl"),
    ({"user-agent": "SomethingElse/1.0"}, "unknown"),
])
def test_tool_signatures(headers, tool):
    from mitmproxy.http import Headers

    classifier = load_ruleset(bundled_rules_dir()).tools
    assert classifier.classify(Headers(**{k.replace("-", "_"): v for k, v in headers.items()})) == tool
