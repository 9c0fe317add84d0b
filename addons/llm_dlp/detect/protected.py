"""Protected paths: content that comes from files the organisation marks as off-limits is
blocked, withheld (replaced by a short note) or recorded, wherever the tools put it.

A segment's file comes from the adapters (tool results matched to their calls, Copilot's
``Path:`` marker, objects that pair a path with content). Inside free text, regions are found
from the markers tools write: ``<attachment filePath="…">``, ``// FILEPATH: …`` lines, and
fenced code blocks headed by a file name (Aider, Continue)."""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llm_dlp.protocols.base import STRUCTURE_KEYS, is_structure, set_at, string_leaves
from llm_dlp.rules.files import Located, RuleError
from llm_dlp.text.globs import glob_regex

if TYPE_CHECKING:
    from llm_dlp.detect.fingerprint import FingerprintIndex

NOTE = "[llm-dlp: {what} was withheld by policy {rule}. Ask the developer to describe it instead.]"
MIN_COPY = 40  # a withheld file's content is also removed where it is copied, if at least this long


@dataclass(frozen=True)
class PathRule:
    id: str
    action: str
    patterns: tuple[re.Pattern[str], ...]
    groups: tuple[str, ...] = ()  # empty: everyone
    description: str = ""

    def matches(self, path: str) -> bool:
        path = path.replace("\\", "/")
        return any(p.search(path) for p in self.patterns)

    def applies_to(self, groups: tuple[str, ...]) -> bool:
        return not self.groups or bool(set(self.groups) & set(groups))


def compile_paths(entries: list[Located], errors: list[RuleError]) -> tuple[PathRule, ...]:
    rules = []
    for entry in entries:
        d = entry.data
        cs = d.get("case_sensitive", False)
        patterns = tuple(glob_regex(p[2:] if p.startswith("./") else p, cs) for p in d["patterns"])
        rules.append(PathRule(d["id"], d["action"], patterns, tuple(d.get("groups", ())), d.get("description", "")))
    return tuple(rules)


# ---- file regions inside free text -----------------------------------------------------------
_ATTACHMENT = re.compile(r"<attachment\b[^>]*?\bfilePath=\"([^\"]+)\"[^>]*>(.*?)</attachment>", re.DOTALL)
_FILEPATH_MARK = re.compile(r"^[ \t]*(?://|#|--|;|<!--)[ \t]*FILEPATH:[ \t]*(\S[^\n]*?)[ \t]*(?:-->)?[ \t]*$", re.MULTILINE)
_FENCE = re.compile(r"^```[ \t]*[\w+.#-]*(?:[ \t]+([\w./\\-]*\.\w+))?[^\n]*\n(.*?)```", re.DOTALL | re.MULTILINE)
_NAME_LINE = re.compile(r"[ \t]*(?:[#*`]*[ \t]*)?([\w./\\-]*\.\w+)`?[ \t]*:?[ \t]*")  # the line above a fence


# patches carry the old content of the files they change: Codex's apply_patch sections and unified
# diffs. Each: the header line's first characters, its pattern, and the lines that end a section.
_PATCH_FILE = re.compile(r"^\*\*\* (?:Update|Add|Delete) File: (.+?)[ \t]*$", re.MULTILINE)
_PATCH_END = re.compile(r"^\*\*\* (?:Update|Add|Delete) File: |^\*\*\* End Patch", re.MULTILINE)
_DIFF_FILE = re.compile(r"^\+\+\+ (?:[ab]/)?(.+?)(?:\t.*)?$", re.MULTILINE)
_DIFF_END = re.compile(r"^diff --git |^--- ", re.MULTILINE)
_PATCHES = (("*** ", _PATCH_FILE, ("*** ",), _PATCH_END), ("+++ ", _DIFF_FILE, ("diff --git ", "--- "), _DIFF_END))
PATCH_MARKS = tuple(mark for mark, *_ in _PATCHES)


def patch_regions(text: str, marks: dict[str, list[int]]) -> list[tuple[int, int, str]]:
    """(start, end, path) of each file's section in an apply_patch envelope or a unified diff
    (``marks``: the text's ``_line_marks``)."""
    regions = []
    for mark, header, end_marks, end in _PATCHES:
        stops = [p for p in _at_marks(marks, end_marks) if end.match(text, p)]
        for p in marks[mark]:
            m = header.match(text, p)
            if m is None or m.group(1) == "/dev/null":
                continue
            i = bisect.bisect_left(stops, m.end())
            regions.append((m.end(), stops[i] if i < len(stops) else len(text), m.group(1)))
    return regions


