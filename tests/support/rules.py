"""The bundled rules, compiled once per test session (compiling them takes a while)."""

from __future__ import annotations

from functools import cache

from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import RuleSet, load_ruleset


@cache
def bundled() -> RuleSet:
    return load_ruleset(bundled_rules_dir())
