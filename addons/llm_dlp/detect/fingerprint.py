"""Fingerprints of private repositories (winnowing, Schleimer, Wilkerson and Aiken 2003, the
algorithm behind MOSS), to recognise proprietary code pasted without any path.

Code is tokenised by one compiled lexer driven by a language's comment and string syntax
(``SYNTAX``): the language of an indexed file comes from its name, that of pasted code from
its fence's info string or the request's file, and code of no known language gets the
generic syntax (a guess that agrees with each language on common code) unless it is plainly
Python, Rust, C, shell or SQL. The index and the request must tokenise alike, so the languages differ
only where the generic guess is wrong for them (``//`` is floor division in Python, ``#`` a
private field in JavaScript, ``'a`` a lifetime in Rust). (Pygments' lexer for one language
takes about 450 ms per 256 KB; bench/fingerprint_bench.py measures it beside ours.) Markdown
fence lines, comments, whitespace, imports, the line numbers of a numbered listing (a file read
through a tool) and what formatters add or remove at will (commas,
semicolons, parentheses, line continuations) leave no tokens. Each token becomes a code:

- punctuation stays itself; reserved words of the common languages keep their own codes;
- a string literal becomes a hash of its content without whitespace or quote escapes
  (renaming, re-indenting and swapping quote styles leave it alone; this is what tells one
  table of strings from another); interpolated code in it is lexed as code, in any quotes
  (formatters swap them);
- a number becomes a hash of its spelling as formatters leave it alike (any case, no digit
  separators, a fraction without leading or trailing zeros);
- an identifier becomes the distance in words back to the previous use of the same name
  (0 when none within CAP words): renaming keeps this pattern, while "v = v + 1" and
  "a = b + 1" stop looking alike.

Fingerprints are of three kinds. Of the shape: every K-gram of codes is hashed, except one of
words alone (prose: licences, documentation, alike everywhere), and in each window of W hashes
the rightmost smallest is kept with its line and token. As written: the same for K_SPELLED-grams
of the tokens spelled out (names, strings, numbers), which only a copy shares, words alone too
when they are names and the language's own words (``RESERVED``; of the shape too where its
``GRAMMAR`` is known). Of prose: the
same for K_PROSE-grams of the words of comments and docstrings, in lower case, without
punctuation, comment marks or line breaks (a re-wrapped comment reads alike), each at the code
token that follows its first word: a file's own comments are its content too, and a paste of
mostly comments holds little code. A shape alone is
shared by much unrelated code (runs of getters, trait impls, signatures, "NAME = VALUE" lists),
so a fingerprint of the shape counts SHAPE_WEIGHT toward a rule's threshold: a copy needs
``threshold`` fingerprints as written, a renamed one 10 of the shape at the default 6. But a
shape whose k-gram holds two telling literals (strings or numbers of 2 characters or more,
which renaming leaves alone) is rarely another file's: it is marked (SHAPE_LITERALS) and counts
SHAPE_LITERALS_WEIGHT, summed with those as written. And the text's shapes found in one file
in an unbroken run (each of them, one after the other, without a shape of the text between them
that the file lacks) count SHAPE_RUN_WEIGHT each: 7 make a match, where shared boilerplate
is a few shapes here and there. Formatted, renamed and stripped of its comments, a 20-line
paste may hold 30 tokens of code and nothing but its shape. One of
prose counts PROSE_WEIGHT, summed with those as written (renaming leaves comments alone). Matches
are counted in windows of tokens, not lines: a formatter may turn 20 lines into 40. A piece of
the request too short to hold enough (a renamed enum list or run of fields) is one file's when
nearly all the shapes it carries are (SHORT_SHARE), ``threshold`` of them counting 1 each. The lexer
and winnowing are compiled (``_winnow.c``): linear in the text whatever it holds, and off the
GIL, so matching in a worker thread does not hold up the proxy.

Index file: a JSON header (files, parameters) and three arrays sorted by hash (hashes of every
kind together, each once per file, at its first line), read through mmap, so a large index
costs page cache, not Python objects. Dropped at indexing: fingerprints of public code (among
them the shipped list of common code), and those in too many indexed files (of prose: in more
than one, since files that repeat each other's comments repeat stock documentation)."""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import mmap
import os
import re
import struct
import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import NamedTuple

import numpy as np

from llm_dlp.detect import _winnow

K = 14  # tokens per k-gram of codes
K_SPELLED = 8  # tokens per k-gram as written (a copy's names make a short one rare enough)
K_PROSE = 6  # words per k-gram of the prose of comments and docstrings
W = 3  # winnowing window
CAP = 16  # how far back (in words) an identifier's previous use still counts
SEED = 20031009  # of the random value each token code contributes to a k-gram hash
MAGIC = b"LLMDLPFP5"
# A cache or index built otherwise is rebuilt / refused.
VERSION = {"k": K, "k_spelled": K_SPELLED, "k_prose": K_PROSE, "w": W, "cap": CAP, "tokenizer": 15}
TOKENS_PER_LINE = 6  # a rule's window_lines counts this many tokens a line (a typical line of code)

# Reserved in most languages and rarely a variable name in any (self, this, type, new, match,
# default... are left out: they are ordinary identifiers somewhere and a renamer may touch them).
KEYWORDS = tuple(
    sorted(
        set(
            [
                "and",
                "as",
                "assert",
                "async",
                "await",
                "break",
                "case",
                "catch",
                "class",
                "const",
                "continue",
                "def",
                "del",
                "delete",
                "do",
                "elif",
                "else",
                "enum",
                "except",
                "extends",
                "finally",
                "fn",
                "for",
                "from",
                "func",
                "function",
                "if",
                "implements",
                "import",
                "in",
                "instanceof",
                "interface",
                "is",
                "lambda",
                "let",
                "nil",
                "nonlocal",
                "not",
                "null",
                "or",
                "pass",
                "private",
                "protected",
                "public",
                "raise",
                "return",
                "static",
                "struct",
                "switch",
                "throw",
                "throws",
                "try",
                "typeof",
                "var",
                "void",
                "while",
                "with",
                "yield",
                "True",
                "False",
                "None",
                "true",
                "false",
            ]
        )
    )
)

