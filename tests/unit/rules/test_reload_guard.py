"""Rules that can't disarm the proxy: an empty file, no secret rules, or a large drop is refused
unless the policy says it is intended."""

from __future__ import annotations

import shutil

import pytest

from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import MIN_LIVE_SHARE, disarm_errors, load_ruleset

RULE = "  - id: r{n}\n    action: redact\n    patterns: ['tok{n}_[0-9]{{8}}']\n"


def rules_dir(tmp_path, count: int, extra: str = ""):
    (tmp_path / "secrets.yaml").write_text("secrets:\n" + "".join(RULE.format(n=n) for n in range(count)) if count else extra)
    return load_ruleset(tmp_path)


def test_the_bundled_rules_are_armed():
    live = load_ruleset(bundled_rules_dir())
    assert disarm_errors(live) == [] and disarm_errors(live, live) == []


@pytest.mark.parametrize("content", ["", "# being rewritten\n", "secrets: []\n", "version: 1\n"])
def test_an_empty_file_or_no_secret_rules_disarms(tmp_path, content):
    errors = disarm_errors(rules_dir(tmp_path, 0, content))
    assert errors and all("allow_fewer_secret_rules" in str(e) for e in errors)
    assert any("no secret rules" in str(e) for e in errors)


def test_a_missing_secrets_file_disarms(tmp_path):
    shutil.copy(bundled_rules_dir() / "endpoints.yaml", tmp_path)
    (error,) = disarm_errors(load_ruleset(tmp_path))
    assert error.field == "secrets" and "no secret rules" in error.message


def test_an_empty_file_beside_secret_rules_disarms(tmp_path):
    (tmp_path / "tools.yaml").write_text("")
    (error,) = disarm_errors(rules_dir(tmp_path, 3))
    assert error.file.endswith("tools.yaml") and "the file is empty" in error.message


def test_a_reload_that_keeps_fewer_than_half_of_the_live_rules_disarms(tmp_path):
    for name in ("live", "new"):
        (tmp_path / name).mkdir()
    live = rules_dir(tmp_path / "live", 10)
    half = rules_dir(tmp_path / "new", int(10 * MIN_LIVE_SHARE))
    assert disarm_errors(half, live) == []
    fewer = rules_dir(tmp_path / "new", int(10 * MIN_LIVE_SHARE) - 1)
    (error,) = disarm_errors(fewer, live)
    assert "4 secret rules, fewer than 50% of the 10 live ones" in error.message
    assert disarm_errors(fewer) == []  # at start there is no live set to compare with


def test_the_policy_can_say_it_is_intended(tmp_path):
    (tmp_path / "policy.yaml").write_text("policy:\n  allow_fewer_secret_rules: true\n")
    assert disarm_errors(rules_dir(tmp_path, 0, "secrets: []\n"), load_ruleset(bundled_rules_dir())) == []
