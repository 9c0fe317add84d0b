"""The detection engine: one Vectorscan/Hyperscan pass over the text finds candidate spans,
only those go through Python's regex engine and the rules' filters.

Hyperscan compiles every rule pattern in prefilter mode (a superset of the pattern), so it
accepts Python constructs it cannot run exactly (look-arounds, back-references); the exact
Python pattern then runs only in a window around each hit."""

from __future__ import annotations

import bisect
import logging
import re
import re._constants as sre_constants
import re._parser as sre_parser
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import hyperscan

from llm_dlp.detect import compiled
from llm_dlp.detect.secret_rules import AllowList, RulePattern, SecretRule
from llm_dlp.text.positions import occurrences

log = logging.getLogger(__name__)

_HS_FLAGS = hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_MULTILINE | hyperscan.HS_FLAG_ALLOWEMPTY
# Patterns run in [hit_end - rule.window, hit_end + TAIL]: prefilter ends can precede the
# exact match's end, and trailing look-aheads need to see past it.
TAIL = 64
# In the prefilter, bounded repeats whose range is at least this wide are opened ({8,256} ->
# {8,}): a superset, and large bounded repeats are what makes a hyperscan database slow to
# compile. A narrow one stays: {23,25} opened to {23,} made the whole pass 8% slower, since the
# open repeat stays alive through every long identifier.
OPEN_REPEATS = 24
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


# A bounded repeat that ends the pattern, with the closing group and look-ahead after it.
_TRAILING_REPEAT = re.compile(r"\{(\d+),(\d+)\}\??(\)?)(?:\(\?![^()]*\))?$")


def _hyperscan_source(pattern: RulePattern | re.Pattern[str]) -> tuple[bytes, int]:
    """The pattern as a hyperscan prefilter, and how far past a prefilter hit the exact match
    may end. Python-only syntax is removed; long bounded repeats are opened up ({16,256} ->
    {16,}), a superset that compiles in milliseconds, not seconds; a repeat that ends the
    pattern is cut to its minimum ({36,251} -> {36}), so a token reports one hit, not one per
    possible end, and the verification window reaches that much further instead."""
    source = re.sub(r"\(\?P<\w+>", "(", pattern.pattern)
    extra = 0
    trailing = _TRAILING_REPEAT.search(source)
    if trailing and int(trailing.group(2)) - int(trailing.group(1)) >= 8:
        extra = int(trailing.group(2)) - int(trailing.group(1))
        source = source[: trailing.start()] + "{%s}%s" % (trailing.group(1), trailing.group(3))
    source = re.sub(r"\{(\d+),(\d+)\}", _opened, source)
    source = re.sub(r"\(\?P=\w+\)", r"[\\s\\S]*", source)
    if pattern.flags & re.IGNORECASE:
        source = "(?i)" + source
    return source.encode(), extra


def _opened(repeat: re.Match[str]) -> str:
    low, high = int(repeat.group(1)), int(repeat.group(2))
    return "{%d,}" % low if high - low >= OPEN_REPEATS else repeat.group(0)


# The source of an optional repeat of one character class that opens a pattern, possibly inside
# its first group: ``[a-z0-9_.-]*token…``, ``(?P<name>[\w.-]{0,50}?key…``.
_LEADING_OPTIONAL = re.compile(r"^((?:\(\?[aiLmsux]+\))?(?:\(\?P<\w+>|\(\?:)?)(?:\[(?:\\.|[^\]\\])+\]|\\[wdsS]|\.)(?:\*|\{0?,\d*\})\??")


