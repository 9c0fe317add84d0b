"""The request pipeline without any proxy: body -> segments -> findings -> decision and edits.

Pure Python over plain data, so the CLI, the proxy and the benchmarks share it."""

from __future__ import annotations

import bisect
import copy
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from llm_dlp.act.actions import BLOCK, REDACT, WARN, rank, strongest
from llm_dlp.act.placeholders import Keyring
from llm_dlp.detect.detector import Detector, Finding
from llm_dlp.detect.findings import FindingReport
from llm_dlp.detect.normalize import View, lines_joined, reading_view
from llm_dlp.detect.protected import FingerprintRule, PathHit, PathRule, find_protected, withhold
from llm_dlp.protocols.base import ROLE_OTHER, ParsedBody, Segment, json_pointer
from llm_dlp.protocols.registry import REGISTRY
from llm_dlp.text.positions import joined_starts
from llm_dlp.text.splice import splice

# Segments are joined for one scan; only a pattern that reads any character can match across this
# separator's NUL (and the texts such a match touches are read again alone).
_SEPARATOR = "\n\x00\n"
# A split or disguised secret is looked for this many characters either side of a seam between
# segments or of an edit of a reading view: longer than most tokens.
SEAM = 256
# Around a seam, a window where a match runs to the edge grows, doubling at most this many times:
# a longer secret split across segments (a PEM key, a long JWT) is read whole, up to 128 KiB.
GROWTHS = 8
# A match this close to a window's edge may go on beyond it (a line break or a JSON quote).
_EDGE = 2
_RUN = re.compile(r"\S*")
# What a match may run on into from a whole secret, or over between the pieces of a split one,
# without being part of a secret: words (Thanks, NEXT_VAR, go on.), which random text hardly is.
_WORD = r"(?:[A-Z]?[a-z]+|[A-Z]+)"
_PROSE = re.compile(rf"{_WORD}(?:[\s_,.;:!?()-]+{_WORD})*[\s,.;:!?()-]*")
# The structure before a JSON document's first string value: brackets and keys.
_JSON_HEAD = re.compile(r'(?:\s*[\[{]|\s*"(?:[^"\\]|\\.)*"\s*:)*\s*"')
_JSON_CLOSERS = " \t\r\n]}"
# Around a piece of a secret: line breaks, quotes and concatenation, not words of their own.
_JOINERS = " \t\r\n\"'+.\\"


@dataclass
class Inspection:
    decision: str
    findings: list[FindingReport]
    protocol: str
    model: str | None
    bytes_inspected: int
    segments: int
    seconds: float
    body: bytes | None = None  # the rewritten body, when anything was redacted
    restore: dict[str, str] = field(default_factory=dict)  # placeholder -> original value
    texts: list[str] = field(default_factory=list, repr=False)  # what was sent: code the model echoes is not "generated"
    review_text: str | None = field(default=None, repr=False)  # for the incident store: every finding redacted

    def block_message(self) -> str:
        blocking = [f for f in self.findings if f.action == BLOCK]
        shown = "; ".join(
            f"protected path {f.path} (rule {f.rule})"
            if f.kind == "protected-path"
            else f"code from the protected repository file {f.path} (rule {f.rule})"
            if f.kind == "protected-code"
            else f"rule {f.rule} ({f.kind}) in the document {f.document!r} line {f.line}"
            if f.document
            else f"rule {f.rule} ({f.kind}) in {f.field or 'body'} line {f.line}"
            for f in blocking[:5]
        )
        more = f" and {len(blocking) - 5} more" if len(blocking) > 5 else ""
        return f"Request blocked by llm-dlp: {shown}{more}. Remove the secret and retry; ask your security team if this is wrong."


