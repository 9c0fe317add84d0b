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
import sys
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache


@dataclass(frozen=True)
class View:
    """``text`` is what the detector reads; ``edits`` are (view_start, view_end, orig_start, orig_end)
    for each replaced piece, in order; ``parent`` is the view this one was built on, if any."""

    text: str
    edits: tuple[tuple[int, int, int, int], ...] = ()
    parent: View | None = None
    _starts: list[int] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._starts.extend(e[0] for e in self.edits)

    @property
    def changed(self) -> bool:
        return bool(self.edits) or (self.parent is not None and self.parent.changed)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that view[start:end] was made from."""
        s, e = self._start(start), self._end(end)
        return self.parent.span(s, e) if self.parent else (s, e)

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


def identity(text: str) -> View:
    return View(text)


def rebuild(text: str, replacements: list[tuple[int, int, str]], parent: View | None = None) -> View:
    """A view of ``text`` with each (start, end, new) replaced, in order and not overlapping."""
    if not replacements:
        return View(text, parent=parent)
    pieces: list[str] = []
    edits: list[tuple[int, int, int, int]] = []
    pos = vpos = 0
    for start, end, new in replacements:
        pieces.append(text[pos:start])
        vpos += start - pos
        edits.append((vpos, vpos + len(new), start, end))
        pieces.append(new)
        vpos += len(new)
        pos = end
    pieces.append(text[pos:])
    return View("".join(pieces), tuple(edits), parent)


# Look-alike letters a reader takes for Latin ones (Cyrillic, Greek, Armenian, Latin-extended),
# folded to the Latin letter. Fullwidth, mathematical and other compatibility forms are NFKC's job.
_CONFUSABLES = {
    # Cyrillic lower and upper case
    "а": "a", "в": "B", "е": "e", "ѕ": "s", "і": "i", "ј": "j", "о": "o", "р": "p", "с": "c", "у": "y",
    "х": "x", "ԁ": "d", "һ": "h", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ɡ": "g", "ь": "b", "т": "T", "к": "K", "м": "M", "н": "H",
    "А": "A", "В": "B", "Е": "E", "Ѕ": "S", "І": "I", "Ј": "J", "К": "K", "М": "M", "Н": "H", "О": "O",
    "Р": "P", "С": "C", "Т": "T", "Х": "X", "У": "Y", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Ӏ": "I",
    # Greek
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "ν": "v", "ι": "i", "κ": "k", "ρ": "p", "τ": "t", "υ": "u", "α": "a",
    # Armenian and Latin-extended look-alikes
    "օ": "o", "ս": "u", "ց": "g", "ɑ": "a", "ı": "i", "ȷ": "j", "ʏ": "y", "ᴠ": "v",
    # dashes and quotes that read as ASCII punctuation
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "−": "-", "‘": "'", "’": "'", "“": '"', "”": '"',
}

# Invisible characters: every Unicode format character (Cf: zero-width space and joiners, soft
# hyphen, bidi controls, word joiner, BOM ...) plus the invisible combining marks and fillers.
_INVISIBLE = frozenset(
    c for c in map(chr, range(sys.maxunicode + 1))
    if unicodedata.category(c) == "Cf" or 0xFE00 <= ord(c) <= 0xFE0F or 0xE0100 <= ord(c) <= 0xE01EF
    or c in "\u034f\u115f\u1160\u3164\uffa0"
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@lru_cache(maxsize=8192)
def _fold(ch: str) -> str:
    if ch in _INVISIBLE:
        return ""
    if ch in _CONFUSABLES:
        return _CONFUSABLES[ch]
    nfkc = unicodedata.normalize("NFKC", ch)
    return "".join(_CONFUSABLES.get(c, c) for c in nfkc if c not in _INVISIBLE)


def normalised(text: str, parent: View | None = None) -> View:
    """Format characters removed, each character NFKC-normalised, confusables folded. Per character,
    so offsets stay exact; combining sequences are not composed (secrets are ASCII)."""
    if text.isascii():
        return View(text, parent=parent)
    replacements = []
    for m in _NON_ASCII.finditer(text):
        ch = m.group()
        folded = _fold(ch)
        if folded != ch:
            replacements.append((m.start(), m.end(), folded))
    return rebuild(text, replacements, parent)


_ESCAPE = re.compile(r"\\(?:u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|([\"\\/bfnrt]))")
_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _unescape_one(m: re.Match[str]) -> str:
    high, low, single, simple = m.groups()
    if high:
        return (chr(int(high, 16)) + chr(int(low, 16))).encode("utf-16", "surrogatepass").decode("utf-16")
    if single:
        return chr(int(single, 16))
    return _SIMPLE[simple]


def json_unescaped(text: str) -> View:
    """``text`` with JSON string escapes undone (a JSON or JSONL body read as raw text, or a JSON
    document inside a string): the model and the provider read ``\\u0041`` as ``A``."""
    if "\\" not in text:
        return View(text)
    return rebuild(text, [(m.start(), m.end(), _unescape_one(m)) for m in _ESCAPE.finditer(text)])


def reading_view(text: str, raw: bool = False) -> View:
    """The view the detector reads besides the text itself: escapes undone (always for a raw body,
    for any text holding a ``\\u`` escape), then normalised."""
    base = json_unescaped(text) if raw or "\\u" in text else None
    return normalised(base.text, base) if base is not None else normalised(text)
