"""Rule files (schema, errors with file and line), the bundled rules' examples, and the CLI."""

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from llm_dlp.rules.files import RuleFileError
from llm_dlp.rules.ruleset import load_ruleset
from support.secretgen import Gen, provider_tokens

LLM_DLP = [str(Path(sys.executable).parent / "llm-dlp")]


def run(*args, input=None):
    return subprocess.run([*LLM_DLP, *args], input=input, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "text, line, field",
    [
        ("secrets:\n  - id: x\n    action: explode\n    patterns: ['a']\n", 3, "secrets/0/action"),
        ("secrets:\n  - id: x\n    action: block\n    patterns: ['(unclosed']\n", 4, "secrets/0/patterns"),
        ("secrets:\n  - id: x\n    action: block\n    plugin: NoSuchDetector\n", 4, "secrets/0/plugin"),
        ("endpoints:\n  - id: e\n    hosts: [a.example]\n    protocol: carrier-pigeon\n", 4, "endpoints/0/protocol"),
        ("secrets: [\n", 2, ""),
    ],
)
def test_errors_name_file_line_and_field(tmp_path, text, line, field):
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(RuleFileError) as err:
        load_ruleset(tmp_path)
    e = err.value.errors[0]
    assert e.file.endswith("bad.yaml") and e.line == line and e.field == field
    out = run("rules", "check", str(tmp_path))
    assert out.returncode == 1 and f"bad.yaml:{line}" in out.stderr


def test_rules_test_reports_failing_examples(tmp_path):
    (tmp_path / "r.yaml").write_text(
        "secrets:\n  - id: t\n    action: redact\n    patterns: ['tok_[0-9]{8}']\n    examples:\n      match: ['tok_123']\n      no_match: ['tok_12345678']\n"
    )
    out = run("rules", "test", str(tmp_path))
    assert out.returncode == 1 and "0 passed, 2 failed" in out.stdout and "t: expected a match" in out.stdout


def test_scan_json_offsets_and_exit_codes(tmp_path):
    token = dict(provider_tokens(Gen(random.Random())))["github-pat"]
    f = tmp_path / "a.py"
    f.write_text(f"x = 1\nTOKEN = '{token}'\n")
    out = run("scan", "--json", str(f))
    assert out.returncode == 1
    rec = json.loads(out.stdout.splitlines()[0])
    assert rec["rule"] == "github-token" and rec["line"] == 2 and f.read_text()[rec["start"] : rec["end"]] == token
    assert "field" not in rec
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": f"use {token}"}]})
    out = run("scan", "--json", "-", input=body)
    rec = json.loads(out.stdout)
    assert rec["field"] == "/messages/0/content" and json.loads(body)["messages"][0]["content"][rec["start"] : rec["end"]] == token
    red = run("scan", "--redact", "-", input=body)
    assert token not in red.stdout and "[REDACTED:github-token:" in json.loads(red.stdout)["messages"][0]["content"]
    clean = tmp_path / "clean.py"
    clean.write_text("print('hello')\n")
    assert run("scan", str(clean)).returncode == 0
    assert run("scan", str(tmp_path / "missing")).returncode == 2
    refused = run("scan", "-", input='{"messages": [], "messages": []}')  # the proxy would answer 400
    assert refused.returncode == 2 and "refused (duplicate_key)" in refused.stderr


def test_rules_check_bundled_ok():
    out = run("rules", "check")
    assert out.returncode == 0 and "secret rules" in out.stdout


def test_keyhash_matches_the_proxy(tmp_path, monkeypatch):
    from llm_dlp.act.placeholders import Keyring

    env_key = "k" * 32
    out = subprocess.run(
        [*LLM_DLP, "keyhash", "--confdir", str(tmp_path)],
        input="sk-org-123\n",
        capture_output=True,
        text=True,
        env={"LLM_DLP_PLACEHOLDER_KEY": env_key, "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert out.stdout.strip() == Keyring(env_key.encode()).fingerprint("sk-org-123")


@pytest.mark.parametrize("secrets", [None, "", "secrets: []\n"])
def test_rules_check_fails_without_secret_rules(tmp_path, secrets):
    (tmp_path / "endpoints.yaml").write_text("endpoints:\n  - id: e\n    hosts: [a.example]\n    protocol: openai\n")
    if secrets is not None:
        (tmp_path / "secrets.yaml").write_text(secrets)
    out = run("rules", "check", str(tmp_path))
    assert out.returncode == 1 and "no secret rules" in out.stderr and "ok:" not in out.stdout
    (tmp_path / "policy.yaml").write_text("policy:\n  allow_fewer_secret_rules: true\n")
    assert run("rules", "check", str(tmp_path)).returncode == 0


GITLEAKS = """
[allowlist]
stopwords = ["notreal"]

[[rules]]
id = "corp-deploy-key"
description = "Corp deploy key"
regex = '''\\b(corpdk_[a-z0-9]{30})\\b'''
secretGroup = 1
keywords = ["corpdk_"]

[[rules]]
id = "keystore"
path = '''\\.jks$'''

[[rules]]
id = "greek"
regex = '''\\p{Greek}+'''
"""


def test_rules_import_gitleaks_writes_a_rule_file_that_checks_and_scans(tmp_path):
    config = tmp_path / "corp.toml"
    config.write_text(GITLEAKS)
    out = run("rules", "import", "gitleaks", str(config), "--out", str(tmp_path / "rules"))
    assert out.returncode == 1  # something was left out, and said so
    assert "keystore: not converted: a path-only rule" in out.stderr and "greek: not converted: Unicode" in out.stderr
    assert "converted 1 rules" in out.stderr
    assert (tmp_path / "rules" / "corp.yaml").is_file()
    assert run("rules", "check", str(tmp_path / "rules")).returncode == 0
    key = "corpdk_" + "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(30))
    f = tmp_path / "deploy.sh"
    f.write_text(f"DEPLOY={key}\n")
    rec = json.loads(run("scan", "--json", "--rules", str(tmp_path / "rules"), str(f)).stdout)
    assert rec["rule"] == "gitleaks.corp-deploy-key" and f.read_text()[rec["start"] : rec["end"]] == key
    printed = run("rules", "import", "gitleaks", str(config))
    assert "gitleaks.corp-deploy-key" in printed.stdout and printed.stdout.startswith("# Converted from")
    (tmp_path / "bad.toml").write_text("[[rules]\n")
    assert run("rules", "import", "gitleaks", str(tmp_path / "bad.toml")).returncode == 2


def test_scan_of_a_large_file_reports_every_finding_with_its_line(tmp_path):
    tokens = [
        "ghp_" + "".join(random.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(36))
        for _ in range(300)
    ]
    filler = "def f(x):\n    return x\n" * 200
    f = tmp_path / "big.py"
    f.write_text("".join(f"{filler}T{i} = '{t}'\n" for i, t in enumerate(tokens)))
    lines = f.read_text().splitlines()
    records = [json.loads(line) for line in run("scan", "--json", "--protocol", "text", str(f)).stdout.splitlines()]
    assert [r["line"] for r in records] == [i + 1 for i, line in enumerate(lines) if line.startswith("T")]