def scan_segments(
    detector: Detector, segments: list[Segment], joinable: Callable[[Segment], bool] | None = None
) -> list[tuple[Segment, Finding]]:
    """Every finding in the segments, mapped back to (segment, offsets in it): each segment alone as
    the detector reads it (one pass over all, with separators); then, around each edit, the
    segment's reading view (escapes undone, normalised); then, around each join, the segment with
    its line and string-literal joins removed; then the seams between adjacent ``joinable``
    segments, so a secret split across messages, parts or fragments is found, every piece of it."""
    if not segments:
        return []
    found: list[list[Finding]] = [[] for _ in segments]
    for i, f in _scan_separated(detector, [seg.text for seg in segments]):
        found[i].append(f)
    views = [reading_view(seg.text, raw=not seg.pointer) for seg in segments]
    changed = [i for i, view in enumerate(views) if view.changed]
    for k, f in _scan_around(detector, [views[i] for i in changed]):
        i = changed[k]
        _merge(found[i], _mapped(f, views[i], segments[i].text, f.start, f.end), segments[i].text)
    for i, f in _scan_line_joins(detector, [seg.text for seg in segments]):
        if not _runs_on([(i, f)], found):
            _merge(found[i], f, segments[i].text)
    joined = [i for i, seg in enumerate(segments) if (joinable or _is_content)(seg)]
    kept = [found[i] for i in joined]
    originals = [segments[i].text for i in joined]
    seam_views = [_string_values(views[i]) if segments[i].json_text else views[i] for i in joined]
    for pieces in _scan_seams(detector, seam_views, originals, kept):
        if not _runs_on(pieces, kept):
            for i, f in pieces:
                if not (" " in f.value.strip() and _prose(f.value)):  # words between the pieces are not the secret
                    _merge(kept[i], f, originals[i])
    return [(seg, f) for seg, fs in zip(segments, found) for f in sorted(fs, key=lambda f: f.start)]


def _string_values(view: View) -> View:
    """A JSON document's text (a tool call's arguments) as joined with its neighbours: from its first
    string value's opening quote to its last one's closing quote, so a secret split across two
    tool calls' arguments reads on from one string into the next."""
    head = _JSON_HEAD.match(view.text)
    end = len(view.text.rstrip(_JSON_CLOSERS))
    if head is None or view.text[end - 1 : end] != '"' or end - 1 < head.end():
        return view
    return view.inner(head.end(), end - 1)


def _scan_separated(detector: Detector, texts: list[str]) -> Iterator[tuple[int, Finding]]:
    """One detector pass over ``texts`` joined by a separator; findings as (text index, offsets in it)."""
    if not texts:
        return
    starts = joined_starts([len(text) for text in texts], len(_SEPARATOR))
    crossed: set[int] = set()
    kept = []
    for f in detector.scan(_SEPARATOR.join(texts)):
        i, last = bisect.bisect_right(starts, f.start) - 1, bisect.bisect_right(starts, f.end - 1) - 1
        if last == i:
            kept.append((i, Finding(f.rule, f.start - starts[i], f.end - starts[i], f.value)))
        else:  # a pattern that reads any character ([\s\S]) ran over separators: the texts it hid are read alone
            crossed.update(range(i, last + 1))
    yield from ((i, f) for i, f in kept if i not in crossed)
    for i in sorted(crossed):
        yield from ((i, f) for f in detector.scan(texts[i]))


def _scan_around(detector: Detector, views: list[View]) -> Iterator[tuple[int, Finding]]:
    """Findings in the parts of the ``views``' texts within SEAM characters of their edits (whose new
    texts are a few characters), one detector pass over all of them; as (view index, offsets in its
    text). Only those parts of the views are built."""
    windows = [
        (t, lo, hi) for t, view in enumerate(views) for lo, hi in _merged([(e[0] - SEAM, e[1] + SEAM) for e in view.edits], view.length)
    ]
    for w, f in _scan_separated(detector, [views[t].part(lo, hi) for t, lo, hi in windows]):
        t, lo, _ = windows[w]
        yield t, Finding(f.rule, f.start + lo, f.end + lo, f.value)


def _scan_line_joins(detector: Detector, texts: list[str]) -> Iterator[tuple[int, Finding]]:
    """Findings of the texts read with their pieces joined (``lines_joined``: a secret cut over
    lines or string literals) that cross a join, around the joins only; offsets in the original."""
    views = lines_joined(texts)
    broken = [i for i, view in enumerate(views) if view.changed]
    joins = [[e[0] for e in views[i].edits] for i in broken]
    for k, f in _scan_around(detector, [views[i] for i in broken]):
        j = bisect.bisect_right(joins[k], f.start)
        if j < len(joins[k]) and joins[k][j] < f.end:
            i = broken[k]
            yield i, _mapped(f, views[i], texts[i], f.start, f.end)