# A language's own words where they are many and no name. Its grammar (SQL's keywords and types,
# in any case), which renaming leaves, has codes of its own; its other words (the parameters of
# CREATE OPERATOR and CREATE AGGREGATE, selectivity functions, schemas), names to its parser
# that a renamer may touch, are identifiers to the shape. A k-gram of these words, punctuation
# and literals alone is the language's boilerplate, alike in every project written in it: not
# fingerprinted. A k-gram of names and these words alone ("ALTER FUNCTION f(text) PARALLEL SAFE"
# runs, whose punctuation makes no token) is code, not prose: fingerprinted as written, and of
# the shape where the grammar is known (as identifiers, the words leave only their distances).
_SQL_GRAMMAR = """
        select from where insert into values update set delete create or replace drop alter table view index function
        procedure returns return returning language as is not null default primary key references foreign unique check
        constraint on cascade restrict begin end commit rollback transaction declare if then else elsif case when loop for
        while exit grant revoke to schema extension operator class family type domain cast aggregate trigger before
        after each row execute using with immutable stable volatile strict parallel safe unsafe restricted security definer
        invoker cost rows called input leakproof join storage support inout out in variadic setof internal cstring text
        varchar char character varying integer int int2 int4 int8 smallint bigint real float4 float8 double precision
        numeric decimal boolean bool oid regclass regproc regtype void anyelement anyarray anynonarray anyrange record bytea
        timestamp timestamptz date time interval json jsonb uuid name c sql plpgsql and order by group having limit offset
        distinct all union left right inner outer cross natural full exists between like ilike array comment owner only add
        column rename alias true false
        bigserial serial serial2 serial4 serial8 smallserial cidr inet macaddr macaddr8 pg_lsn timetz tsquery tsvector
        txid_snapshot varbit xml anyenum anycompatible anycompatiblearray anycompatiblenonarray anycompatiblerange
        anymultirange fdw_handler index_am_handler language_handler table_am_handler tsm_handler event_trigger
"""
_SQL_NAMES = """
        public sfunc stype sspace finalfunc finalfunc_extra combinefunc serialfunc deserialfunc initcond msfunc minvfunc
        mstype mfinalfunc minitcond sortop leftarg rightarg commutator negator hashes merges search_path pg_catalog
        contsel contjoinsel eqsel eqjoinsel neqsel neqjoinsel scalarltsel scalarltjoinsel scalargtsel scalargtjoinsel
        scalarlesel scalarlejoinsel scalargesel scalargejoinsel areasel areajoinsel positionsel positionjoinsel
"""
RESERVED = {"sql": tuple(_SQL_GRAMMAR.split() + _SQL_NAMES.split())}
GRAMMAR = {"sql": len(_SQL_GRAMMAR.split())}  # how many of a language's reserved words (the first) are its grammar

# The syntax bits of _winnow.c: which marks open comments and strings.
HASH, HASH_WORD, HASH_SPACE, SLASH, BLOCK, DASH, DASH_SPACE, BACKTICK, TRIPLE, RUST_QUOTES = (1 << n for n in range(10))
SYNTAX = {
    "generic": SLASH | HASH_SPACE | DASH_SPACE | BACKTICK | TRIPLE,
    "python": HASH | TRIPLE,
    "c-like": SLASH | BACKTICK | TRIPLE,  # JavaScript, TypeScript, Java, Go, C, C++, C#, Kotlin, Swift, Scala, Dart
    "rust": SLASH | RUST_QUOTES | TRIPLE,
    "ruby": HASH | BACKTICK | TRIPLE,
    "php": HASH | SLASH | BACKTICK | TRIPLE,
    "shell": HASH_WORD | BACKTICK | TRIPLE,
    "terraform": HASH | SLASH | TRIPLE,
    "sql": DASH | BLOCK | BACKTICK | TRIPLE,
}
_NAMES = {  # file suffixes and fence info strings
    "python": "py pyi pyw python python3 py3 gyp",
    "c-like": "js mjs cjs jsx ts mts cts tsx javascript typescript node java go golang c h cc cpp cxx hh hpp hxx c++ cs csharp "
    "kt kts kotlin swift scala dart m objc objective-c groovy gradle",
    "rust": "rs rust",
    "ruby": "rb rake gemspec ruby",
    "php": "php",
    "shell": "sh bash zsh ksh shell console shellscript",
    "terraform": "tf tfvars hcl terraform",
    "sql": "sql psql mysql postgresql plsql",
}
LANGUAGE = {name: language for language, names in _NAMES.items() for name in names.split()}


def language_of(name: str | None) -> str:
    """The syntax for a file path or a fence's info string; generic when unknown."""
    if not name:
        return "generic"
    word = name.strip().split()[0].lower() if name.strip() else ""
    return LANGUAGE.get(word) or LANGUAGE.get(os.path.splitext(word)[1][1:]) or "generic"


# Plain signs of a language, for code that names none (looked for in its first 4 KB). A line
# starts after a newline, one put before the text: a pattern that opens with a character is
# searched for by it, where ^ (re.M) is tried at every position (0.26 ms for the five, 0.14).
_GUESSES = (
    (
        "python",
        re.compile(
            r"\n[ \t]*(?:(?:async[ \t]+)?def[ \t]+\w+[ \t]*\(.*|class[ \t]+\w+.*|elif .*|except\b.*|try|else)[ \t]*:[ \t]*(?:#.*)?$", re.M
        ),
    ),
    ("rust", re.compile(r"\n[ \t]*(?:pub(?:\([\w:]+\))?[ \t]+)?(?:fn[ \t]+\w+.*\)[ \t]*(?:->.*)?\{|impl\b.*\{|let[ \t]+mut\b)", re.M)),
    ("c-like", re.compile(r"\n[ \t]*#[ \t]*(?:include|define|ifn?def|endif)\b", re.M)),
    ("shell", re.compile(r"\n[ \t]*(?:fi|esac|done|;;)[ \t]*$|;[ \t]*(?:then|do)[ \t]*$", re.M)),
    (
        "sql",
        re.compile(
            r"\n[ \t]*(?:SELECT\b(?![ \t]*[{(.=:])|INSERT[ \t]+INTO|UPDATE[ \t]+\w+[ \t]+SET|COMMENT[ \t]+ON"
            r"|(?:CREATE(?:\s+OR\s+REPLACE)?|ALTER|DROP)\s+(?:TABLE|INDEX|VIEW|FUNCTION|PROCEDURE|OPERATOR|TYPE|EXTENSION|"
            r"TRIGGER|SCHEMA|AGGREGATE|CAST|DOMAIN|SEQUENCE))\b",
            re.M | re.I,
        ),
    ),
)