# A mark one of the file regions starts with: one search, up to the first mark, where a test per
# mark read a text without the first ones through once for each.
_REGION_MARK = re.compile("|".join(re.escape(mark) for mark in ("FILEPATH", "```", "<attachment", *PATCH_MARKS)))


def file_regions(text: str) -> list[tuple[int, int, str]]:
    """(start, end, path) of file content inside free text."""
    if not _REGION_MARK.search(text):  # most texts hold no mark: skip the passes below
        return []
    regions = [(m.start(2), m.end(2), m.group(1)) for m in _ATTACHMENT.finditer(text)]
    lines = _line_marks(text)
    regions += patch_regions(text, lines)
    marks = list(_FILEPATH_MARK.finditer(text)) if "FILEPATH:" in text else []
    for n, m in enumerate(marks):
        # a marked excerpt runs to the next marker, or to the end of its code fence
        stop = marks[n + 1].start() if n + 1 < len(marks) else len(text)
        fence_end = text.find("```", m.end(), stop)
        regions.append((m.end(), fence_end if fence_end >= 0 else stop, m.group(1)))
    for m in _fences(text, lines):
        path = m.group(1) or _name_above(text, m.start())
        if path and not any(s <= m.start(2) < e for s, e, _ in regions):
            regions.append((m.start(2), m.end(2), path))
    return sorted(regions)


# The marks a line of file content can start with: fences and the headers and ends of patches.
_LINE_MARKS = tuple(dict.fromkeys(("```", *PATCH_MARKS, *(m for _, _, ends, _ in _PATCHES for m in ends))))
_LINE_MARK = re.compile("\n(" + "|".join(re.escape(m) for m in _LINE_MARKS) + ")")


def _line_marks(text: str) -> dict[str, list[int]]:
    """For each of ``_LINE_MARKS``, the sorted offsets of the lines that start with it, in one pass.
    A pattern that starts with a literal newline is searched at memory speed, where a
    line-anchored one would try every line (about 60 MB/s) and ``str.find`` once per mark took
    five passes (on text with a character beyond U+FFFF, 4 bytes a character, 80 ms for 16 MB
    where this takes 17); searching for the end of each section from its start would be
    quadratic in the sections."""
    found: dict[str, list[int]] = {mark: [0] if text.startswith(mark) else [] for mark in _LINE_MARKS}
    for m in _LINE_MARK.finditer(text):
        found[m.group(1)].append(m.start() + 1)
    return found


def _at_marks(marks: dict[str, list[int]], prefixes: tuple[str, ...]) -> list[int]:
    return sorted(p for prefix in prefixes for p in marks[prefix])


def _fences(text: str, marks: dict[str, list[int]]):
    """_FENCE.finditer(text), tried only at lines that start with ```."""
    after = 0
    for pos in marks["```"]:
        if pos >= after and (m := _FENCE.match(text, pos)):
            after = m.end()
            yield m


def _name_above(text: str, fence: int) -> str | None:
    """A file name alone on the line just above a fence (Aider, Continue: ``app/models.py``)."""
    if fence == 0:
        return None
    above = _NAME_LINE.fullmatch(text, text.rfind("\n", 0, fence - 1) + 1, fence - 1)
    return above.group(1) if above else None


@dataclass(frozen=True)
class PathHit:
    rule: PathRule
    path: str
    segment: int  # index into the request's segments
    start: int
    end: int
    kind: str = "protected-path"  # or protected-code: a fingerprint match, the path is the indexed file

    def located(self) -> tuple[str | None, str]:
        """(repository, file): an indexed file is "repository/file in it"; a path has no repository."""
        if self.kind == "protected-code":
            repository, _, path = self.path.partition("/")
            return repository, path
        return None, self.path


@dataclass(frozen=True)
class FingerprintRule:
    rule: PathRule  # id, action, groups
    index: FingerprintIndex
    threshold: int
    window_lines: int


def compile_fingerprints(entries: list[Located], errors: list[RuleError]) -> tuple[FingerprintRule, ...]:
    if not entries:
        return ()  # fingerprint matching (numpy, 0.2 CPU s) is imported only for an index
    from pathlib import Path

    from llm_dlp.detect.fingerprint import FingerprintIndex

    out = []
    for entry in entries:
        d = entry.data
        try:
            index = FingerprintIndex(Path(entry.file).parent / d["index"])
        except (OSError, ValueError) as exc:
            errors.append(entry.error("index", f"cannot load the fingerprint index: {exc}"))
            continue
        out.append(
            FingerprintRule(
                PathRule(d["id"], d["action"], (), tuple(d.get("groups", ())), d.get("description", "")),
                index,
                d.get("threshold", 6),
                d.get("window_lines", 30),
            )
        )
    return tuple(out)


