"""Fingerprints of private repositories (winnowing, Schleimer, Wilkerson and Aiken 2003, the
algorithm behind MOSS), to recognise proprietary code pasted without any path.

Code is tokenised by one language-agnostic tokenizer (Pygments per language was measured
6-7x slower to index and needs the language at query time, which pasted code does not name).
Comments and whitespace are dropped. Each token becomes a small code:

- punctuation stays itself; reserved words of the common languages keep their own codes;
- a string literal becomes a hash of its content (renaming and re-indenting leave string
  contents alone, and this is what tells one table of strings from another);
- every number becomes one code;
- an identifier becomes the distance in words back to the previous use of the same name
  (0 when none within CAP words): renaming keeps this pattern, while "v = v + 1" and
  "a = b + 1" stop looking alike.

Every k-gram of codes is hashed, and in each window of w hashes the rightmost smallest is kept
with its line. After one regex pass for comments and strings, the pipeline runs in numpy over
whole arrays, not a Python step per token.

Index file: a JSON header (files, parameters) and three arrays sorted by hash, read through
mmap, so a large index costs page cache, not Python objects."""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import re
import struct
import sys
import threading
import zlib
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import NamedTuple
from pathlib import Path

import numpy as np

K = 20  # tokens per k-gram
W = 10  # winnowing window
CAP = 16  # how far back (in words) an identifier's previous use still counts
MAGIC = b"LLMDLPFP3"
VERSION = {"k": K, "w": W, "cap": CAP, "tokenizer": 3}  # a cache or index built otherwise is rebuilt / refused

# Reserved in most languages and rarely a variable name in any (self, this, type, new, match,
# default... are left out: they are ordinary identifiers somewhere and a renamer may touch them).
KEYWORDS = tuple(sorted(set(
    "and as assert async await break case catch class const continue def del delete do elif else enum except extends "
    "finally fn for from func function if implements import in instanceof interface is lambda let nil nonlocal not null "
    "or pass private protected public raise return static struct switch throw throws try typeof var void while with "
    "yield True False None true false".split()
)))
# Token codes: ASCII punctuation as is, then strings, numbers, keywords and identifier distances.
STRING_MARK = 1  # a string literal, in the text between the regex pass and the array pass
STRINGS, STRING_BUCKETS = 0x80, 256
NUMBER = STRINGS + STRING_BUCKETS
KEYWORD_BASE = NUMBER + 1
IDENT_BASE = KEYWORD_BASE + len(KEYWORDS)
_TABLE = np.random.default_rng(20031009).integers(1, 2**63, size=IDENT_BASE + CAP + 1, dtype=np.uint64)
_BASE = np.uint64(1_000_003)