def _verifier(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The pattern Python runs in a window: without an optional repeat that opens it, outside the
    secret. Such a repeat can match nothing, so it changes no secret's span, but Python's engine
    tries it from every position of the window and backtracks over it, which costs more than the
    rest of verification (about 7x on real code, for a ``[a-z0-9_.-]*password`` name)."""
    leading = _LEADING_OPTIONAL.match(pattern.pattern)
    if not leading or not _opens_with_optional_class(pattern):
        return pattern
    try:
        stripped = re.compile(leading.group(1) + pattern.pattern[leading.end() :], pattern.flags)
    except re.error:  # made at a pattern's first hit, mid-scan: the whole pattern still verifies
        return pattern
    return stripped if stripped.groupindex == pattern.groupindex else pattern


def _opens_with_optional_class(pattern: re.Pattern[str]) -> bool:
    """The parsed pattern opens with a repeat {0,n} of one class, at the top level or first in an
    unrepeated group that is not the secret."""
    if "secret" not in pattern.groupindex:
        return False
    op, arg = sre_parser.parse(pattern.pattern)[0]
    if op is sre_constants.SUBPATTERN:
        group, _, _, inner = arg
        if group == pattern.groupindex["secret"] or not inner:
            return False
        op, arg = inner[0]
    if op not in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
        return False
    low, _, repeated = arg
    return low == 0 and len(repeated) == 1 and repeated[0][0] in (sre_constants.IN, sre_constants.ANY)


# Leading literals shorter than this narrow the search too little to beat Python's own scan.
MIN_LEAD = 3
_ZERO_WIDTH = (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT)


def _leading_literals(pattern: re.Pattern[str]) -> tuple[bytes, ...] | None:
    """The texts one of which every match of ``pattern`` starts with (lower case when the pattern
    ignores case), or None when the pattern's start is not such a literal, or one is shorter than
    MIN_LEAD. Verifying at these texts' occurrences finds what ``finditer`` over the window finds,
    without Python's engine trying every position of it."""
    lead = _lead(list(sre_parser.parse(pattern.pattern, pattern.flags)))
    if lead is None or min(map(len, lead[0])) < MIN_LEAD or not all(text.isascii() for text in lead[0]):
        return None
    texts = sorted({text.lower() if pattern.flags & re.IGNORECASE else text for text in lead[0]})
    # a text that starts with another adds no start of its own (api, apikey)
    return tuple(text.encode() for text in texts if not any(text.startswith(o) for o in texts if o != text))


def _lead(items: list) -> tuple[list[str], bool] | None:
    """The literal texts a sequence of parsed items can start with, and whether that is all of it
    (the sequence is literal throughout); None when there are too many."""
    heads, whole = [""], True
    for op, arg in items:
        if op is sre_constants.LITERAL:
            item: tuple[list[str], bool] | None = ([chr(arg)], True)
        elif op in _ZERO_WIDTH:
            item = ([""], True)
        elif op is sre_constants.IN and len(arg) <= 8 and all(kind is sre_constants.LITERAL for kind, _ in arg):
            item = ([chr(c) for _, c in arg], True)  # a few characters: (?:ghp|gho) is parsed gh[po]
        elif op is sre_constants.SUBPATTERN and not arg[1] and not arg[2]:  # a group that keeps the flags
            item = _lead(list(arg[3]))
        elif op is sre_constants.BRANCH:
            branches = [_lead(list(branch)) for branch in arg[1]]
            item = None if None in branches else _union([b for b in branches if b is not None])
        else:
            item = ([""], False)
        if item is None:
            return None
        heads = [head + more for head in heads for more in item[0]]
        if len(heads) > 64:
            return None
        if not item[1]:
            whole = False
            break
    return heads, whole


def _union(branches: list[tuple[list[str], bool]]) -> tuple[list[str], bool]:
    return [head for heads, _ in branches for head in heads], all(whole for _, whole in branches)


def _compile(sources: list[bytes], ids: list[int]) -> hyperscan.Database | None:
    if not sources:
        return None
    try:
        return compiled.database(sources, ids, [_HS_FLAGS] * len(sources))
    except hyperscan.error:
        return None


def _near_words(words: tuple[str, ...]) -> tuple[hyperscan.Database, int]:
    """The database of a rule's near words (any case), and the longest word's length."""
    source = b"(?i)(?:" + b"|".join(re.escape(w).encode() for w in words) + b")"
    db = _compile([source], [0])
    if db is None:  # literal alternations always compile; never let a rule pass unchecked
        raise ValueError(f"near words {words} do not compile")
    return db, max(map(len, words))


def _compile_accepted(sources: list[bytes], ids: list[int]) -> tuple[hyperscan.Database | None, list[int]]:
    """The database of ``sources[i]`` for these ids, and the ids it holds: all of them, or when
    hyperscan refuses the set, those it takes one by one."""
    db = _compile([sources[i] for i in ids], ids)
    if db is None:
        ids = [i for i in ids if _compiles(sources[i])]
        db = _compile([sources[i] for i in ids], ids)
    return db, ids


def _compiles(source: bytes) -> bool:
    """Hyperscan takes this prefilter (checked alone, not cached: a refused set is rare)."""
    try:
        hyperscan.Database().compile(expressions=[source], ids=[0], flags=[_HS_FLAGS])
    except hyperscan.error:
        return False
    return True


class Detector:
    """Finds secrets in text with a fixed set of rules. Immutable and thread-safe."""

    def __init__(self, rules: list[SecretRule], allow: AllowList | None = None):
        self.rules = tuple(rules)
        self.allow = allow or AllowList()
        # one entry per (rule, pattern)
        self._patterns: list[tuple[SecretRule, RulePattern, int]] = [
            (rule, pattern, priority) for priority, rule in enumerate(self.rules) for pattern in rule.patterns
        ]
        # per pattern, its verifier and leading literals, made at its first hit (_verification)
        self._verifications: list[tuple[re.Pattern[str], tuple[bytes, ...] | None] | None] = [None] * len(self._patterns)
        # Rules with a ``context``: its prefilter joins the same hyperscan pass, one expression per
        # rule, numbered after the patterns.
        contexts = [rule for rule in self.rules if rule.context is not None]
        self._context_id = {rule.id: len(self._patterns) + i for i, rule in enumerate(contexts)}
        prefilters = [_hyperscan_source(p) for _, p, _ in self._patterns]
        sources = [source for source, _ in prefilters]
        self._reach = [extra for _, extra in prefilters]  # per pattern: how far past a hit it may end
        sources += [_hyperscan_source(_presence(rule.context))[0] for rule in contexts if rule.context is not None]
        # A rule with a context has the patterns of its own database, scanned only when its
        # context is in the text (the rule finds nothing otherwise): a Kubernetes Secret's data
        # pattern matches any indented base64 line and cost 8% of the pass over code without one.
        gated = {self._context_id[r.id]: [pid for pid, (rule, _, _) in enumerate(self._patterns) if rule is r] for r in contexts}
        gated = {cid: pids for cid, pids in gated.items() if _compiles(sources[cid])}
        apart = {pid for pids in gated.values() for pid in pids}
        self._db, accepted = _compile_accepted(sources, [i for i in range(len(sources)) if i not in apart])
        self._gated: list[tuple[int, hyperscan.Database]] = []
        for cid, pids in gated.items():
            db, taken_ids = _compile_accepted(sources, pids)
            accepted += taken_ids
            if db is not None:
                self._gated.append((cid, db))
        # Patterns hyperscan cannot take even as a prefilter run over the whole text in Python.
        self.slow_patterns = frozenset(range(len(self._patterns))) - frozenset(accepted)
        # Rules with ``near`` words: the words' own database, run only around the rule's hits.
        # Words such as "token" and "pat" occur thousands of times in code; scanned for over the
        # whole text they cost 6% of the pass, and a Python call per occurrence.
        self._near = {rule.id: _near_words(rule.near) for rule in self.rules if rule.near}
        for i in self.slow_patterns:
            log.warning("rule %s: pattern runs without prefilter (slow): %s", self._patterns[i][0].id, self._patterns[i][1].pattern)
        # a context hyperscan refuses is looked for in Python, window by window
        taken = set(accepted)
        self._presence = {r.id: _presence(r.context) for r in contexts if r.context is not None and self._context_id[r.id] not in taken}
        self._context_id = {rule_id: i for rule_id, i in self._context_id.items() if i in taken}
        self._local = threading.local()

    def slow_rule_ids(self) -> list[str]:
        """Rules with a pattern that runs without the hyperscan prefilter."""
        return sorted({self._patterns[i][0].id for i in self.slow_patterns})

    def _scratch(self, db: hyperscan.Database) -> hyperscan.Scratch:
        """This thread's scratch space for one of the detector's databases."""
        scratches = getattr(self._local, "scratches", None)
        if scratches is None:
            scratches = self._local.scratches = {}
        if id(db) not in scratches:
            scratches[id(db)] = hyperscan.Scratch(db)
        return scratches[id(db)]

    def _hits(self, text: str, data: bytes) -> dict[int, list[int]]:
        """Map pattern index -> sorted end offsets of prefilter hits."""
        hits: dict[int, list[int]] = defaultdict(list)
        if text:
            found: list[tuple[int, int]] = []
            append = found.append

            def on_match(pid, _start, end, _flags, _ctx):
                append((pid, end))

            if self._db is not None:
                self._db.scan(data, match_event_handler=on_match, scratch=self._scratch(self._db))
            contexts = {pid for pid, _ in found}
            for context_id, db in self._gated:
                if context_id in contexts:
                    db.scan(data, match_event_handler=on_match, scratch=self._scratch(db))
            for pid, end in found:
                hits[pid].append(end)
            for ends in hits.values():
                ends.sort()
        for pid in self.slow_patterns:
            hits[pid].append(len(text))
        return hits

    def scan(self, text: str, timings: dict[str, float] | None = None) -> list[Finding]:
        """Every secret in ``text``, non-overlapping, in order, including repeats of found values.
        ``timings``, when given, accumulates each rule's verification seconds (for the benchmark)."""
        candidates: list[tuple[int, Finding]] = []
        data = _bytes(text)
        hits = self._hits(text, data)
        for pid, ends in hits.items():
            if pid >= len(self._patterns):
                continue  # contexts, read below
            rule, _, priority = self._patterns[pid]
            slow = pid in self.slow_patterns
            context = hits.get(self._context_id[rule.id], []) if rule.id in self._context_id else None
            if context == []:
                continue  # the context is nowhere in the text
            presence = self._presence.get(rule.id)
            started = time.perf_counter() if timings is not None else 0.0
            windows = _windows(ends, rule.window, TAIL + self._reach[pid], len(text), whole=slow)
            near = self._near_ends(rule, data, windows) if rule.near else None
            for ws, we in windows:
                # a rule's context must precede (or be around) each of its secrets: without one
                # near the window, nothing in it can pass (one search per window, not per candidate)
                reach = we - ws + rule.context_chars
                context_end = rule.context_end(we, we)
                if context is not None and not _word_before(context, context_end, context_end - ws + rule.context_chars):
                    continue
                if presence and not presence.search(text, max(0, ws - rule.context_chars), context_end):
                    continue
                if near is not None and not _word_before(near, we, reach):
                    continue
                for m in self._matches(pid, text, data, ws, we):
                    s, e = _secret_span(m)
                    if e <= s:
                        continue
                    value = text[s:e]
                    if self.allow.allows(value) or not rule.accepts(value, text, s, e):
                        continue
                    if near is not None and not _word_before(near, s, rule.context_chars):
                        continue
                    candidates.append((priority, Finding(rule, s, e, value)))
            if timings is not None:
                timings[rule.id] = timings.get(rule.id, 0.0) + time.perf_counter() - started
        kept = _resolve_overlaps(candidates, text)
        return _with_repeats(text, data, kept)

    def _near_ends(self, rule: SecretRule, data: bytes, windows: list[tuple[int, int]]) -> list[int]:
        """Sorted ends of the rule's near words, all of those that end in [ws - context_chars, we]
        of some window, which is as far as the checks below look."""
        db, longest = self._near[rule.id]
        scratch = self._scratch(db)
        spans: list[list[int]] = []  # what each window looks back over, overlapping ones made one
        for ws, we in windows:
            start = max(0, ws - rule.context_chars - longest)
            if spans and start <= spans[-1][1]:
                spans[-1][1] = we
            else:
                spans.append([start, we])
        ends: set[int] = set()
        for start, end in spans:
            db.scan(data[start:end], match_event_handler=_adding_to(ends, start), scratch=scratch)
        return sorted(ends)

    def _verification(self, pid: int) -> tuple[re.Pattern[str], tuple[bytes, ...] | None]:
        """The pattern's verifier and leading literals. Made when a text first gives the pattern a
        hit, not with the detector: most patterns see none in a given text, and making them all
        was a third of the rules' loading. Two threads may both make it; the results are equal."""
        made = self._verifications[pid]
        if made is None:
            verifier = _verifier(self._patterns[pid][1].regex)
            made = self._verifications[pid] = (verifier, _leading_literals(verifier))
        return made

    def _matches(self, pid: int, text: str, data: bytes, ws: int, we: int) -> Iterator[re.Match[str]]:
        """What ``finditer`` finds in text[ws:we]: leftmost matches that do not overlap. Where the
        pattern starts with known literals, tried only where one occurs."""
        verifier, lead = self._verification(pid)
        if lead is None:
            yield from verifier.finditer(text, ws, we)
            return
        if verifier.flags & re.IGNORECASE:
            # only the window in lower case: folding the whole text for a few windows cost more
            # than their verification (the windows of these patterns are 0.6% of code)
            window = data[ws:we].lower()
            starts = sorted({ws + p for literal in lead for p in occurrences(window, literal)})
        else:
            starts = sorted({p for literal in lead for p in occurrences(data, literal, ws, we)})
        free = ws  # matches may not overlap: the next one starts where the last ended
        for start in starts:
            if start < free:
                continue
            m = verifier.match(text, start, we)
            if m is not None:
                yield m
                free = max(m.end(), start + 1)


def _adding_to(ends: set[int], offset: int):
    """A match handler that adds each match's end, shifted by ``offset``, to ``ends``."""

    def on_match(_id: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
        ends.add(offset + end)

    return on_match


def _word_before(word_ends: list[int], position: int, distance: int) -> bool:
    """True when a word ends in [position - distance, position] (``word_ends`` sorted)."""
    i = bisect.bisect_right(word_ends, position) - 1
    return i >= 0 and position - word_ends[i] <= distance


# An optional repeat of one class that ends a pattern: ``[^\n]*``, ``\s*``.
_TRAILING_OPTIONAL = re.compile(r"(?:\[(?:\\.|[^\]\\])+\]|\\[wdsS]|\.)\*\??$")


def _presence(context: re.Pattern[str]) -> re.Pattern[str]:
    """The context without its final ``$`` and trailing optional repeats: a context is anchored at
    the secret's start, which a window-wide search cannot know, so this weaker pattern only rules
    out windows. Without the repeats it is one hyperscan hit per match, not one per character of
    ``[^\n]*`` (which made the hits of one such context cost more than the scan itself)."""
    source = context.pattern
    if source.endswith("$") and not source.endswith("\\$"):
        source = source[:-1]
    while (trailing := _TRAILING_OPTIONAL.search(source)) and trailing.start() > 0:
        source = source[: trailing.start()]
    return re.compile(source, context.flags)


def _bytes(text: str) -> bytes:
    """One byte per character, so byte offsets are character offsets."""
    return text.encode("ascii", "replace")


def _windows(ends: list[int], width: int, tail: int, size: int, whole: bool) -> list[tuple[int, int]]:
    """The merged windows around hits ending at ``ends`` (sorted)."""
    if whole:
        return [(0, size)]
    windows: list[tuple[int, int]] = []
    for end in ends:
        ws, we = max(0, end - width), min(size, end + tail)
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
    one kept widens it, so no part of either secret is left in clear text.

    Kept findings never overlap, so they stay sorted by start and a bisection finds the ones a
    candidate touches: linear in the findings, not quadratic."""
    ordered = sorted(set(candidates), key=lambda c: (_ACTION_RANK[c[1].action], -(c[1].end - c[1].start), c[0], c[1].start))
    starts: list[int] = []
    kept: list[Finding] = []
    for _, f in ordered:
        i = bisect.bisect_right(starts, f.start) - 1
        if i < 0 or kept[i].end <= f.start:
            i += 1  # the first kept finding that starts after f, if f reaches it
        j = i
        while j < len(kept) and kept[j].start < f.end:
            j += 1
        if i == j:
            starts.insert(i, f.start)
            kept.insert(i, f)
            continue
        start, end = min(kept[i].start, f.start), max(kept[j - 1].end, f.end)
        if (start, end) != (kept[i].start, kept[i].end) or j - i > 1:
            kept[i:j] = [Finding(kept[i].rule, start, end, text[start:end])]
            starts[i:j] = [start]
    return kept


def _with_repeats(text: str, data: bytes, findings: list[Finding]) -> list[Finding]:
    """Add every other occurrence of each found value: a secret is handled everywhere it appears.
    One literal pass for all values, so the cost does not grow with findings x text length."""
    by_value = {f.value: f for f in findings if len(f.value) >= MIN_REPEAT_LENGTH}
    if not by_value:
        return findings
    values = list(by_value)
    occurrences = sorted((end - len(values[vid]), end, vid) for vid, end in _literal_ends(data, values))
    covered = [(f.start, f.end) for f in findings]
    extra: list[Finding] = []
    taken = 0  # occurrences are visited in order of start; findings are sorted
    for start, end, vid in occurrences:
        while taken < len(covered) and covered[taken][1] <= start:
            taken += 1
        if taken < len(covered) and covered[taken][0] < end:
            continue
        if (extra and extra[-1].end > start) or text[start:end] != values[vid]:  # '?' stands for any non-ASCII
            continue
        f = by_value[values[vid]]
        extra.append(Finding(f.rule, start, end, f.value))
    return sorted(findings + extra, key=lambda f: f.start)


# Hyperscan refuses longer literals; longer found values (private keys) are looked for with str.find.
MAX_LITERAL = 4096


def _literal_ends(data: bytes, values: list[str]) -> list[tuple[int, int]]:
    """(value index, end offset) of every occurrence of every value: one hyperscan pass for the
    values up to MAX_LITERAL characters, ``bytes.find`` for the few longer ones."""
    encoded = [v.encode("ascii", "replace") for v in values]
    short = [i for i, v in enumerate(encoded) if len(v) <= MAX_LITERAL]
    found: list[tuple[int, int]] = []
    if short:
        db = hyperscan.Database()
        db.compile(expressions=[encoded[i] for i in short], ids=short, flags=[0] * len(short), literal=True)
        db.scan(data, match_event_handler=lambda vid, _s, end, _f, _c: found.append((vid, end)))
    for i, value in enumerate(encoded):
        if len(value) > MAX_LITERAL:
            found += [(i, pos + len(value)) for pos in occurrences(data, value)]
    return found