def _merged(spans: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """``spans`` (none starting beyond ``size``) clipped to [0, size], overlapping ones made one."""
    windows: list[list[int]] = []
    for lo, hi in sorted(spans):
        if windows and lo <= windows[-1][1]:
            if hi > windows[-1][1]:
                windows[-1][1] = hi
        else:
            windows.append([lo, hi])
    return [(max(0, lo), min(size, hi)) for lo, hi in windows]


def _scan_seams(
    detector: Detector, views: list[View], originals: list[str], kept: list[list[Finding]]
) -> Iterator[list[tuple[int, Finding]]]:
    """Findings that cross the boundary between adjacent texts, read without a separator: for each,
    its pieces, one per text it touches, as (text index, finding in that text)."""
    starts = joined_starts([len(view.text) for view in views], 0)
    joined = "".join(view.text for view in views)
    windows = _seam_windows(joined, views, originals, kept, starts)
    for f in _grown_scan(detector, joined, windows):
        first, last = bisect.bisect_right(starts, f.start) - 1, bisect.bisect_left(starts, f.end) - 1
        pieces = []
        for i in range(first, last + 1) if last > first else ():
            ps, pe = max(f.start, starts[i]) - starts[i], min(f.end, starts[i] + len(views[i].text)) - starts[i]
            if pe > ps:
                pieces.append((i, _mapped(f, views[i], originals[i], ps, pe)))
        if len(pieces) > 1:
            yield pieces


def _seam_windows(
    joined: str, views: list[View], originals: list[str], kept: list[list[Finding]], starts: list[int]
) -> list[tuple[int, int]]:
    """The part of ``joined`` around each seam where a split secret may lie: SEAM characters beyond
    the run of non-space characters that crosses it, and beyond a finding of either text that
    touches it (the BEGIN of a key cut in two). Each run is looked for within the two texts only,
    so finding them is linear in the input."""
    n = len(joined)
    spans = []
    for k in range(1, len(views)):
        s, before, after = starts[k], starts[k - 1], starts[k + 1] if k + 1 < len(starts) else n
        lo, hi = s - _run_before(joined, s, before), s + _run(joined, s, after)
        for f in kept[k - 1]:
            if len(originals[k - 1]) - f.end <= SEAM and not originals[k - 1][f.end :].strip():
                lo = min(lo, before + views[k - 1].position(f.start))
        for f in kept[k]:
            if f.start <= SEAM and not originals[k][: f.start].strip():
                hi = max(hi, s + views[k].position(f.end))
        spans.append((lo - SEAM, hi + SEAM))
    return _merged(spans, n)


def _run(text: str, start: int, end: int) -> int:
    """The length of the run of non-space characters at ``start`` (not beyond ``end``)."""
    m = _RUN.match(text, start, end)
    return m.end() - start if m else 0


def _run_before(text: str, end: int, start: int) -> int:
    """The length of the run of non-space characters that ends at ``end`` (not before ``start``):
    read backwards from a short tail, longer only while the run fills it."""
    reach = SEAM
    while True:
        lo = max(start, end - reach)
        tail = text[lo:end][::-1]
        length = _run(tail, 0, len(tail))
        if length < len(tail) or lo == start:
            return length
        reach *= 4


def _grown_scan(detector: Detector, text: str, windows: list[tuple[int, int]]) -> Iterator[Finding]:
    """Findings in the ``windows`` of ``text``; a window where a match runs to its edge is scanned
    again twice as wide on that side (at most GROWTHS times, the grown windows of a round merged):
    the secret may go on beyond it. Each round reads each character at most once."""
    for growths in range(GROWTHS + 1):
        found: list[list[Finding]] = [[] for _ in windows]
        for w, f in _scan_separated(detector, [text[lo:hi] for lo, hi in windows]):
            found[w].append(f)
        grown = []
        for (lo, hi), fs in zip(windows, found):
            wider = _wider(lo, hi, fs, len(text)) if growths < GROWTHS else None
            if wider:
                grown.append(wider)
            else:
                yield from (Finding(f.rule, f.start + lo, f.end + lo, f.value) for f in fs)
        if not grown:
            return
        windows = _merged(grown, len(text))


def _wider(lo: int, hi: int, findings: list[Finding], size: int) -> tuple[int, int] | None:
    """The window grown on each side a finding (offsets in the window) reaches, or None."""
    width = hi - lo
    left = lo > 0 and any(f.start <= _EDGE for f in findings)
    right = hi < size and any(f.end >= width - _EDGE for f in findings)
    if not (left or right):
        return None
    return lo - width if left else lo, hi + width if right else hi


def _runs_on(pieces: list[tuple[int, Finding]], kept: list[list[Finding]]) -> bool:
    """Whether a match across texts only runs on from a finding of one of them into words (a token
    at the end of a message followed by "Thanks"): not a split secret. Where it adds anything else
    to a finding (the rest of a key whose first piece matched alone) it is one."""
    overlapped = False
    for i, f in pieces:
        covered = [k for k in kept[i] if f.start < k.end and k.start < f.end]
        overlapped = overlapped or bool(covered)
        if not all(_prose(rest) for rest in _uncovered(f, covered)):
            return False
    return overlapped


def _prose(text: str) -> bool:
    """Nothing but words (and the line breaks, quotes and concatenation around them)."""
    text = text.strip(_JOINERS)
    return not text or bool(_PROSE.fullmatch(text))


def _uncovered(f: Finding, covered: list[Finding]) -> Iterator[str]:
    """The parts of ``f`` outside the ``covered`` findings."""
    pos = f.start
    for k in sorted(covered, key=lambda k: k.start):
        yield f.value[pos - f.start : max(pos, k.start) - f.start]
        pos = max(pos, k.end)
    yield f.value[pos - f.start :]


def _is_content(seg: Segment) -> bool:
    """Joined with its neighbours: the conversation's content (messages, parts, tool calls and
    results, files), not metadata (event ids, options) nor object keys, which are next to nothing."""
    return seg.content and not seg.key and seg.role not in (ROLE_OTHER, "raw")


def _mapped(f: Finding, view: View, original: str, start: int, end: int) -> Finding:
    s, e = view.span(start, end)
    return Finding(f.rule, s, e, original[s:e])


def _merge(kept: list[Finding], new: Finding, text: str) -> None:
    """Add ``new`` to the findings of one segment (``text``); where it overlaps one, keep a single
    finding over both spans with the stricter rule, so no part of either is left in clear text."""
    for k, old in enumerate(kept):
        if new.start < old.end and old.start < new.end:
            rule = new.rule if rank(new.action) > rank(old.action) else old.rule
            start, end = min(old.start, new.start), max(old.end, new.end)
            kept[k] = Finding(rule, start, end, text[start:end])
            return
    kept.append(new)


def inspect_request(
    raw: bytes,
    protocol: str,
    path: str,
    detector: Detector,
    keyring: Keyring,
    actions: dict[str, str] | None = None,
    review: bool = False,
    path_rules: tuple[PathRule, ...] = (),
    groups: tuple[str, ...] = (),
    code_rules: tuple[FingerprintRule, ...] = (),
    content_type: str = "",
    rewrite: bool = True,
) -> Inspection:
    """``actions``: rule id -> action overriding the rule's own (a group's stricter rule set).
    ``review``: also produce ``review_text``, the body with every finding redacted.
    ``path_rules`` (for a user in ``groups``): protected files are handled before secrets.
    ``content_type``: the request's, which decides how a body is read (JSON, multipart, text).
    ``rewrite``: build the redacted ``body`` and its ``restore`` map, which only a request that is
    forwarded needs (the scan command reports, and writes back nothing)."""
    started = time.perf_counter()
    parsed = REGISTRY.parse(raw, protocol, path, content_type)
    hits = [_unwritable(h, parsed.segments) for h in find_protected(parsed.segments, path_rules, code_rules, groups)]
    path_reported = [_report_path(parsed.segments[h.segment], h, keyring) for h in hits]
    withhold(parsed.segments, hits)
    located = [(seg, _with_action(f, _action(seg, f, actions))) for seg, f in scan_segments(detector, parsed.segments)]
    lines: dict[int, LineCounter] = {}
    reported = path_reported + [_report(seg, f, keyring, line_in(lines, seg, f.start)) for seg, f in located]
    reported = _keys_masked(reported, {seg.pointer for seg, _ in located if seg.key})
    decision = strongest(f.action for f in reported)
    inspection = Inspection(
        decision, reported, protocol, parsed.model, len(raw), len(parsed.segments), 0.0, texts=[seg.text for seg in parsed.segments]
    )
    if review:
        inspection.review_text = _review_text(parsed, located, keyring) if located or hits else raw.decode("utf-8", "replace")
    if decision == REDACT and rewrite:
        inspection.restore = apply_placeholders(located, keyring, {REDACT})
        _check_json_texts(parsed.segments)
        inspection.body = parsed.render()
    inspection.seconds = time.perf_counter() - started
    return inspection


def _review_text(parsed: ParsedBody, located: list[tuple[Segment, Finding]], keyring: Keyring) -> str:
    """The body with every finding replaced by its placeholder, built on a copy: the forwarded body
    keeps what was only warned about."""
    copied = copy.deepcopy(parsed)
    position = {id(seg): i for i, seg in enumerate(parsed.segments)}
    apply_placeholders([(copied.segments[position[id(seg)]], f) for seg, f in located], keyring, {BLOCK, REDACT, WARN})
    return copied.render().decode("utf-8", "replace")


def _report(seg: Segment, f: Finding, keyring: Keyring, line: int) -> FindingReport:
    return FindingReport(
        rule=f.rule.id,
        kind=f.rule.kind,
        severity=f.rule.severity,
        action=f.rule.action,
        field=seg.field,
        role=seg.role,
        path=seg.path,
        line=line,
        start=f.start,
        end=f.end,
        value_hash=keyring.fingerprint(f.value),
        document=seg.document,
    )


def _report_path(seg: Segment, hit: PathHit, keyring: Keyring) -> FindingReport:
    repository, path = hit.located()
    return FindingReport(
        rule=hit.rule.id,
        kind=hit.kind,
        severity="high",
        action=hit.rule.action,
        field=seg.field,
        role=seg.role,
        path=path,
        line=line_of(seg.text, hit.start),
        start=hit.start,
        end=hit.end,
        value_hash=keyring.fingerprint(seg.text[hit.start : hit.end]),
        repository=repository,
        document=seg.document,
    )


def _action(seg: Segment, f: Finding, overrides: dict[str, str] | None) -> str | None:
    """The action for a finding, when it is not the rule's own: a group's override, and block for
    what would be redacted in structure (an id, a name, a path), which is never rewritten, or in
    text extracted from a document (a PDF), which cannot be."""
    action = (overrides or {}).get(f.rule.id, f.rule.action)
    if action == REDACT and not seg.editable:
        return BLOCK
    return None if action == f.rule.action else action


def _keys_masked(reported: list[FindingReport], secret_keys: set[tuple]) -> list[FindingReport]:
    """Fields never show an object key that holds a secret: one under it reads ``/*/``."""
    if not secret_keys:
        return reported
    masked = {json_pointer(p): json_pointer((*p[:-1], "*")) for p in secret_keys}
    out = []
    for f in reported:
        field = f.field or ""
        for shown, hidden in masked.items():
            if field == shown or field.startswith(shown + "/") or field.startswith(shown + "#"):
                field = hidden + field[len(shown) :]
        out.append(replace(f, field=field))
    return out


def _unwritable(hit: PathHit, segments: list[Segment]) -> PathHit:
    """A protected file's content in text that cannot be edited (a PDF's) blocks: it cannot be withheld."""
    if hit.rule.action == REDACT and not segments[hit.segment].editable:
        return replace(hit, rule=replace(hit.rule, action=BLOCK))
    return hit


def _with_action(f: Finding, action: str | None) -> Finding:
    return f if action is None else Finding(replace(f.rule, action=action), f.start, f.end, f.value)


def _check_json_texts(segments: list[Segment]) -> None:
    """A redacted tool-call arguments string must still be the JSON document it was."""
    for seg in segments:
        if seg.json_text:
            json.loads(seg.text)  # raises: the request is refused (fail closed), never sent broken


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


class LineCounter:
    """Line numbers of offsets in one text: each newline is counted once while offsets increase
    (findings come in order), so numbering k findings is linear in the text, not k times it."""

    def __init__(self, text: str):
        self.text, self.offset, self.line = text, 0, 1

    def at(self, offset: int) -> int:
        if offset < self.offset:
            self.offset, self.line = 0, 1
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


def line_in(counters: dict[int, LineCounter], seg: Segment, offset: int) -> int:
    """The line of ``offset`` in ``seg``; ``counters`` (id(segment) -> counter) is filled on first use."""
    counter = counters.get(id(seg))
    if counter is None:
        counter = counters[id(seg)] = LineCounter(seg.text)
    return counter.at(offset)


def apply_placeholders(located: list[tuple[Segment, Finding]], keyring: Keyring, actions: set[str]) -> dict[str, str]:
    """Replace, in their segments, the findings whose action is in ``actions`` by placeholders.
    Returns placeholder -> original value for the rules that allow restoring."""
    restore: dict[str, str] = {}
    by_segment: dict[int, tuple[Segment, list[Finding]]] = {}
    for seg, f in located:
        if f.action in actions:
            by_segment.setdefault(id(seg), (seg, []))[1].append(f)
    for seg, findings in by_segment.values():
        edits = []
        for f in findings:
            placeholder = keyring.placeholder(f.rule.id, f.value)
            if f.rule.restore:
                restore[placeholder] = f.value
            edits.append((f.start, f.end, placeholder))
        seg.text = splice(seg.text, edits)
    return restore