def guess_language(code: str) -> str:
    head = "\n" + code[:4096]
    return next((language for language, sign in _GUESSES if sign.search(head)), "generic")


def tokenise(text: str, language: str = "generic") -> tuple[np.ndarray, np.ndarray]:
    """Token codes (uint32) and their line numbers (int32, from 1)."""
    codes, lines = _winnow.tokens(text, KEYWORDS, RESERVED.get(language, ()), CAP, SYNTAX[language], GRAMMAR.get(language, 0))
    return np.frombuffer(codes, np.uint32), np.frombuffer(lines, np.int32)


SHAPE, SPELLED, PROSE, SHAPE_LITERALS = 0, 1, 2, 3  # the kinds of fingerprints (the last: a shape holding literals)


def kinds_of(hashes: np.ndarray) -> np.ndarray:
    """The kind of each fingerprint, from its lowest bits: 00 the shape, 10 a shape holding two
    literals or more, 01 as written, 11 prose."""
    odd = (hashes & np.uint64(1)).astype(np.uint8)
    second = ((hashes >> np.uint64(1)) & np.uint64(1)).astype(np.uint8)
    return np.where(odd, SPELLED + second, SHAPE_LITERALS * second).astype(np.uint8)


def of_shape(kinds: np.ndarray) -> np.ndarray:
    """Whether each of ``kinds`` is of the shape, holding literals or not."""
    return (kinds == SHAPE) | (kinds == SHAPE_LITERALS)


class Prints(NamedTuple):
    hashes: np.ndarray  # uint64, of every kind (kinds_of)
    lines: np.ndarray  # where each fingerprinted k-gram starts...
    end_lines: np.ndarray  # ...and ends
    tokens: np.ndarray  # the token each starts at
    shapes: np.ndarray  # how many of the text's fingerprints of the shape there are up to each, with it


_PRINT_TYPES = (np.uint64, np.int32, np.int32, np.int32, np.int32)


def fingerprints(text: str, language: str = "generic", fence_lines: list[int] | None = None, grammar: bool = True) -> Prints:
    """Fingerprints of code in one language (a file's, or a paste's), of every kind, along the
    text. ``fence_lines``: where the text's fence lines start, when known (``_winnow.fence_lines``).
    Without ``grammar``, the words of the language's grammar are identifiers to the shape, as
    the generic syntax reads them."""
    reserved, own = RESERVED.get(language, ()), GRAMMAR.get(language, 0) if grammar else 0
    arrays = _winnow.fingerprints(text, KEYWORDS, reserved, K, K_SPELLED, W, CAP, SEED, SYNTAX[language], K_PROSE, fence_lines, own)
    return Prints(*(np.frombuffer(a, t) for a, t in zip(arrays, _PRINT_TYPES)))


def file_fingerprints(text: str, language: str) -> tuple[np.ndarray, np.ndarray]:
    """The hashes and start lines of an indexed file's fingerprints. Of a language with a grammar
    of its own (SQL), both readings: with it, for code that names or plainly is the language,
    and without, for a bare paste of it that the generic syntax reads (one that starts in the
    middle of a declaration shows no plain sign of SQL)."""
    prints = fingerprints(text, language)
    if not GRAMMAR.get(language):
        return prints.hashes, prints.lines
    generic = fingerprints(text, language, grammar=False)
    return np.concatenate([prints.hashes, generic.hashes]), np.concatenate([prints.lines, generic.lines])


_FENCE_MARK = re.compile(r"[ \t]*(`{3,}|~{3,})[ \t]*([^\n`]*)$", re.M)


def _fenced_blocks(text: str, fence_lines: list[int]) -> list[tuple[int, int, str]]:
    """(start, end, info string) of each fenced code block's content, from the text's
    ``fence_lines``, paired in one pass (a regular expression searching for each opener's closer
    is quadratic on unclosed ones)."""
    blocks, opener = [], None
    for m in (m for line in fence_lines if (m := _FENCE_MARK.match(text, line))):
        if opener is None:
            opener = m
        elif m.group(1)[0] == opener.group(1)[0] and len(m.group(1)) >= len(opener.group(1)) and not m.group(2).strip():
            blocks.append((min(opener.end() + 1, m.start()), m.start(), opener.group(2).strip()))
            opener = None
    return blocks


NUMBERED_RUN = 4  # consecutive numbered lines (n, n + 1, ...) that make a listing, not code


def without_line_numbers(text: str) -> str:
    """``text`` with the line-number prefixes of its numbered listings removed, each line kept
    where it was. A file read through an assistant's tool arrives numbered (`cat -n`, `nl -ba`:
    the number, a tab; agents' read tools: a tab, an arrow or a colon; excerpts: `12 | `);
    every number would otherwise be a token of its own between the file's, which no indexed
    file has. Found in C: a regular expression tried at every line took 2.8 ms per 256 KB of
    code with none, every request's text passes here."""
    cuts = _winnow.numbered_prefixes(text, NUMBERED_RUN)
    if not cuts:
        return text
    parts, at = [], 0
    for start, end in zip(cuts[::2], cuts[1::2]):
        parts.append(text[at:start])
        at = end
    parts.append(text[at:])
    return "".join(parts)


def text_fingerprints(text: str, language: str | None = None) -> Prints:
    """Fingerprints of a request's text: each fenced code block in the language its info string
    names (else the one it plainly is), the rest in ``language`` (the request's file), else
    guessed. Lines are the text's; token positions leave a gap between pieces."""
    return _joined(_piece_fingerprints(text, language))


