"""Rule files: a key given twice in one mapping is refused, naming its line and field; a file that
passed the schema loads again from the cache without the check, and no changed file, damaged or
unwritable cache, or other schema reuses a stale result."""

from __future__ import annotations

import datetime
import errno

import pytest

from llm_dlp.detect import compiled
from llm_dlp.rules import files
from llm_dlp.rules.files import RuleFileError, load_file

GOOD = "secrets:\n  - id: acme\n    action: redact\n    patterns: ['acme_[a-z]{8}']\n"
BAD = "secrets:\n  - id: acme\n    action: explode\n    patterns: ['acme_[a-z]{8}']\n"


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


@pytest.fixture
def checks(monkeypatch):
    """The files the schema checked, by name."""
    checked: list[str] = []
    check = files._schema_errors

    def spy(name, data, lines):
        checked.append(name)
        return check(name, data, lines)

    monkeypatch.setattr(files, "_schema_errors", spy)
    return checked


def entries(cache_dir) -> list:
    return sorted(cache_dir.glob("*.rules.json"))


def test_a_checked_file_loads_again_without_the_check_and_with_its_defaults(tmp_path, cache_dir, checks):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    first = load_file(path)
    again = load_file(path)
    assert checks == [str(path)] and len(entries(cache_dir)) == 1
    assert again == first
    assert again[0]["secrets"][0]["enabled"] is True  # a default the schema filled in
    assert again[1]["/secrets/0/patterns"] == 4  # lines still come from the file itself


def test_a_changed_file_is_checked_again_and_a_bad_one_refused(tmp_path, cache_dir, checks):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    load_file(path)
    path.write_text(BAD)
    for _ in range(2):
        with pytest.raises(RuleFileError) as caught:
            load_file(path)
        assert [e.field for e in caught.value.errors] == ["secrets/0/action"]
    assert len(checks) == 3 and len(entries(cache_dir)) == 1


def test_another_schema_checks_the_file_again(tmp_path, cache_dir, checks, monkeypatch):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    load_file(path)
    schema = files.schema()
    monkeypatch.setattr(files, "schema", lambda: {**schema, "description": "another version"})
    files._schema_identity.cache_clear()
    try:
        load_file(path)
    finally:
        files._schema_identity.cache_clear()
    assert len(checks) == 2 and len(entries(cache_dir)) == 2


@pytest.mark.parametrize("damage", [lambda data: data[:-1], lambda data: b"", lambda data: data[:32] + b"[1, 2]"])
def test_a_damaged_entry_means_the_file_is_checked_again(tmp_path, cache_dir, checks, damage):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    expected = load_file(path)
    (entry,) = entries(cache_dir)
    entry.write_bytes(damage(entry.read_bytes()))
    assert load_file(path) == expected
    assert len(checks) == 2


def test_an_entry_that_is_intact_but_not_an_object_is_not_used(tmp_path, cache_dir, checks):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    expected = load_file(path)
    (entry,) = entries(cache_dir)
    compiled.store(entry.name, b"[1, 2]")  # a correct digest over the wrong payload
    assert load_file(path) == expected and len(checks) == 2


def test_a_read_only_cache_checks_the_file_every_time(tmp_path, cache_dir, checks, monkeypatch):
    def read_only(**_):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(compiled.tempfile, "mkstemp", read_only)
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    assert load_file(path) == load_file(path)
    assert len(checks) == 2 and entries(cache_dir) == []


def test_data_json_cannot_give_back_is_not_kept(cache_dir):
    files._remember_checked("a" + files._CHECKED, {"when": datetime.date(2026, 1, 1)})
    files._remember_checked("b" + files._CHECKED, {1: "a key that is not a string"})
    files._remember_checked("c" + files._CHECKED, {"x": float("nan")})
    assert entries(cache_dir) == []
