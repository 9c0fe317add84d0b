"""A RuleSet is everything compiled from one rules directory: detector, endpoint catalog and
tool signatures. It is immutable; reloading builds a new one and swaps it in whole."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from llm_dlp.detect.detector import Detector
from llm_dlp.detect.protected import FingerprintRule, PathRule, compile_fingerprints, compile_paths
from llm_dlp.detect.secret_rules import AllowList, SecretRule, check_patterns, compile_allow, compile_rule
from llm_dlp.identity.tools import ToolClassifier, compile_tools
from llm_dlp.inspect.packages import PackagePolicy, compile_packages
from llm_dlp.policy.catalog import Catalog, compile_endpoints
from llm_dlp.policy.pilot import Policy, compile_policy
from llm_dlp.rules.files import Located, RuleError, RuleFileError, load_directory, rule_files


@dataclass(frozen=True)
class RuleSet:
    source: str
    digest: str
    detector: Detector
    catalog: Catalog
    tools: ToolClassifier
    packages: PackagePolicy
    policy: Policy
    paths: tuple[PathRule, ...] = ()
    fingerprints: tuple[FingerprintRule, ...] = ()
    empty_files: tuple[str, ...] = ()
    allow_fewer_secret_rules: bool = False  # policy: a rule set this small is intended

    @property
    def rules(self) -> tuple[SecretRule, ...]:
        return self.detector.rules


def directory_digest(directory: Path) -> str:
    """A digest of the rule files' names and contents, and of the other files beside them
    (htpasswd, CAs, fingerprint indexes) by size and time: it changes when any of them does."""
    h = hashlib.sha256()
    for path in rule_files(directory):
        h.update(path.name.encode() + b"\0")
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"<unreadable>")
    if directory.is_dir():
        for other in sorted(p for p in directory.iterdir() if p.is_file() and p.suffix not in (".yaml", ".yml")):
            stat = other.stat()
            h.update(f"{other.name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return h.hexdigest()


def _fragments(entries: list[Located], errors: list[RuleError]) -> dict[str, str]:
    """The regex fragments of every file, each name defined once and each a valid regex."""
    fragments: dict[str, str] = {}
    where: dict[str, str] = {}
    for entry in entries:
        for name, source in entry.data.items():
            if name in fragments:
                errors.append(entry.error(name, f"fragment defined twice (first in {where[name]})"))
                continue
            try:
                re.compile(source)
            except re.error as exc:
                errors.append(entry.error(name, f"invalid regex: {exc}"))
                continue
            fragments[name], where[name] = source, entry.file
    return fragments


def load_ruleset(directory: Path) -> RuleSet:
    """Load, validate and compile a rules directory; raise RuleFileError with every problem."""
    directory = Path(directory)
    digest = directory_digest(directory)
    doc = load_directory(directory)
    errors: list[RuleError] = []
    seen: dict[str, str] = {}
    compiled: list[tuple[Located, SecretRule]] = []
    fragments = _fragments(doc.fragments, errors)
    for entry in doc.secrets:
        rule_id = entry.data["id"]
        if rule_id in seen:
            errors.append(entry.error("id", f"duplicate rule id (first defined in {seen[rule_id]})"))
            continue
        seen[rule_id] = entry.file
        if entry.data["enabled"] and (rule := compile_rule(entry, errors, fragments)):
            compiled.append((entry, rule))
    check_patterns(compiled, errors)
    rules = [rule for _, rule in compiled]
    allow = AllowList()
    for entry in doc.allow:
        try:
            allow = allow.merged(compile_allow(entry.data))
        except Exception as exc:  # re.error
            errors.append(entry.error("patterns", f"invalid regex: {exc}"))
    catalog = compile_endpoints(doc.endpoints, errors)
    tools = compile_tools(doc.tools, errors)
    packages = compile_packages(doc.packages, {f: Path(f).parent for f in doc.files}, errors)
    policy = compile_policy(doc.policy, errors)
    paths = compile_paths(doc.paths, errors)
    fingerprints = compile_fingerprints(doc.fingerprints, errors)
    known = {r.id for r in rules}
    for i, access in enumerate(policy.access):
        for rule_id in access.actions:
            if rule_id not in known:
                errors.append(doc.policy[0].error(f"access/{i}/actions", f"no secret rule named {rule_id!r}"))
    if errors:
        raise RuleFileError(errors)
    allow_fewer = bool(doc.policy and doc.policy[0].data.get("allow_fewer_secret_rules"))
    return RuleSet(
        str(directory), digest, Detector(rules, allow), catalog, tools, packages, policy, paths, fingerprints, tuple(doc.empty), allow_fewer
    )


MIN_LIVE_SHARE = 0.5  # a reload that keeps fewer than half the live secret rules is taken for a broken edit


def disarm_errors(ruleset: RuleSet, live: RuleSet | None = None) -> list[RuleError]:
    """Why making ``ruleset`` live would disarm the proxy: an empty rule file, no secret rules,
    or fewer than ``MIN_LIVE_SHARE`` of the ``live`` set's secret rules. Nothing when the policy
    sets ``allow_fewer_secret_rules``. An editor that truncates a file before writing it, or a
    deployment that lost a file, must not switch detection off."""
    if ruleset.allow_fewer_secret_rules:
        return []
    hint = "; set policy.allow_fewer_secret_rules: true if this is intended"
    errors = [RuleError(f, None, "", f"the file is empty (half-way through a save?){hint}") for f in ruleset.empty_files]
    count = len(ruleset.rules)
    if count == 0:
        errors.append(
            RuleError(
                ruleset.source,
                None,
                "secrets",
                f"no secret rules (a secrets file missing, empty or 'secrets: []'): every secret would go upstream{hint}",
            )
        )
    elif live is not None and count < MIN_LIVE_SHARE * len(live.rules):
        errors.append(
            RuleError(
                ruleset.source,
                None,
                "secrets",
                f"{count} secret rules, fewer than {MIN_LIVE_SHARE:.0%} of the {len(live.rules)} live ones{hint}",
            )
        )
    return errors


@dataclass(frozen=True)
class ExampleFailure:
    rule: str
    example: str
    expected: str

    def __str__(self) -> str:
        # examples are fake values written for the rule file, safe to show
        return f"{self.rule}: expected {self.expected}: {self.example!r}"


def run_examples(ruleset: RuleSet) -> tuple[int, list[ExampleFailure]]:
    """Run every rule's examples through the full detector; return (examples run, failures)."""
    failures: list[ExampleFailure] = []
    count = 0
    for rule in ruleset.rules:
        for text in rule.examples_match:
            count += 1
            if not any(f.rule_id == rule.id for f in ruleset.detector.scan(text)):
                failures.append(ExampleFailure(rule.id, text, "a match"))
        for text in rule.examples_no_match:
            count += 1
            if any(f.rule_id == rule.id for f in ruleset.detector.scan(text)):
                failures.append(ExampleFailure(rule.id, text, "no match"))
    return count, failures


__all__ = ["MIN_LIVE_SHARE", "RuleFileError", "RuleSet", "directory_digest", "disarm_errors", "load_ruleset", "run_examples"]
