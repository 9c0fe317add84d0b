"""The detection engine: one Vectorscan/Hyperscan pass over the text finds candidate spans,
only those go through Python's regex engine and the rules' filters.

Hyperscan compiles every rule pattern in prefilter mode (a superset of the pattern), so it
accepts Python constructs it cannot run exactly (look-arounds, back-references); the exact
Python pattern then runs only in a window around each hit."""

from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict
from dataclasses import dataclass

import hyperscan

from llm_dlp.detect.secret_rules import AllowList, SecretRule

log = logging.getLogger(__name__)

_HS_FLAGS = hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_MULTILINE | hyperscan.HS_FLAG_ALLOWEMPTY
# Patterns run in [hit_end - rule.window, hit_end + TAIL]: prefilter ends can precede the
# exact match's end, and trailing look-aheads need to see past it.
TAIL = 64
# A value seen once is redacted wherever else it appears, if at least this long.
MIN_REPEAT_LENGTH = 8


@dataclass(frozen=True)
class Finding:
    rule: SecretRule
    start: int
    end: int
    value: str

    @property
    def rule_id(self) -> str:
        return self.rule.id

    @property
    def action(self) -> str:
        return self.rule.action


def _hyperscan_source(pattern: re.Pattern[str]) -> bytes:
    """The pattern as a hyperscan prefilter: Python-only syntax removed, and long bounded repeats
    opened up ({16,32000} -> {16,}), which is a superset and compiles in milliseconds, not seconds."""
    source = re.sub(r"\(\?P<\w+>", "(", pattern.pattern)
    source = re.sub(r"\{(\d+),(\d{3,})\}", lambda m: "{%s,}" % m.group(1) if int(m.group(2)) > 300 else m.group(0), source)
    source = re.sub(r"\(\?P=\w+\)", r"[\\s\\S]*", source)
    if pattern.flags & re.IGNORECASE:
        source = "(?i)" + source
    return source.encode()


def _compile(sources: list[bytes], ids: list[int]) -> hyperscan.Database | None:
    if not sources:
        return None
    try:
        db = hyperscan.Database()
        db.compile(expressions=sources, ids=ids, flags=[_HS_FLAGS] * len(sources))
        return db
    except hyperscan.error:
        return None


class Detector:
    """Finds secrets in text with a fixed set of rules. Immutable and thread-safe."""

    def __init__(self, rules: list[SecretRule], allow: AllowList | None = None):
        self.rules = tuple(rules)
        self.allow = allow or AllowList()
        # one entry per (rule, pattern)
        self._patterns: list[tuple[SecretRule, re.Pattern[str], int]] = [
            (rule, pattern, priority) for priority, rule in enumerate(self.rules) for pattern in rule.patterns
        ]
        sources = [_hyperscan_source(p) for _, p, _ in self._patterns]
        accepted = list(range(len(sources)))
        self._db = _compile(sources, accepted)
        if self._db is None:  # find the few hyperscan refuses, one by one
            accepted = [i for i, s in enumerate(sources) if _compile([s], [i])]
            self._db = _compile([sources[i] for i in accepted], accepted)
        # Patterns hyperscan cannot take even as a prefilter run over the whole text in Python.
        self.slow_patterns = frozenset(range(len(sources))) - frozenset(accepted)
        for i in self.slow_patterns:
            log.warning("rule %s: pattern runs without prefilter (slow): %s", self._patterns[i][0].id, self._patterns[i][1].pattern)
        self._local = threading.local()

    def slow_rule_ids(self) -> list[str]:
        """Rules with a pattern that runs without the hyperscan prefilter."""
        return sorted({self._patterns[i][0].id for i in self.slow_patterns})

    def _scratch(self):
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._db)
        return scratch

    def _hits(self, text: str) -> dict[int, list[int]]:
        """Map pattern index -> sorted end offsets of prefilter hits."""
        hits: dict[int, list[int]] = defaultdict(list)
        if self._db is not None and text:
            found: list[tuple[int, int]] = []
            append = found.append

            def on_match(pid, _start, end, _flags, _ctx):
                append((pid, end))

            # one byte per character, so byte offsets are character offsets
            self._db.scan(text.encode("ascii", "replace"), match_event_handler=on_match, scratch=self._scratch())
            for pid, end in found:
                hits[pid].append(end)
        for pid in self.slow_patterns:
            hits[pid].append(len(text))
        return hits

    def scan(self, text: str) -> list[Finding]:
        """Every secret in ``text``, non-overlapping, in order, including repeats of found values."""
        candidates: list[tuple[int, Finding]] = []
        for pid, ends in self._hits(text).items():
            rule, pattern, priority = self._patterns[pid]
            slow = pid in self.slow_patterns
            for ws, we in _windows(ends, rule.window, len(text), whole=slow):
                for m in pattern.finditer(text, ws, we):
                    s, e = _secret_span(m)
                    if e <= s:
                        continue
                    value = text[s:e]
                    if self.allow.allows(value) or not rule.accepts(value, text, s, e):
                        continue
                    candidates.append((priority, Finding(rule, s, e, value)))
        kept = _resolve_overlaps(candidates, text)
        return _with_repeats(text, kept)


def _windows(ends: list[int], width: int, size: int, whole: bool) -> list[tuple[int, int]]:
    if whole:
        return [(0, size)]
    windows: list[tuple[int, int]] = []
    for end in sorted(ends):
        ws, we = max(0, end - width), min(size, end + TAIL)
        if windows and ws <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(we, windows[-1][1]))
        else:
            windows.append((ws, we))
    return windows


def _secret_span(m: re.Match[str]) -> tuple[int, int]:
    if "secret" in m.re.groupindex and m.group("secret") is not None:
        return m.span("secret")
    return m.span()


_ACTION_RANK = {"block": 0, "redact": 1, "warn": 2}


def _resolve_overlaps(candidates: list[tuple[int, Finding]], text: str) -> list[Finding]:
    """Where findings overlap keep one: the strictest action (a block is never hidden behind a
    redaction), then the widest span, then the earlier rule. A finding that sticks out of the
    one kept widens it, so no part of either secret is left in clear text."""
    ordered = sorted(
        set(candidates), key=lambda c: (_ACTION_RANK[c[1].action], -(c[1].end - c[1].start), c[0], c[1].start)
    )
    kept: list[Finding] = []
    for _, f in ordered:
        i = next((i for i, k in enumerate(kept) if f.start < k.end and k.start < f.end), None)
        if i is None:
            kept.append(f)
        elif f.start < kept[i].start or f.end > kept[i].end:
            k = kept[i]
            start, end = min(k.start, f.start), max(k.end, f.end)
            kept[i] = Finding(k.rule, start, end, text[start:end])
    return sorted(kept, key=lambda f: f.start)


def _with_repeats(text: str, findings: list[Finding]) -> list[Finding]:
    """Add every other occurrence of each found value: a secret is handled everywhere it appears."""
    if not findings:
        return findings
    covered = [(f.start, f.end) for f in findings]
    extra: list[Finding] = []
    for f in {f.value: f for f in findings}.values():
        if len(f.value) < MIN_REPEAT_LENGTH:
            continue
        pos = text.find(f.value)
        while pos >= 0:
            end = pos + len(f.value)
            if not any(pos < e and s < end for s, e in covered):
                extra.append(Finding(f.rule, pos, end, f.value))
                covered.append((pos, end))
            pos = text.find(f.value, end)
    return sorted(findings + extra, key=lambda f: f.start)
