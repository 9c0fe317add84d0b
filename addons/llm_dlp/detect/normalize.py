"""Views of a text as the model reads it, for matching, with offsets mapped back to the original.

A secret disguised with a zero-width joiner, a soft hyphen, a fullwidth or Cyrillic look-alike
letter, or spelled with JSON ``\\uXXXX`` escapes reads the same to a model but not to a regular
expression. The detector scans a *view* (format characters removed, NFKC, common confusables
folded, escapes undone) and every finding is mapped back to the span of the original it came
from, so redaction replaces the disguised original, invisible characters included.

A view records only its edits (sorted, non-overlapping replaced spans); text between edits is
identical, so an ASCII text costs one ``isascii`` check and nothing else."""

from __future__ import annotations

import bisect
import re
import threading
import unicodedata
from functools import cache, lru_cache

import hyperscan

from llm_dlp.detect import compiled
from llm_dlp.text.positions import joined_starts


class View:
    """``text`` is what the detector reads; ``edits`` are (view_start, view_end, orig_start, orig_end)
    for each replaced piece, in order. Immutable by convention; cheap to make (one per segment).

    A view made by ``rebuild`` keeps the original and the replacing pieces and builds ``text``
    only when asked: the scans read a big text's view around its edits only (``part``), and a
    whole copy of it cost more than those scans (a 16 MB text of code holds 30 000 escapes)."""

    __slots__ = ("_news", "_origins", "_source", "_starts", "_text", "edits")

    def __init__(self, text: str, edits: tuple[tuple[int, int, int, int], ...] = ()):
        self._text: str | None = text
        self._source = text
        self._news: tuple[str, ...] = ()
        self.edits = edits
        self._starts = [e[0] for e in edits] if edits else []
        self._origins = [e[2] for e in edits] if edits else []

    @classmethod
    def _of(cls, source: str, edits: tuple[tuple[int, int, int, int], ...], news: tuple[str, ...]) -> View:
        """The view of ``source`` with ``edits``, ``news`` the text each puts in; ``text`` built on demand."""
        view = cls(source, edits)
        view._text, view._news = None, news
        return view

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.part(0, self.length)
        return self._text

    @property
    def length(self) -> int:
        """``len(text)``, without building it."""
        if self._text is not None:
            return len(self._text)
        _, ve, _, oe = self.edits[-1]
        return len(self._source) - oe + ve

    def part(self, start: int, end: int) -> str:
        """``text[start:end]``, from the original and the edits within, without building ``text``."""
        if self._text is not None:
            return self._text[start:end]
        edits = self.edits
        first = bisect.bisect_right(self._starts, start) - 1  # the edit at or before start
        if first >= 0 and start < edits[first][1]:  # start is in its new text: built from the edit's start
            base, orig = edits[first][0], edits[first][2]
        else:  # start is in text as written
            base, orig = start, start + (edits[first][3] - edits[first][1] if first >= 0 else 0)
            first += 1
        last = bisect.bisect_left(self._starts, end)  # the edits that start before end
        pieces = []
        for k in range(first, last):
            pieces.append(self._source[orig : edits[k][2]])
            pieces.append(self._news[k])
            orig = edits[k][3]
        reached = edits[last - 1][1] if last > first else base
        pieces.append(self._source[orig : orig + max(0, end - reached)])
        return "".join(pieces)[start - base : end - base]

    @property
    def changed(self) -> bool:
        return bool(self.edits)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that view[start:end] was made from."""
        return self._start(start), self._end(end)

    def position(self, p: int) -> int:
        """The offset in the view of offset ``p`` of the original (the start of an edit it falls in)."""
        k = bisect.bisect_right(self._origins, p) - 1
        if k < 0:
            return p
        vs, ve, os_, oe = self.edits[k]
        return vs if p < oe else p - oe + ve

    def inner(self, start: int, end: int) -> View:
        """The part [start:end] of this view, as a view of the same original (the rest read as removed)."""
        if (start, end) == (0, self.length):
            return self
        os_ = self._start(start)
        kept = tuple((vs - start, ve - start, a, b) for vs, ve, a, b in self.edits if start <= vs and ve <= end)
        return View(self.part(start, end), ((0, 0, 0, os_), *kept))

    def _start(self, p: int) -> int:
        k = bisect.bisect_right(self._starts, p) - 1
        if k < 0:
            return p
        vs, ve, os_, oe = self.edits[k]
        return os_ if p < ve else p + oe - ve

    def _end(self, p: int) -> int:
        k = bisect.bisect_left(self._starts, p) - 1
        if k < 0:
            return p
        vs, ve, os_, oe = self.edits[k]
        return oe if p <= ve else p + oe - ve


def rebuild(text: str, replacements: list[tuple[int, int, str]]) -> View:
    """A view of ``text`` with each (start, end, new) replaced, in order and not overlapping."""
    if not replacements:
        return View(text)
    edits: list[tuple[int, int, int, int]] = []
    shift = 0  # view offset - original offset, after the replacements so far
    for start, end, new in replacements:
        edits.append((start + shift, start + shift + len(new), start, end))
        shift += len(new) - (end - start)
    return View._of(text, tuple(edits), tuple(new for _, _, new in replacements))


# Look-alike letters a reader takes for Latin ones (Cyrillic, Greek, Armenian, Latin-extended),
# folded to the Latin letter. Fullwidth, mathematical and other compatibility forms are NFKC's job.
_CONFUSABLES = {
    # Cyrillic lower and upper case
    "а": "a",
    "в": "B",
    "е": "e",
    "ѕ": "s",
    "і": "i",
    "ј": "j",
    "о": "o",
    "р": "p",
    "с": "c",
    "у": "y",
    "х": "x",
    "ԁ": "d",
    "һ": "h",
    "ԛ": "q",
    "ԝ": "w",
    "ӏ": "l",
    "ɡ": "g",
    "ь": "b",
    "т": "T",
    "к": "K",
    "м": "M",
    "н": "H",
    "А": "A",
    "В": "B",
    "Е": "E",
    "Ѕ": "S",
    "І": "I",
    "Ј": "J",
    "К": "K",
    "М": "M",
    "Н": "H",
    "О": "O",
    "Р": "P",
    "С": "C",
    "Т": "T",
    "Х": "X",
    "У": "Y",
    "Ԁ": "D",
    "Ԛ": "Q",
    "Ԝ": "W",
    "Ӏ": "I",
    # Greek
    "Α": "A",
    "Β": "B",
    "Ε": "E",
    "Ζ": "Z",
    "Η": "H",
    "Ι": "I",
    "Κ": "K",
    "Μ": "M",
    "Ν": "N",
    "Ο": "O",
    "Ρ": "P",
    "Τ": "T",
    "Υ": "Y",
    "Χ": "X",
    "ο": "o",
    "ν": "v",
    "ι": "i",
    "κ": "k",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "α": "a",
    # Armenian and Latin-extended look-alikes
    "օ": "o",
    "ս": "u",
    "ց": "g",
    "ɑ": "a",
    "ı": "i",
    "ȷ": "j",
    "ʏ": "y",
    "ᴠ": "v",
}

# Invisible characters: every Unicode format character (Cf: zero-width space and joiners, soft
# hyphen, bidi controls, word joiner, BOM ...) plus the invisible combining marks and fillers.
_INVISIBLE_EXTRA = frozenset("\u034f\u115f\u1160\u3164\uffa0") | frozenset(map(chr, [*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)]))


def _invisible(ch: str) -> bool:
    return ch in _INVISIBLE_EXTRA or unicodedata.category(ch) == "Cf"


@lru_cache(maxsize=8192)
def _fold(ch: str) -> str:
    if _invisible(ch):
        return ""
    if ch in _CONFUSABLES:
        return _CONFUSABLES[ch]
    return "".join(_CONFUSABLES.get(c, c) for c in unicodedata.normalize("NFKC", ch) if not _invisible(c))


@cache
def _changing() -> hyperscan.Database:
    """The characters that read differently (folded by ``_fold``), as a hyperscan database that
    finds them at memory speed (Python's ``re`` reads a non-ASCII text at a fraction of detection
    speed). Built once, from a pass over the BMP."""
    ranges: list[list[int]] = []
    for code in range(0x80, 0x10000):
        ch = chr(code)
        if _may_fold(ch) and _fold.__wrapped__(ch) != ch:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    ranges.append([0x10000, 0x10FFFF])  # astral characters (mathematical letters, tags, emoji): looked at one by one
    hs_class = "".join(f"\\x{{{lo:x}}}" + (f"-\\x{{{hi:x}}}" if hi > lo else "") for lo, hi in ranges)
    return compiled.database([f"[{hs_class}]".encode()], [1], [hyperscan.HS_FLAG_UTF8])


def _may_fold(ch: str) -> bool:
    """An assigned character that ``_fold`` may change: invisible, a confusable, or not its own
    NFKC form. Any other is folded to itself; this test in C spares the pass over the BMP
    (part of every ``llm-dlp scan`` of a non-ASCII text) two thirds of its time."""
    category = unicodedata.category(ch)
    if category in ("Cn", "Cs", "Co"):
        return False
    return category == "Cf" or ch in _INVISIBLE_EXTRA or ch in _CONFUSABLES or not unicodedata.is_normalized("NFKC", ch)


def prepare() -> None:
    """Build the table of characters that read differently now (about 0.4 s), not in the first
    request that holds one."""
    _changing()


_scratch = threading.local()


def _changing_at(text: str) -> list[int]:
    """Offsets of the characters of ``text`` that read differently. Hyperscan reports where each
    ends in the UTF-8 encoding; decoding the bytes between two of them counts the characters."""
    db = _changing()
    scratch = getattr(_scratch, "scratch", None)
    if scratch is None:
        scratch = _scratch.scratch = hyperscan.Scratch(db)
    data = text.encode("utf-8", "replace")  # a lone surrogate is one "?": one character either way
    ends: list[int] = []
    db.scan(data, match_event_handler=lambda _id, _s, end, _f, _c: ends.append(end), scratch=scratch)
    offsets, byte, char = [], 0, 0
    for end in ends:
        start = end - 1
        while data[start] & 0xC0 == 0x80:  # back over the continuation bytes to the character's first
            start -= 1
        char += len(data[byte:start].decode("utf-8"))
        offsets.append(char)
        byte = start
    return offsets


# A surrogate pair of \u escapes, another \u escape, or (raw bodies only) a short escape.
_UNICODE_ESCAPE = r"\\u(?:[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|[0-9a-fA-F]{4})"
_ESCAPES = {False: re.compile(_UNICODE_ESCAPE), True: re.compile(_UNICODE_ESCAPE + r"|\\[\"\\/bfnrt]")}
_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@lru_cache(maxsize=8192)
def _unescaped(escape: str) -> str:
    """What an escape matched by ``_ESCAPES`` stands for, read as the model reads it: a short one
    (\\n), a \\uXXXX, or a surrogate pair of them, told apart by their lengths. Cached by its
    text: code repeats a few escapes thousands of times."""
    if len(escape) == 2:
        return _SIMPLE[escape[1]]
    chars = chr(int(escape[2:6], 16))
    if len(escape) == 12:
        chars = (chars + chr(int(escape[8:12], 16))).encode("utf-16", "surrogatepass").decode("utf-16")
    return chars if chars.isascii() else "".join(c if c.isascii() else _fold(c) for c in chars)


def _escape_edits(text: str, raw: bool) -> list[tuple[int, int, str]]:
    """Escapes, each replaced by what it stands for, found in one pass of the escape pattern."""
    edits = []
    for m in _ESCAPES[raw].finditer(text):
        escape = m.group()
        if (new := _unescaped(escape)) != escape:
            edits.append((m.start(), m.end(), new))  # not (*m.span(), new): the unpacking cost a sixth of this loop
    return edits


# Characters are looked for in pieces of this many: CPython stores a slice at the width of its own
# widest character, so a piece of a big text without non-ASCII is passed over at once, and the
# others are encoded from their own width, not the whole text's (a few characters beyond U+FFFF
# make all of it 4 bytes a character). Each character is edited alone: any cut is exact.
CHAR_PIECE = 1 << 14


def _char_edits(text: str) -> list[tuple[int, int, str]]:
    if text.isascii():
        return []
    edits = []
    for start in range(0, len(text), CHAR_PIECE):
        piece = text[start : start + CHAR_PIECE]
        if not piece.isascii():
            edits += [(start + i, start + i + 1, new) for i in _changing_at(piece) if (new := _fold(piece[i])) != piece[i]]
    return edits


def reading_view(text: str, raw: bool = False) -> View:
    """The text as the model reads it: format characters removed, each character NFKC-normalised
    (per character, so offsets stay exact: secrets are ASCII), confusables folded, and ``\\uXXXX``
    escapes undone (a JSON document inside a string). For a ``raw`` body (read as text because it
    is not JSON) every JSON string escape is undone."""
    escaped = ("\\" if raw else "\\u") in text
    if not escaped and text.isascii():
        return View(text)
    edits = _char_edits(text)
    if escaped:  # escapes are ASCII, changed characters are not: the two never overlap
        edits = sorted(edits + _escape_edits(text, raw))
    return rebuild(text, edits)


# Where a secret may be cut inside one text and read on by the model: a line break between runs of
# token characters (no indentation), a backslash-newline continuation, or the quotes (and + or .)
# between two string literals ("ghp_Ab" + "Cd", implicit concatenation). Four token characters
# either side, so prose and indented code rarely qualify.
_TOKEN = "[A-Za-z0-9+/=_-]{4}"
_JOIN = r"""(?:\r?\n|\\\r?\n[ \t]*|["'][ \t]*[+.]?[ \t\r\n]{0,64}(?:\\\r?\n[ \t]*)?["'])"""
# A join found by hyperscan (its end) is located by Python in the characters before that end.
_JOIN_BEFORE = re.compile(f"(?<={_TOKEN}){_JOIN}\\Z")
_JOIN_REACH = 80


@cache
def _joins() -> hyperscan.Database:
    return compiled.database([(_TOKEN + _JOIN + _TOKEN).encode()], [0], [0])  # no start of match: a third faster


def lines_joined(texts: list[str]) -> list[View]:
    """Each text with the breaks that may cut a secret (``_JOIN``) removed: what a reader who joins
    the pieces reads. One hyperscan pass over all the texts (NUL between them, which no join
    crosses); a text without any join is its own view."""
    data = "\x00".join(texts).encode("ascii", "replace")  # one byte per character: offsets are character offsets
    scratch = getattr(_scratch, "joins", None)
    if scratch is None:
        scratch = _scratch.joins = hyperscan.Scratch(_joins())
    ends: list[int] = []
    _joins().scan(data, match_event_handler=lambda _id, _start, end, _f, _c: ends.append(end - 4), scratch=scratch)
    starts = joined_starts([len(text) for text in texts], 1)
    by_text: dict[int, list[int]] = {}
    for end in sorted(set(ends)):
        i = bisect.bisect_right(starts, end) - 1
        by_text.setdefault(i, []).append(end - starts[i])
    views = [View(text) for text in texts]
    for i, text_ends in by_text.items():
        views[i] = rebuild(texts[i], _located(texts[i], text_ends))
    return views


def _located(text: str, ends: list[int]) -> list[tuple[int, int, str]]:
    """The joins that end at ``ends`` (sorted), found from their ends, as removals."""
    joins: list[tuple[int, int, str]] = []
    for end in ends:
        m = _JOIN_BEFORE.search(text, max(0, end - _JOIN_REACH), end)
        if m and (not joins or m.start() >= joins[-1][1]):
            joins.append((m.start(), end, ""))
    return joins


def normalised(text: str) -> View:
    """Format characters removed, NFKC, confusables folded; escapes left as they are."""
    return rebuild(text, _char_edits(text))


def json_unescaped(text: str) -> View:
    """Every JSON string escape undone, and normalised: a JSON or JSONL body read as raw text."""
    return reading_view(text, raw=True)