def _piece_fingerprints(text: str, language: str | None) -> list[Prints]:
    """The fingerprints of each piece of ``text`` (a fenced block's content, or a stretch
    between fences), as text_fingerprints numbers their lines and tokens. The fence lines are
    searched for once, for the cutting into pieces and for the lexer, which drops them."""
    fence_lines = _winnow.fence_lines(text)
    pieces, at = [], 0
    for start, end, info in _fenced_blocks(text, fence_lines):
        pieces += [(at, start, language), (start, end, language_of(info) if info else None)]
        at = end
    pieces.append((at, len(text), language))
    found, offset, shapes = [], 0, 0
    for start, end, lang in pieces:
        piece = without_line_numbers(text[start:end])
        if piece and not piece.isspace():  # (strip would copy it)
            before = text.count("\n", 0, start)
            inside = [line - start for line in fence_lines[bisect.bisect_left(fence_lines, start) : bisect.bisect_left(fence_lines, end)]]
            prints = fingerprints(piece, lang if lang and lang != "generic" else guess_language(piece), inside)
            if before or offset:
                prints = prints._replace(
                    lines=prints.lines + before,
                    end_lines=prints.end_lines + before,
                    tokens=prints.tokens + offset,
                    shapes=prints.shapes + shapes,
                )
            found.append(prints)
            if len(prints.tokens):  # the next piece starts 2K past this one's last token (already shifted)
                offset, shapes = int(prints.tokens[-1]) + 2 * K, int(prints.shapes[-1])
    return found


def _joined(found: list[Prints]) -> Prints:
    if len(found) == 1:
        return found[0]
    return Prints(*(np.concatenate([p[i] for p in found]) if found else np.empty(0, t) for i, t in enumerate(_PRINT_TYPES)))


class _Recent:
    """Results for recently seen texts, by digest, least recently used first out. Assistants
    resend the whole conversation with every request, so most segments of a request were
    matched moments ago."""

    def __init__(self, size: int):
        self._size = size
        self._items: OrderedDict[tuple, list] = OrderedDict()
        self._lock = threading.Lock()  # matching runs in worker threads

    def get(self, key: tuple, compute):
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        found = compute()
        with self._lock:
            self._items[key] = found
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return found


# ---- the index ------------------------------------------------------------------------------
class _Entry(NamedTuple):
    mtime: float
    size: int
    lines: int  # in the file
    hashes: np.ndarray
    starts: np.ndarray  # the line of each fingerprint


class _Cache:
    """Fingerprints of the files indexed last time, by path, modification time and size, so a
    re-run reads only what changed. Kept beside the index as INDEX.cache.npz (it names the
    indexing machine's paths: ship the index, not its cache)."""

    def __init__(self, index: Path):
        self.path = index.with_name(index.name + ".cache.npz")
        self.entries: dict[str, _Entry] = {}
        try:
            with np.load(self.path, allow_pickle=False) as saved:
                meta = json.loads(saved["meta"].tobytes())
                if meta["version"] == VERSION:
                    hashes, starts = saved["hashes"], saved["starts"]
                    self.entries = {
                        key: _Entry(mtime, size, lines, hashes[at : at + n], starts[at : at + n])
                        for key, (mtime, size, lines, at, n) in meta["files"].items()
                    }
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no cache, or an unreadable one: index from scratch

    def get(self, key: str, stat: os.stat_result) -> _Entry | None:
        entry = self.entries.get(key)
        return entry if entry and (entry.mtime, entry.size) == (stat.st_mtime, stat.st_size) else None

    def save(self, entries: dict[str, _Entry], hashes: np.ndarray, starts: np.ndarray) -> None:
        """``hashes`` and ``starts``: the entries' own, concatenated in order."""
        at = np.cumsum([0] + [len(e.hashes) for e in entries.values()]).tolist()
        meta = {
            "version": VERSION,
            "files": {key: [e.mtime, e.size, e.lines, at[i], len(e.hashes)] for i, (key, e) in enumerate(entries.items())},
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez(f, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), hashes=hashes, starts=starts)
        os.replace(tmp, self.path)


def build_index(
    repos: list[Path], out: Path, public: Sequence[Path] = (), max_files_per_fp: int = 10, progress=None, index_all: bool = False
) -> dict:
    """Index every source file under ``repos``; drop fingerprints found in public code (the
    ``public`` directories, licence texts included, and, unless ``index_all``, vendored
    directories and generated files inside ``repos``) or in more than ``max_files_per_fp``
    indexed files (licence headers, boilerplate). Re-runs read only files changed since."""
    cache = _Cache(out)
    found = [(repo.resolve(), *source) for repo in repos for source in _source_files(repo)]
    borrowed = [] if index_all else [path for _, within, path, _ in found if _is_vendored_or_generated(within, path)]
    skipped = set(borrowed)
    sources = [source for source in found if source[2] not in skipped]
    names, entries, read = [], {}, 0
    for n, (repo, within, path, stat) in enumerate(sources, 1):
        names.append(f"{repo.name}/{within}")  # repository/file: no local paths
        key = f"{repo}/{within}"
        entry = cache.get(key, stat)
        if entry is None:
            text = _read(path)
            hashes, starts = file_fingerprints(text, language_of(path))
            entry, read = _Entry(stat.st_mtime, stat.st_size, text.count("\n") + 1, hashes, starts.astype(np.uint32)), read + 1
        entries[key] = entry
        if progress:
            progress(n, len(sources))
    per_file = [e.hashes for e in entries.values()]
    all_hashes = np.concatenate(per_file).astype(np.uint64) if per_file else np.empty(0, np.uint64)
    starts = np.concatenate([e.starts for e in entries.values()]).astype(np.uint32) if per_file else np.empty(0, np.uint32)
    cache.save(entries, all_hashes, starts)
    fids = np.repeat(np.arange(len(names), dtype=np.uint32), [len(h) for h in per_file])
    public_files = borrowed + [path for d in public for _, path, _ in _source_files(d, licences=True)]
    order = np.argsort(all_hashes, kind="stable")
    hashes, files, lines = all_hashes[order], fids[order], starts[order]
    once = _run_starts(hashes, files)  # one row per fingerprint and file (at its first line): a file's repeats add nothing
    hashes, files, lines = hashes[once], files[once], lines[once]
    keep = _in_few_files(hashes, max_files_per_fp)
    keep &= ~np.isin(hashes, _hashes_of(public_files)) & ~in_common_code(hashes)
    rows = (hashes[keep], files[keep], lines[keep])
    _write_index(out, names, rows)
    return {
        "files": len(names),
        "lines": sum(e.lines for e in entries.values()),
        "fingerprints": len(rows[0]),
        "bytes": out.stat().st_size,
        "read": read,
        "vendored_or_generated": len(borrowed),
    }


