"""Rule patterns are compiled by Python at their first use, yet a pattern that does not compile
is refused when the rules load; a set that compiled once is remembered in the cache, and no
stale, damaged or unwritable cache entry lets a bad pattern through. A detect-secrets plugin's
patterns are kept in the cache too, and a malformed entry is read from the plugin again."""

from __future__ import annotations

import errno
import functools

import pytest

from llm_dlp.detect import compiled, secret_rules
from llm_dlp.detect.secret_rules import RulePattern, detect_secrets_plugins, plugin_patterns
from llm_dlp.rules.files import RuleFileError
from llm_dlp.rules.ruleset import load_ruleset

GOOD = "tok_(?P<secret>[a-z0-9]{12})"


def write_rules(directory, *patterns: str) -> None:
    """One rule per pattern: ``r0``, ``r1``..."""
    rules = "".join(f"  - id: r{i}\n    action: redact\n    patterns: ['{p}']\n" for i, p in enumerate(patterns))
    (directory / "r.yaml").write_text("secrets:\n" + rules)


def compiled_patterns(ruleset) -> list[str]:
    """The rules' patterns Python has compiled so far."""
    return [p.pattern for rule in ruleset.rules for p in rule.patterns if "regex" in vars(p)]


@pytest.fixture
def rules_dir(tmp_path):
    directory = tmp_path / "rules"
    directory.mkdir()
    return directory


def checked_entries(cache_dir) -> list:
    return sorted(cache_dir.glob("*.patterns.ok"))


@pytest.fixture
def checks(monkeypatch):
    """The patterns compiled to be checked, in order. A process checks a pattern once; a test
    starts another process with ``checks.clear()``."""
    seen = Checks()
    original = secret_rules._compile_error.__wrapped__

    @functools.cache
    def spy(pattern, flags):
        seen.append(pattern)
        return original(pattern, flags)

    monkeypatch.setattr(secret_rules, "_compile_error", spy)
    return seen


class Checks(list):
    def clear(self) -> None:
        """Forget what the process checked, as a new process would."""
        super().clear()
        secret_rules._compile_error.cache_clear()


def test_a_pattern_is_compiled_at_its_first_use_and_once():
    pattern = RulePattern("a(?P<secret>b+)", 0)
    assert "regex" not in vars(pattern)
    assert pattern.regex.search("xabb").group("secret") == "bb"
    assert pattern.regex is pattern.regex


def test_the_first_load_checks_every_pattern_and_the_next_compiles_none_until_a_hit(cache_dir, rules_dir, checks):
    write_rules(rules_dir, GOOD, "key_[0-9]{10}")
    load_ruleset(rules_dir)
    assert checks == [GOOD, "key_[0-9]{10}"]
    assert len(checked_entries(cache_dir)) == 1
    checks.clear()
    again = load_ruleset(rules_dir)
    assert checks == [] and compiled_patterns(again) == []
    (found,) = again.detector.scan("x = tok_abcdef123456")
    assert found.value == "abcdef123456"
    assert compiled_patterns(again) == [GOOD]  # only the pattern with a prefilter hit


def test_a_reload_checks_only_the_patterns_the_process_has_not_seen(monkeypatch, rules_dir, checks):
    monkeypatch.setenv(compiled.CACHE_ENV, "off")
    write_rules(rules_dir, GOOD, "key_[0-9]{10}")
    load_ruleset(rules_dir)
    write_rules(rules_dir, GOOD, "key_[0-9]{12}")
    load_ruleset(rules_dir)
    assert checks == [GOOD, "key_[0-9]{10}", "key_[0-9]{12}"]


@pytest.mark.parametrize("bad", ["tok_(unclosed", "x{2,1}", "(?P<secret>a)(?P<secret>b)"])
def test_a_bad_pattern_is_refused_even_after_the_good_set_was_remembered(cache_dir, rules_dir, checks, bad):
    write_rules(rules_dir, GOOD)
    load_ruleset(rules_dir)
    write_rules(rules_dir, GOOD, bad)  # a changed file: another set of patterns, another digest
    for _ in range(2):
        checks.clear()
        with pytest.raises(RuleFileError) as err:
            load_ruleset(rules_dir)
        (error,) = err.value.errors
        assert error.field == "secrets/1/patterns" and error.line == 7 and "invalid regex" in error.message
        assert checks == [GOOD, bad]
    assert len(checked_entries(cache_dir)) == 1  # nothing remembered for the bad set