_COMMENT_OR_STRING = re.compile(
    r"""(?=[#/"'`-])"""  # lets the regex engine skip ahead quickly
    r"""(?:(?P<c>\#[^\n]*|//[^\n]*|/\*.*?\*/|--[ \t][^\n]*)"""
    r"""|(?P<s>\"\"\"(?P<t2>.*?)\"\"\"|'''(?P<t1>.*?)'''|"(?P<d>(?:[^"\\\n]|\\.)*)"|'(?P<q>(?:[^'\\\n]|\\.)*)'|`(?P<b>[^`]*)`))""",
    re.DOTALL,
)
_FENCE_LINE = re.compile(r"^[ \t]*(?:```|~~~)[^\n]*$", re.MULTILINE)
# By code point below 0x80 (everything above is a word character: letters of any script)
_WORD_CHAR = np.isin(np.arange(0x80), [ord(c) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$"])
_NOT_A_TOKEN = np.isin(np.arange(0x80), [9, 10, 11, 12, 13, 32])  # whitespace, newlines included
_LETTER_WEIGHTS = np.cumprod(np.full(64, 0x100000001B3, dtype=np.uint64))  # the n-th letter of a word, for its hash


class _Strings:
    """The regex pass's callback: comments vanish, a string becomes one mark and its content's
    hash is kept, in order. Newlines inside either stay, so line numbers hold."""

    def __init__(self) -> None:
        self.buckets: list[int] = []

    def __call__(self, m: re.Match[str]) -> str:
        newlines = "\n" * m.group().count("\n")
        if m.group("c") is not None:
            return newlines
        content = next(g for g in m.group("t2", "t1", "d", "q", "b") if g is not None)
        self.buckets.append(zlib.crc32(content.encode("utf-8", "surrogatepass")) % STRING_BUCKETS)
        return chr(STRING_MARK) + newlines


def tokenise(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Token codes and their line numbers (numpy arrays). One regex pass takes out comments and
    strings; words, punctuation and lines are then found with array operations over the code
    points, and words are told apart by a hash of their letters."""
    text = text.replace(chr(STRING_MARK), " ")
    if "```" in text or "~~~" in text:
        text = _FENCE_LINE.sub("", text)  # markdown fences around pasted code are not code
    strings = _Strings()
    text = _COMMENT_OR_STRING.sub(strings, text)
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    ascii_ = np.minimum(points, 0x7F)
    word = (points >= 0x80) | _WORD_CHAR[ascii_]
    first = word & ~np.concatenate(([False], word[:-1]))
    tokens = np.flatnonzero(first | ~(word | _NOT_A_TOKEN[ascii_]))
    lines = np.cumsum(points == 10, dtype=np.int32)[tokens] + 1
    codes = ascii_[tokens].astype(np.int64)  # punctuation is itself
    codes[codes == STRING_MARK] = STRINGS + np.array(strings.buckets, dtype=np.int64)
    if first.any():
        codes[first[tokens]] = _word_codes(_word_hashes(points, word, first), points[first])
    return codes, lines


def _word_hashes(points: np.ndarray, word: np.ndarray, first: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each word's letters (runs of word characters; ``first`` marks where each
    starts)."""
    letters = np.flatnonzero(word)
    run = np.cumsum(first, dtype=np.int32)[letters] - 1
    nth = np.minimum(letters - np.flatnonzero(first)[run], len(_LETTER_WEIGHTS) - 1)
    with np.errstate(over="ignore"):
        weighted = points[letters].astype(np.uint64) * _LETTER_WEIGHTS[nth]
    return np.add.reduceat(weighted, np.flatnonzero(nth == 0))


def _word_hash(word: str) -> np.uint64:
    points = np.frombuffer(word.encode("utf-32-le"), dtype=np.uint32)
    first = np.zeros(len(points), bool)
    first[0] = True
    return _word_hashes(points, np.ones(len(points), bool), first)[0]


_KEYWORD_HASHES = np.array([_word_hash(k) for k in KEYWORDS], dtype=np.uint64)


def _word_codes(hashes: np.ndarray, first_points: np.ndarray) -> np.ndarray:
    """Keywords and numbers get their codes; an identifier, how many words back the same name
    was last used (not within CAP: as if new)."""
    order = np.argsort(hashes, kind="stable")  # each name's uses, in text order
    sorted_hashes = hashes[order]
    distance = np.zeros(len(hashes), dtype=np.int64)
    distance[order[1:]] = np.where(sorted_hashes[1:] == sorted_hashes[:-1], order[1:] - order[:-1], 0)
    distance[distance > CAP] = 0
    codes = IDENT_BASE + distance
    keyword = np.searchsorted(_SORTED_KEYWORD_HASHES, hashes).clip(0, len(KEYWORDS) - 1)
    is_keyword = _SORTED_KEYWORD_HASHES[keyword] == hashes
    codes[is_keyword] = KEYWORD_BASE + _KEYWORD_ORDER[keyword[is_keyword]]
    codes[(first_points >= 48) & (first_points <= 57)] = NUMBER
    return codes


_KEYWORD_ORDER = np.argsort(_KEYWORD_HASHES)
_SORTED_KEYWORD_HASHES = _KEYWORD_HASHES[_KEYWORD_ORDER]


class Prints(NamedTuple):
    hashes: np.ndarray  # uint64
    lines: np.ndarray  # where each fingerprinted k-gram starts...
    end_lines: np.ndarray  # ...and ends


def winnow(tokenised: tuple[np.ndarray, np.ndarray]) -> Prints:
    """Fingerprints chosen by winnowing (the rightmost minimum of each window of W k-gram hashes)."""
    codes, lines = tokenised
    n = len(codes) - K + 1
    if n <= 0:
        return Prints(np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, np.int64))
    values = _TABLE[codes]
    with np.errstate(over="ignore"):  # the hash is polynomial modulo 2**64
        hashes = values[:n].copy()
        for j in range(1, K):
            hashes = hashes * _BASE + values[j : j + n]
    if n <= W:
        chosen = np.array([n - 1 - int(np.argmin(hashes[::-1]))])
    else:
        positions = _rightmost_minima(hashes)  # never decreasing: neighbours repeat
        chosen = positions[np.concatenate(([True], positions[1:] != positions[:-1]))]
    return Prints(hashes[chosen], lines[chosen], lines[chosen + K - 1])


def _rightmost_minima(hashes: np.ndarray) -> np.ndarray:
    """For each window of W hashes, the position of its rightmost minimum: W shifted
    comparisons, rather than a reduction over a strided view."""
    starts = len(hashes) - W + 1
    low = hashes[:starts].copy()
    for j in range(1, W):
        np.minimum(low, hashes[j : j + starts], out=low)
    position = np.full(starts, -1, dtype=np.int64)
    for j in range(W - 1, -1, -1):  # from the right: the first hit is the rightmost
        hit = (position < 0) & (hashes[j : j + starts] == low)
        position[hit] = np.flatnonzero(hit) + j
    return position


def fingerprints(text: str) -> Prints:
    return winnow(tokenise(text))


class _Recent:
    """Results for recently seen texts, by digest, least recently used first out. Assistants
    resend the whole conversation with every request, so most segments of a request were
    matched moments ago."""

    def __init__(self, size: int):
        self._size = size
        self._items: OrderedDict[bytes, list] = OrderedDict()
        self._lock = threading.Lock()  # matching runs in worker threads

    def get(self, key: bytes, compute):
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
def build_index(repos: list[Path], out: Path, public: list[Path] = (), max_files_per_fp: int = 10, progress=None) -> dict:
    """Index every source file under ``repos``; drop fingerprints found in ``public`` code
    (licence texts included) or in more than ``max_files_per_fp`` indexed files (licence
    headers, generated code). A cache beside ``out`` makes re-runs incremental."""
    cache_path = out.with_name(out.name + ".cache.json")
    try:
        cache = json.loads(cache_path.read_text())
        cache = cache["files"] if cache.get("version") == VERSION else {}
    except (OSError, ValueError, KeyError, AttributeError):
        cache = {}
    sources = [(repo, p) for repo in repos for p in sorted(repo.rglob("*")) if _is_source(p)]
    files, hashes, lines, line_count = [], [], [], 0
    for n, (repo, path) in enumerate(sources, 1):
        stat = path.stat()
        key = str(path.resolve())
        entry = cache.get(key)
        if not entry or entry["mtime"] != stat.st_mtime or entry["size"] != stat.st_size:
            text = path.read_text(encoding="utf-8", errors="replace")
            h, ln, _ = fingerprints(text)
            entry = cache[key] = {"mtime": stat.st_mtime, "size": stat.st_size, "lines": text.count("\n") + 1,
                                  "h": h.tolist(), "l": ln.tolist()}
        files.append(f"{repo.resolve().name}/{path.relative_to(repo).as_posix()}")  # repository/file: no local paths
        hashes.append(np.array(entry["h"], dtype=np.uint64))
        lines.append(np.array(entry["l"], dtype=np.uint32))
        line_count += entry["lines"]
        if progress:
            progress(n, len(sources))
    indexed = {str(path.resolve()) for _, path in sources}
    cache_path.write_text(json.dumps({"version": VERSION, "files": {k: v for k, v in cache.items() if k in indexed}}))
    all_hashes = np.concatenate(hashes) if hashes else np.empty(0, np.uint64)
    fids = np.repeat(np.arange(len(files), dtype=np.uint32), [len(h) for h in hashes])
    keep = ~np.isin(all_hashes, _common(hashes, max_files_per_fp)) & ~np.isin(all_hashes, _public_hashes(public))
    order = np.argsort(all_hashes[keep], kind="stable")
    rows = (all_hashes[keep][order], fids[keep][order], np.concatenate(lines or [np.empty(0, np.uint32)])[keep][order])
    _write_index(out, files, rows)
    return {"files": len(files), "lines": line_count, "fingerprints": len(rows[0]), "bytes": out.stat().st_size}


def _common(per_file: list[np.ndarray], max_files: int) -> np.ndarray:
    """Fingerprints that occur in more than ``max_files`` files."""
    if not per_file:
        return np.empty(0, np.uint64)
    values, counts = np.unique(np.concatenate([np.unique(h) for h in per_file]), return_counts=True)
    return values[counts > max_files]


def _public_hashes(dirs: list[Path]) -> np.ndarray:
    found = [fingerprints(f.read_text(encoding="utf-8", errors="replace")).hashes
             for d in dirs for f in sorted(d.rglob("*")) if _is_source(f) or _is_licence(f)]
    return np.unique(np.concatenate(found)) if found else np.empty(0, np.uint64)


def _is_source(path: Path) -> bool:
    return path.is_file() and ".git" not in path.parts and path.suffix in _SOURCE_SUFFIXES and path.stat().st_size < 2_000_000


def _is_licence(path: Path) -> bool:
    return path.is_file() and path.name.upper().startswith(("LICENSE", "LICENCE", "COPYING", "NOTICE"))


_SOURCE_SUFFIXES = {".py", ".js", ".ts", ".tsx", ".jsx", ".java", ".kt", ".go", ".rs", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs",
                    ".rb", ".php", ".scala", ".swift", ".m", ".sql", ".sh", ".lua", ".dart"}


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
        if self._map[: len(MAGIC)] != MAGIC:
            raise ValueError(f"{path} is not an llm-dlp fingerprint index of this version (rebuild it with llm-dlp fingerprint index)")
        hlen, count = struct.unpack_from("<QQ", self._map, len(MAGIC))
        start = len(MAGIC) + 16
        self.meta = json.loads(self._map[start : start + hlen])
        offset = start + hlen + (-(start + hlen) % 8)
        self._hashes = np.frombuffer(self._map, dtype="<u8", count=count, offset=offset)
        self._fids = np.frombuffer(self._map, dtype="<u4", count=count, offset=offset + 8 * count)
        self._lines = np.frombuffer(self._map, dtype="<u4", count=count, offset=offset + 12 * count)
        self.files = self.meta["files"]
        self.recent = _Recent(4096)  # a reloaded index is a new object, with no stale results

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each index entry sharing a hash with ``hashes``: (position in ``hashes``, file id)."""
        lo = np.searchsorted(self._hashes, hashes, side="left")
        hi = np.searchsorted(self._hashes, hashes, side="right")
        counts = hi - lo
        query = np.repeat(np.arange(len(hashes)), counts)
        entries = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        return query, self._fids[entries]


@dataclass(frozen=True)
class CodeMatch:
    file: str  # the indexed file: "repository/path/in/it"
    fingerprints: int
    first_line: int  # in the inspected text
    last_line: int


MIN_LINES = 3  # matched fingerprints must spread over this many lines (one long list line is no evidence)


def match(index: FingerprintIndex, text: str, threshold: int, window_lines: int) -> list[CodeMatch]:
    """Indexed files from which at least ``threshold`` distinct fingerprints fall within
    ``window_lines`` lines of ``text``, over at least MIN_LINES lines."""
    key = hashlib.blake2b(f"{threshold}:{window_lines}:{text}".encode("utf-8", "surrogatepass"), digest_size=16).digest()
    return index.recent.get(key, lambda: _match(index, text, threshold, window_lines))


def _match(index: FingerprintIndex, text: str, threshold: int, window_lines: int) -> list[CodeMatch]:
    prints = fingerprints(text)
    query, fids = index.lookup(prints.hashes)
    by_file: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)  # file -> fingerprint -> (start, end line)
    for q, fid in zip(query.tolist(), fids.tolist()):
        by_file[fid].setdefault(int(prints.hashes[q]), (int(prints.lines[q]), int(prints.end_lines[q])))
    return [CodeMatch(index.files[fid], count, first, last)
            for fid, seen in by_file.items() if len(seen) >= threshold
            for count, first, last in _regions(sorted(seen.values()), threshold, window_lines)]


def _regions(spans: list[tuple[int, int]], threshold: int, window_lines: int) -> list[tuple[int, int, int]]:
    """(fingerprints, first line, last line) of every stretch of the text covered by windows of
    ``window_lines`` lines holding ``threshold`` fingerprints over MIN_LINES lines; overlapping
    windows merge, so a long paste is covered whole."""
    merged: list[list[int]] = []
    lo = 0
    for hi in range(len(spans)):
        while spans[hi][0] - spans[lo][0] > window_lines:
            lo += 1
        if hi - lo + 1 >= threshold and len({s for s, _ in spans[lo : hi + 1]}) >= MIN_LINES:
            first, last = spans[lo][0], max(e for _, e in spans[lo : hi + 1])
            if merged and first <= merged[-1][2] + 1:
                merged[-1][2] = max(merged[-1][2], last)
            else:
                merged.append([0, first, last])
    for region in merged:
        region[0] = sum(region[1] <= s <= region[2] for s, _ in spans)
    return [tuple(r) for r in merged]


def print_progress(done: int, total: int) -> None:
    if done == total or done % 50 == 0:
        width = 30
        filled = width * done // max(total, 1)
        print(f"\rindexing [{'#' * filled}{'.' * (width - filled)}] {done}/{total} files", end="" if done < total else "\n", file=sys.stderr)