# Fingerprints of a shape found in more indexed files than this are dropped: code of the same
# shape in several files of an organisation is its boilerplate (copies still match as written).
MAX_FILES_PER_SHAPE = 3
# Prose is dropped once in more than one: what files repeat of each other's comments is stock
# documentation ("@throws IOException if an I/O error occurs"), not what one file says.
MAX_FILES_PER_PROSE = 1
COMMON_CODE = Path(__file__).with_name("common_code.fp")
COMMON_MAGIC = b"LLMDLPCC1"


@functools.cache
def common_code() -> np.ndarray:
    """Fingerprints found in several files of public code of the common languages (the list
    shipped beside this module, which bench/common_code.py builds): each language's idioms
    (equals methods, autoloaders, iterator impls, sort interfaces) are no evidence of a copy.
    Their prefixes (common_prefix), ascending."""
    return load_common_code(COMMON_CODE)


def load_common_code(path: Path) -> np.ndarray:
    data = path.read_bytes()
    length = struct.unpack_from("<Q", data, len(COMMON_MAGIC))[0]
    start = len(COMMON_MAGIC) + 8
    header = json.loads(data[start : start + length]) if data.startswith(COMMON_MAGIC) else {}
    if {key: header.get(key) for key in VERSION} != VERSION:
        raise ValueError(f"{path.name} was built by another tokenizer: rebuild it with bench/common_code.py")
    offset = start + length + (-(start + length) % 8)
    return np.frombuffer(data, "<u4", offset=offset).astype(np.uint32)


def common_prefix(hashes: np.ndarray) -> np.ndarray:
    """The top 32 bits of each fingerprint, as the common-code list keeps them (half the size;
    one fingerprint of an index in 20,000 is dropped by chance)."""
    return (hashes >> np.uint64(32)).astype(np.uint32)


def in_common_code(hashes: np.ndarray) -> np.ndarray:
    """Whether each fingerprint is in the common-code list, by a binary search of the ascending
    list (np.isin sorted or hashed its 240k entries anew on every call: 0.4 s, where a short
    paste's 30 shapes take 0.02 ms this way)."""
    common, prefixes = common_code(), common_prefix(hashes)
    if not len(common):
        return np.zeros(len(prefixes), bool)
    return common[np.minimum(np.searchsorted(common, prefixes), len(common) - 1)] == prefixes


def save_common_code(hashes: np.ndarray, sources: list[str], out: Path = COMMON_CODE) -> None:
    """Write the list of common fingerprints (their prefixes, sorted), naming the public code it came from."""
    header = json.dumps({**VERSION, "sources": sources}).encode()
    body = COMMON_MAGIC + struct.pack("<Q", len(header)) + header
    out.write_bytes(body + b"\0" * (-len(body) % 8) + np.unique(common_prefix(hashes)).astype("<u4").tobytes())


def _run_starts(*columns: np.ndarray) -> np.ndarray:
    """Whether each row of the equally long, sorted ``columns`` opens a run of equal rows."""
    starts = np.zeros(len(columns[0]), bool)
    starts[:1] = True
    for column in columns:
        starts[1:] |= column[1:] != column[:-1]
    return starts


def _in_few_files(hashes: np.ndarray, max_files: int) -> np.ndarray:
    """Whether each of the sorted ``hashes`` (one per file) is in at most ``max_files`` files, or
    MAX_FILES_PER_SHAPE for a fingerprint of the shape, MAX_FILES_PER_PROSE for one of prose."""
    first = np.flatnonzero(_run_starts(hashes))
    runs = np.diff(np.append(first, len(hashes)))  # the files of each fingerprint, one row each
    kinds = kinds_of(hashes)
    limit = np.where(of_shape(kinds), MAX_FILES_PER_SHAPE, np.where(kinds == PROSE, min(max_files, MAX_FILES_PER_PROSE), max_files))
    return np.repeat(runs, runs) <= limit


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def _hashes_of(files: list[str]) -> np.ndarray:
    found = [file_fingerprints(_read(f), language_of(f))[0] for f in files]
    return np.unique(np.concatenate(found)) if found else np.empty(0, np.uint64)


# Directories of other people's code that repositories carry, and what generators write at the
# top of their output. The markers follow the generators' own conventions, at the start of a
# comment (or a comment ending in DO NOT EDIT), and are narrow on purpose: a file wrongly taken
# for generated code goes unprotected.
VENDORED_DIRS = frozenset(
    {
        "node_modules",
        "bower_components",
        "vendor",
        "vendors",
        "_vendor",
        "vendored",
        "third_party",
        "third-party",
        "thirdparty",
        "external",
        "extern",
        "site-packages",
        "Pods",
        ".venv",
        "venv",
    }
)
GENERATED_SUFFIXES = ("_pb2.py", "_pb2_grpc.py", "_pb2.pyi", ".pb.go", ".pb.cc", ".pb.h", ".min.js", ".g.dart", ".designer.cs", ".g.cs")
GENERATED_MARK = re.compile(
    r"^[ \t]*(?:#|//|/\*+|\*|--|;|<!--)[ \t]*(?:"
    r"Code generated\b.*\bDO NOT EDIT"
    r"|(?i:(?:this (?:file|code) (?:is|was|has been) )?(?:automatically|auto)[ -]?generated)\b"
    r"|@generated\b|<auto-generated|Generated by the protocol buffer compiler"
    r"|.*\bDO NOT EDIT[.!]*[ \t]*(?:\*/|-->)?[ \t]*$)",
    re.MULTILINE,
)


def _is_vendored_or_generated(within: str, path: str) -> bool:
    """``within``: the file's path inside its repository."""
    if VENDORED_DIRS.intersection(within.split("/")[:-1]) or within.endswith(GENERATED_SUFFIXES):
        return True
    with open(path, encoding="utf-8", errors="replace") as f:
        head = f.read(1024)  # generators mark the top of the file
    return GENERATED_MARK.search(head) is not None


def _source_files(root: Path, licences: bool = False) -> list[tuple[str, str, os.stat_result]]:
    """(path inside root, path, stat) of each source file under root (by suffix, under 2 MB,
    outside .git), and with ``licences`` of each licence text, sorted by path."""
    found = []
    for top, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        inside = os.path.relpath(top, root)
        for name in files:
            if os.path.splitext(name)[1] in _SOURCE_SUFFIXES or (licences and name.upper().startswith(_LICENCE_NAMES)):
                path = os.path.join(top, name)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue  # a dangling link or a file gone meanwhile
                if S_ISREG(stat.st_mode) and stat.st_size < 2_000_000:
                    found.append((name if inside == "." else f"{inside}/{name}", path, stat))
    return sorted(found)