def find_protected(
    segments, path_rules: tuple[PathRule, ...], code_rules: tuple[FingerprintRule, ...], groups: tuple[str, ...]
) -> list[PathHit]:
    """Files under protected paths, then indexed code in what those did not withhold whole."""
    hits = find_path_hits(segments, path_rules, groups)
    withheld = {h.segment for h in hits if h.start == 0}
    return hits + [h for h in find_code_hits(segments, code_rules, groups) if h.segment not in withheld]


def find_code_hits(segments, rules: tuple[FingerprintRule, ...], groups: tuple[str, ...]) -> list[PathHit]:
    """Segments holding code from an indexed repository: each whole paste a match is in (the
    fenced block, or the lines between the prose around it), as hits. A segment that names its
    file (a tool's read) is lexed in that file's language."""
    active = [r for r in rules if r.rule.applies_to(groups)]
    if not active:
        return []  # and fingerprint matching (numpy, 0.2 CPU s) is not even imported
    from llm_dlp.detect.fingerprint import language_of, match

    hits = []
    for i, seg in enumerate(segments):
        if len(seg.text) < 100 or not seg.content:
            continue
        starts: list[int] = []  # line start offsets, computed on the first match
        language = language_of(seg.path) if seg.path else None
        for fr in active:
            for m in match(fr.index, seg.text, fr.threshold, fr.window_lines, language):
                starts = starts or [0] + [n.end() for n in re.finditer("\n", seg.text)]
                start = starts[m.first_line - 1]
                end = starts[m.last_line] - 1 if m.last_line < len(starts) else len(seg.text)
                hits.append(PathHit(fr.rule, m.file, i, start, end, "protected-code"))
    return hits


def _spans(hits: list[PathHit]) -> list[tuple[int, int, PathHit]]:
    """The hits' spans, merged where they overlap (matches of two indexed files that share code
    overlap in part), each with the hit it starts with: the longest, at a tie."""
    spans: list[list] = []
    for h in sorted(hits, key=lambda h: (h.start, -h.end)):
        if spans and h.start < spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], h.end)
        else:
            spans.append([h.start, h.end, h])
    return [tuple(s) for s in spans]


def find_path_hits(segments, rules: tuple[PathRule, ...], groups: tuple[str, ...]) -> list[PathHit]:
    active = [r for r in rules if r.applies_to(groups)]
    if not active:
        return []
    hits = []
    for i, seg in enumerate(segments):
        if not seg.content:
            continue  # a path, an id, a name: structure is never withheld
        # a shell command's output can come from several files (one per line): the first protected one counts
        spans = (
            [(0, len(seg.text), next((p for p in seg.path.split("\n") if any(r.matches(p) for r in active)), seg.path))] if seg.path else []
        )
        spans += file_regions(seg.text)
        for start, end, path in spans:
            rule = next((r for r in active if r.matches(path)), None)
            if rule and end > start:
                hits.append(PathHit(rule, path, i, start, end))
    return hits


def _withheld_json(document: str, note: str) -> str:
    """A tool call's arguments withheld whole: every value but the paths becomes the note, so the
    arguments stay the JSON object the API expects, naming the same file."""
    try:
        args = json.loads(document)
    except ValueError:
        return note
    for pointer, _ in list(string_leaves(args)):
        if not is_structure(pointer, STRUCTURE_KEYS):
            set_at(args, pointer, note)
    return json.dumps(args, ensure_ascii=False)


def withhold(segments, hits: list[PathHit]) -> None:
    """Replace the content of every ``redact`` hit, and its copies elsewhere, by a note."""
    redact = [h for h in hits if h.rule.action == "redact"]
    copies: dict[str, str] = {}
    for seg_index in {h.segment for h in redact}:
        seg = segments[seg_index]
        text = seg.text
        for start, end, h in reversed(_spans([h for h in redact if h.segment == seg_index])):
            content = text[start:end]
            # the request named the file itself; an indexed file's name is ours, and stays here
            note = NOTE.format(
                what=f"the content of {h.path}" if h.kind == "protected-path" else "code matching a protected repository", rule=h.rule.id
            )
            if len(content.strip()) >= MIN_COPY:
                copies[content.strip()] = note
            text = text[:start] + note + text[end:]
        seg.text = _withheld_json(seg.text, note) if seg.json_text and text == note else text
    for seg in segments:
        for content, note in copies.items():
            if content in seg.text:
                seg.text = seg.text.replace(content, note)