def test_other_flags_are_another_set(cache_dir, rules_dir, checks):
    write_rules(rules_dir, GOOD)
    load_ruleset(rules_dir)
    (rules_dir / "r.yaml").write_text(f"secrets:\n  - id: r0\n    action: redact\n    ignore_case: true\n    patterns: ['{GOOD}']\n")
    checks.clear()
    load_ruleset(rules_dir)
    assert checks == [GOOD] and len(checked_entries(cache_dir)) == 2


@pytest.mark.parametrize("damage", [lambda data: data[:-1], lambda data: b"", lambda data: bytes([data[0] ^ 1]) + data[1:]])
def test_a_damaged_entry_means_every_pattern_is_checked_again(cache_dir, rules_dir, checks, damage):
    write_rules(rules_dir, GOOD)
    load_ruleset(rules_dir)
    (entry,) = checked_entries(cache_dir)
    entry.write_bytes(damage(entry.read_bytes()))
    checks.clear()
    load_ruleset(rules_dir)
    assert checks == [GOOD]
    checks.clear()
    load_ruleset(rules_dir)
    assert checks == []  # the entry was written again, whole


def test_a_read_only_cache_checks_every_pattern_in_every_process(cache_dir, rules_dir, checks, monkeypatch):
    def read_only(**_):
        raise OSError(errno.EROFS, "Read-only file system")

    write_rules(rules_dir, GOOD)
    monkeypatch.setattr(compiled.tempfile, "mkstemp", read_only)
    for _ in range(2):
        checks.clear()
        load_ruleset(rules_dir)
        assert checks == [GOOD]
    assert checked_entries(cache_dir) == []


def test_without_a_cache_a_bad_pattern_is_refused_every_time(monkeypatch, rules_dir, checks):
    monkeypatch.setenv(compiled.CACHE_ENV, "off")
    write_rules(rules_dir, GOOD, "tok_(unclosed")
    for _ in range(2):
        with pytest.raises(RuleFileError):
            load_ruleset(rules_dir)
    write_rules(rules_dir, GOOD)
    assert compiled_patterns(load_ruleset(rules_dir)) == []  # checked, then compiled at a first hit


def plugin_entries(cache_dir) -> list:
    return sorted(cache_dir.glob("*.plugin.json"))


def fresh_patterns(name: str) -> list[tuple[str, int]]:
    return [(p.pattern, p.flags) for p in detect_secrets_plugins()[name].denylist]


def test_a_plugins_patterns_come_back_from_the_cache_as_the_plugin_has_them(cache_dir):
    first = plugin_patterns("GitLabTokenDetector")
    assert [(p.pattern, p.flags) for p in first] == fresh_patterns("GitLabTokenDetector")
    (entry,) = plugin_entries(cache_dir)
    assert plugin_patterns("GitLabTokenDetector") == first
    assert plugin_entries(cache_dir) == [entry]


@pytest.mark.parametrize("payload", [b"[]", b'{"a": 1}', b'[["x", "2"]]', b'[["x"]]', b"not json"])
def test_a_plugin_entry_that_is_not_a_list_of_patterns_is_not_used(cache_dir, payload):
    plugin_patterns("GitLabTokenDetector")
    (entry,) = plugin_entries(cache_dir)
    compiled.store(entry.name, payload)  # a correct digest over the wrong payload
    assert [(p.pattern, p.flags) for p in plugin_patterns("GitLabTokenDetector")] == fresh_patterns("GitLabTokenDetector")


def test_an_unknown_plugin_is_refused_whatever_the_cache_holds(cache_dir):
    plugin_patterns("GitLabTokenDetector")
    with pytest.raises(KeyError):
        plugin_patterns("NoSuchDetector")
    assert len(plugin_entries(cache_dir)) == 1


@pytest.mark.parametrize(
    "value", ["ReadableStreamDefaultReader", "XMLHttpRequestUpload", "RFC3161SignedTimestamp", "ClientSecretCredential"]
)
def test_the_words_heuristic_takes_identifiers_made_of_words(value):
    assert secret_rules.HEURISTICS["words"](value, value, 0, len(value))


@pytest.mark.parametrize(
    "value", ["RxgZTPSbicCSOdOfyoJvKq", "kxzjxBiPZKkdfauGJGVNaDzU", "parseTimeOfDayWindowV1Alpha", "6I61FX70PVDV6B0WYXKX6CJ4DCC5"]
)
def test_the_words_heuristic_leaves_random_letters(value):
    assert not secret_rules.HEURISTICS["words"](value, value, 0, len(value))


def test_a_long_run_that_is_no_words_is_refused_without_backtracking_into_it():
    # splitting the run of small letters every way it can be split took longer than any request
    value = "a" * 400 + "1B1Bz"
    assert not secret_rules.HEURISTICS["words"](value, value, 0, len(value))
    assert not secret_rules._code_reference("x." + value)
