"""Rule files: a key given twice in one mapping is refused, naming its line and field."""

from __future__ import annotations

import pytest

from llm_dlp.rules.files import RuleFileError, load_file


def test_a_key_given_twice_is_refused_with_its_line(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(
        "version: 1\nsecrets:\n  - id: acme\n    action: redact\n    patterns: ['acme_[a-z]{8}']\n    patterns: ['acme_[0-9]{8}']\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleFileError) as caught:
        load_file(path)
    [error] = caught.value.errors
    assert (error.line, error.field) == (6, "secrets/0/patterns")
    assert "twice" in error.message


def test_the_same_key_in_two_mappings_is_not_a_repeat(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(
        "version: 1\nsecrets:\n  - id: a\n    action: redact\n    patterns: ['a_[a-z]{8}']\n  - id: b\n    action: redact\n    patterns: ['b_[a-z]{8}']\n",
        encoding="utf-8",
    )
    data, _ = load_file(path)
    assert [r["id"] for r in data["secrets"]] == ["a", "b"]