_LICENCE_NAMES = ("LICENSE", "LICENCE", "COPYING", "NOTICE")
_SOURCE_SUFFIXES = {
    ".py",
    ".pyi",
    ".js",
    ".mjs",
    ".cjs",
    ".ts",
    ".mts",
    ".cts",
    ".tsx",
    ".jsx",
    ".java",
    ".kt",
    ".kts",
    ".go",
    ".rs",
    ".c",
    ".h",
    ".cc",
    ".cpp",
    ".cxx",
    ".hh",
    ".hpp",
    ".cs",
    ".rb",
    ".rake",
    ".php",
    ".scala",
    ".swift",
    ".m",
    ".sql",
    ".sh",
    ".bash",
    ".zsh",
    ".tf",
    ".hcl",
    ".lua",
    ".dart",
    ".groovy",
}


def _write_index(out: Path, files: list[str], rows: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    header = json.dumps({**VERSION, "files": files}).encode()
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<QQ", len(header), len(rows[0])) + header)
        f.write(b"\0" * (-f.tell() % 8))
        for arr, dtype in zip(rows, ("<u8", "<u4", "<u4")):
            f.write(arr.astype(dtype).tobytes())
    os.replace(tmp, out)  # the proxy never sees a half-written index


class FingerprintIndex:
    """A read-only, memory-mapped index."""

    def __init__(self, path: Path):
        self.path = path
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        stale = ValueError(f"{path} is not an llm-dlp fingerprint index of this version (rebuild it with llm-dlp fingerprint index)")
        if self._map[: len(MAGIC)] != MAGIC:
            raise stale
        hlen, count = struct.unpack_from("<QQ", self._map, len(MAGIC))
        start = len(MAGIC) + 16
        try:
            self.meta = json.loads(self._map[start : start + hlen])
        except ValueError:  # cut short or edited: nothing in it can be trusted
            raise ValueError(f"{path} is damaged: its header does not parse (rebuild it with llm-dlp fingerprint index)") from None
        # fingerprints of another tokenizer never match
        if not isinstance(self.meta, dict) or {key: self.meta.get(key) for key in VERSION} != VERSION:
            raise stale
        offset = start + hlen + (-(start + hlen) % 8)
        self._hashes = np.frombuffer(self._map, dtype="<u8", count=count, offset=offset)
        self._fids = np.frombuffer(self._map, dtype="<u4", count=count, offset=offset + 8 * count)
        self._lines = np.frombuffer(self._map, dtype="<u4", count=count, offset=offset + 12 * count)
        self.files = self.meta["files"]
        self.recent = _Recent(4096)  # a reloaded index is a new object, with no stale results
        self._bits = bucket_bits(count)
        self._starts = np.empty((1 << self._bits) + 1, np.uint32)  # numpy's: in huge pages, fewer TLB misses
        self._filter = np.empty(1 << filter_bits(count), np.uint64)
        _winnow.bucket_starts(self._hashes, self._bits, self._starts, self._filter)

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each index entry sharing a hash with ``hashes``: (position in ``hashes``, file id),
        by position, then along the index. Compiled: a filter of the index's hashes rules out
        most of those it lacks at one read each, and each other hash is searched for only among
        the index's hashes of the same top bits; those of the hashes after it are fetched into
        cache meanwhile."""
        queries = np.ascontiguousarray(hashes, np.uint64)
        positions, files = _winnow.lookup(self._hashes, self._fids, self._starts, self._filter, self._bits, queries)
        return np.frombuffer(positions, np.intp), np.frombuffer(files, np.uint32)


def bucket_bits(count: int) -> int:
    """The top bits of a hash that pick its bucket in an index of ``count`` fingerprints: 1 to 2
    fingerprints a bucket (a search reads one cache line), 4 bytes a bucket in the table of where
    they start (2 to 4 MB per million fingerprints)."""
    return min(32, max(1, count.bit_length() - 1))


def filter_bits(count: int) -> int:
    """The filter of an index of ``count`` fingerprints is 2**n words of 64 bits: 8 to 16 bits a
    fingerprint (1 to 2 MB per million), which lets through 1.5% to 5% of those it lacks."""
    return min(32, max(0, count.bit_length() - 3))


@dataclass(frozen=True)
class CodeMatch:
    file: str  # the indexed file: "repository/path/in/it"
    fingerprints: int
    first_line: int  # in the inspected text
    last_line: int


SHAPE_WEIGHT = 0.6  # a fingerprint of the shape counts this much: a renamed copy needs 10 where a copy needs 6
PROSE_WEIGHT = 0.5  # and one of prose this much, summed with those as written: 12 alone make a match
# A shape whose k-gram holds two telling literals or more (strings, numbers: renaming leaves them)
# counts as one as written, summed with them: of unrelated code, such shapes hit an index twenty
# times more rarely than the others (0.07% against 1.5%), where a renamed copy finds 85% of either.
SHAPE_LITERALS_WEIGHT = 1.0
# The text's shapes in an unbroken run, each found in one file, count this much each: 7 make a
# match at the default 6, where 10 apart do. A renamed paste's shapes are all in its file, one
# after the other; what unrelated code shares with a file is a few shapes here and there (nine in
# ten unrelated 40-line chunks share no run longer than 2 with any file). 6 raised false alarms.
SHAPE_RUN_WEIGHT = 6 / 7
MIN_LINES = 3  # matched fingerprints must spread over this many lines (one long list line is no evidence)


def match(index: FingerprintIndex, text: str, threshold: int, window_lines: int, language: str | None = None) -> list[CodeMatch]:
    """Indexed files from which distinct fingerprints worth ``threshold`` (SHAPE_WEIGHT each when
    alike only in shape, SHAPE_RUN_WEIGHT each in an unbroken run of the text's shapes, one when
    spelled alike too, PROSE_WEIGHT each of prose and
    SHAPE_LITERALS_WEIGHT each of a shape holding literals, summed with those spelled alike) fall within
    ``window_lines`` lines' worth of tokens of ``text`` (TOKENS_PER_LINE a line), over at least
    MIN_LINES lines, or, in a piece of the text (a fenced block, or the text between fences)
    too short for that, ``threshold`` shapes that are SHORT_SHARE of those it carries; each
    match widened to the whole paste it is in. ``language``: of the request's file, if it names one."""
    encoding, encoded = _encoded(text)
    key = (threshold, window_lines, language, encoding, hashlib.sha256(encoded).digest())
    return index.recent.get(key, lambda: _match(index, text, _Lines(encoded, encoding), threshold, window_lines, language))


def _encoded(text: str) -> tuple[str, bytes]:
    """A text's encoding and its bytes in it, for the key of its results and the lines a match
    widens over: UTF-8 when it is ASCII (its own bytes, copied), else UTF-16 (a text of one
    character past Latin-1 is 2 bytes a character: encoding 256 KB of it in UTF-8 took 0.64 ms,
    in UTF-16 0.16 ms, the digest of twice the bytes 0.18 ms more), unless it holds a lone
    surrogate, which UTF-16 would pair with the next (two texts alike in it): then UTF-8 with
    each surrogate on its own."""
    if not text.isascii():
        try:
            return "utf-16-le", text.encode("utf-16-le")
        except UnicodeEncodeError:
            pass
    return "utf-8", text.encode("utf-8", "surrogatepass")


def _match(index: FingerprintIndex, text: str, lines: _Lines, threshold: int, window_lines: int, language: str | None) -> list[CodeMatch]:
    pieces = _piece_fingerprints(text, language)
    prints = _joined(pieces)
    query, fids = index.lookup(prints.hashes)
    # One hit per indexed file and fingerprint, at its first place in the text...
    by_print = np.lexsort((query, prints.hashes[query], fids))
    query, fids = query[by_print], fids[by_print]
    hashes = prints.hashes[query]
    first = _run_starts(fids, hashes)
    query, fids = query[first], fids[first]
    # ...then by file and along the text: tokens and start lines ascend within each file.
    along = np.lexsort((query, fids))
    query, fids = query[along], fids[along]
    kinds, window = kinds_of(prints.hashes[query]), window_lines * TOKENS_PER_LINE
    regions = _regions(
        fids, kinds, prints.shapes[query], prints.tokens[query], prints.lines[query], prints.end_lines[query], threshold, window
    )
    offsets = np.cumsum([0] + [len(p.hashes) for p in pieces])  # where each piece's fingerprints start
    regions += _short_pastes(prints, offsets, query, fids, kinds, threshold, regions)
    return [CodeMatch(index.files[fid], count, *_paste_around(lines, start, end)) for fid, count, start, end in regions]


class _Lines:
    """The lines of a text, from its encoding (_encoded), each decoded when read: a match widens
    over a few dozen of them, and splitting 256 KB into lines takes 0.5 ms. Its newlines are
    looked for once a match asks."""

    def __init__(self, encoded: bytes, encoding: str):
        self._encoded, self._encoding = encoded, encoding
        self._unit = 2 if encoding == "utf-16-le" else 1  # a newline is one unit of either, and no part of another character

    @functools.cached_property
    def _ends(self) -> np.ndarray:
        """In units of the encoding."""
        return np.flatnonzero(np.frombuffer(self._encoded, "<u2" if self._unit == 2 else np.uint8) == ord("\n"))

    def __len__(self) -> int:
        return len(self._ends) + 1

    def __getitem__(self, line: int) -> str:
        start = (int(self._ends[line - 1]) + 1) * self._unit if line else 0
        end = int(self._ends[line]) * self._unit if line < len(self._ends) else len(self._encoded)
        return self._encoded[start:end].decode(self._encoding, "surrogatepass")


# Where a paste ends: a markdown fence line (the text outside is the developer's), or a line
# of prose (a sentence, not code, and not a comment), or WIDEN_LINES non-blank lines beyond
# the match. A match widens to these edges, so the whole paste is withheld: after renaming,
# its first lines fingerprint unlike the indexed file (the earlier uses of each name are
# missing), and winnowing may keep no fingerprint among its last k-grams.
WIDEN_LINES = 60
_FENCE_LINE = re.compile(r"[ \t]*(?:```|~~~)")
_PROSE = re.compile(r"[A-Z][^(){}\[\]=;<>:_*/\\]*[.?!]|(?:[A-Za-z][a-z']*[ ,]+){5,}[A-Za-z]+[.?!:]?")
_COMMENT_START = ("#", "//", "/*", "*", "--", "<!--")


def _is_edge(line: str, body: str) -> bool:
    """``body``: the line stripped."""
    return bool(_FENCE_LINE.match(line)) or (not body.startswith(_COMMENT_START) and _PROSE.fullmatch(body) is not None)


def _paste_around(lines: _Lines | list[str], first: int, last: int) -> tuple[int, int]:
    """The first and last lines (from 1) of the paste holding lines ``first`` to ``last``."""
    return _edge(lines, first, -1), _edge(lines, last, 1)


def _edge(lines: _Lines | list[str], line: int, step: int) -> int:
    """``line`` moved by ``step`` up to the paste's edge."""
    count, total = WIDEN_LINES, len(lines)
    while count and 1 <= line + step <= total:
        text = lines[line + step - 1]  # each line decoded and stripped once
        body = text.strip()
        if _is_edge(text, body):
            break
        line += step
        count -= bool(body)
    return line


# A piece of the request (a fenced block, or the text between fences) that carries too few
# shapes for a match (a renamed enum list, flag table or run of declarations: 20 lines of them
# hold 4 to 9) is still one file's if nearly all it carries is: SHORT_SHARE of its distinct
# shapes, and ``threshold`` of them (each counting 1, not SHAPE_WEIGHT), spanning MIN_LINES lines.
# What it carries leaves out the shapes of the common-code list (every project's idioms: no
# evidence either way, and a short piece is often half of them), but counts those of no indexed
# file and those the index dropped as several of its files' boilerplate (which matching cannot
# tell apart), so a piece of other code, or of an organisation's boilerplate, does not get there.
SHORT_SHARE = 0.9
# A piece holding more than this many fingerprints (of any kind, repeats too) for each one of
# the file's is not looked at this way: a short piece it is not, and counting its distinct
# shapes costs a sort (a table repeats a line's shape about 5 times; half of all are shapes).
SHORT_REPEATS = 16


def _short_pastes(
    prints: Prints, offsets: np.ndarray, query: np.ndarray, fids: np.ndarray, kinds: np.ndarray, threshold: int, found: list
) -> list[tuple[int, int, int, int]]:
    """(file, fingerprints, first line, last line) of each piece of the text (its fingerprints:
    ``prints`` from ``offsets[i]`` to ``offsets[i + 1]``) where one indexed file holds
    SHORT_SHARE of the distinct shapes the piece carries (but for the common-code list's),
    ``threshold`` of them at least,
    spanning MIN_LINES lines, unless a region ``found`` of that file covers it already.
    ``query`` and ``fids``: one hit per file and fingerprint, by file; ``kinds``: theirs."""
    least, sizes = threshold - 1e-9, np.diff(offsets)
    if not len(query) or len(query) < least or sizes.min() > SHORT_REPEATS * len(query) / SHORT_SHARE:
        return []  # (the usual case of a long text: every piece far larger than its hits)
    shaped = of_shape(kinds)
    hits, files = query[shaped], fids[shaped].astype(np.int64)
    at = np.searchsorted(offsets, hits, side="right") - 1  # the piece of each hit
    pieces = len(offsets) - 1
    groups, counts = np.unique(files * pieces + at, return_counts=True)
    out = []
    for group in groups[(counts >= least) & (sizes[groups % pieces] <= SHORT_REPEATS * counts / SHORT_SHARE)].tolist():
        fid, piece = divmod(group, pieces)
        mine = hits[(files == fid) & (at == piece)]
        own = prints.hashes[offsets[piece] : offsets[piece + 1]]
        shapes = np.unique(own[of_shape(kinds_of(own))])
        carried = len(shapes) - int(in_common_code(shapes).sum())
        first, last = int(prints.lines[mine].min()), int(prints.end_lines[mine].max())
        if (
            len(mine) >= SHORT_SHARE * carried - 1e-9
            and last - first + 1 >= MIN_LINES  # the k-grams' lines, not their starts: a short piece's start in its first lines
            and not any(f == fid and s <= last and first <= e for f, _, s, e in found)
        ):
            out.append((fid, len(mine), first, last))
    return out


def _regions(
    fids: np.ndarray,
    kinds: np.ndarray,
    shape_ranks: np.ndarray,
    tokens: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    threshold: int,
    window: int,
) -> list[tuple[int, int, int, int]]:
    """(file, fingerprints, first line, last line) of every stretch of the text covered by
    windows of ``window`` tokens holding fingerprints of one file worth ``threshold`` (by their
    ``kinds``: those as written, of prose and of shapes holding literals summed, or those of the
    shape, of either kind, or an unbroken run of the text's shapes, by their ``shape_ranks``:
    each one's place among the text's fingerprints of the shape) over MIN_LINES
    lines; overlapping windows merge, so a long paste is covered whole. The fingerprints come
    by file, and within a file their tokens and their start and end lines ascend (as along the
    text), so the window ending at fingerprint i ends at ends[i]."""
    if not len(fids):
        return []
    stride = int(tokens.max()) + window + 2  # file * stride + token: windows never reach into another file
    place = fids.astype(np.int64) * stride + tokens
    lo = np.searchsorted(place, place - window)  # each window's first fingerprint
    distinct = np.cumsum(_run_starts(starts, fids))
    weights = np.array([0.0, 1.0, PROSE_WEIGHT, SHAPE_LITERALS_WEIGHT])[kinds]  # by kind: SHAPE, SPELLED, PROSE, SHAPE_LITERALS
    alike = np.concatenate([[0], np.cumsum(weights)])  # as written (prose and shapes with literals included) up to each...
    is_shape = of_shape(kinds)
    shaped = np.concatenate([[0], np.cumsum(is_shape)])  # ...and of the shape
    enough = (alike[1:] - alike[lo] >= threshold - 1e-9) | ((shaped[1:] - shaped[lo]) * SHAPE_WEIGHT >= threshold - 1e-9)
    run, run_start = _shape_runs(fids, is_shape, shape_ranks)
    enough |= (run * SHAPE_RUN_WEIGHT >= threshold - 1e-9) & (run_start >= lo)
    qualifies = enough & (distinct - distinct[lo] + 1 >= MIN_LINES)
    if not qualifies.any():
        return []
    at = np.flatnonzero(qualifies)
    file, first, last = fids[at], lo[at], at  # each window's first and last fingerprint
    opens = np.ones(len(file), bool)  # a new region, unless the window overlaps the one before in the same file
    opens[1:] = (file[1:] != file[:-1]) | (first[1:] > last[:-1])
    firsts = first[opens]
    lasts = last[np.append(np.flatnonzero(opens)[1:] - 1, len(last) - 1)]
    span = int(ends.max()) + 1  # a window ends where its longest k-gram does (the two kinds differ in length)
    ends = np.maximum.accumulate(fids.astype(np.int64) * span + ends) - fids.astype(np.int64) * span
    return list(zip(file[opens].tolist(), (lasts - firsts + 1).tolist(), starts[firsts].tolist(), ends[lasts].tolist()))


def _shape_runs(fids: np.ndarray, shaped: np.ndarray, shape_ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each fingerprint of the shape, the length of the unbroken run of the text's shapes,
    each found in its file, that it ends, and where that run starts (0 and -1 for the others).
    A shape repeated in the text is a hit at its first place only, so a run holds distinct
    fingerprints: a block of code repeated (a run of getters) makes no long run."""
    run, run_start = np.zeros(len(fids), np.int64), np.full(len(fids), -1, np.int64)
    at = np.flatnonzero(shaped)
    ranks, files = shape_ranks[at], fids[at]
    goes_on = np.zeros(len(at), bool)
    goes_on[1:] = (files[1:] == files[:-1]) & (ranks[1:] == ranks[:-1] + 1)
    opened = np.maximum.accumulate(np.where(goes_on, 0, np.arange(len(at))))  # each one's run's first (of at)
    run[at] = np.arange(len(at)) - opened + 1
    run_start[at] = at[opened]
    return run, run_start


def print_progress(done: int, total: int) -> None:
    if done == total or done % 50 == 0:
        width = 30
        filled = width * done // max(total, 1)
        print(
            f"\rindexing [{'#' * filled}{'.' * (width - filled)}] {done}/{total} files", end="" if done < total else "\n", file=sys.stderr
        )
