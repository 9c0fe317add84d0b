"""Fingerprints of private repositories (winnowing, Schleimer, Wilkerson and Aiken 2003, the
algorithm behind MOSS), to recognise proprietary code pasted without any path.

Code is tokenised by one language-agnostic lexer: pasted code does not name its language, and
the index and the request must be tokenised alike. (Pygments' lexer for one language takes
about 450 ms per 256 KB; bench/fingerprint_bench.py measures it beside ours.) Markdown fence
lines, comments (#, //, /* */, "-- ") and whitespace are dropped. Each token becomes a code:

- punctuation stays itself; reserved words of the common languages keep their own codes;
- a string literal becomes a hash of its content (renaming and re-indenting leave string
  contents alone, and this is what tells one table of strings from another);
- every number becomes one code;
- an identifier becomes the distance in words back to the previous use of the same name
  (0 when none within CAP words): renaming keeps this pattern, while "v = v + 1" and
  "a = b + 1" stop looking alike.

Every k-gram of codes is hashed, and in each window of W hashes the rightmost smallest is kept
with its line. The lexer and winnowing are compiled (``_winnow.c``): linear in the text
whatever it holds, and off the GIL, so matching in a worker thread does not hold up the proxy.

Index file: a JSON header (files, parameters) and three arrays sorted by hash, read through
mmap, so a large index costs page cache, not Python objects."""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import struct
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple
from pathlib import Path

import numpy as np

from . import _winnow

K = 20  # tokens per k-gram
W = 10  # winnowing window
CAP = 16  # how far back (in words) an identifier's previous use still counts
SEED = 20031009  # of the random value each token code contributes to a k-gram hash
MAGIC = b"LLMDLPFP3"
VERSION = {"k": K, "w": W, "cap": CAP, "tokenizer": 4}  # a cache or index built otherwise is rebuilt / refused

# Reserved in most languages and rarely a variable name in any (self, this, type, new, match,
# default... are left out: they are ordinary identifiers somewhere and a renamer may touch them).
KEYWORDS = tuple(sorted(set(
    "and as assert async await break case catch class const continue def del delete do elif else enum except extends "
    "finally fn for from func function if implements import in instanceof interface is lambda let nil nonlocal not null "
    "or pass private protected public raise return static struct switch throw throws try typeof var void while with "
    "yield True False None true false".split()
)))


def tokenise(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Token codes (uint32) and their line numbers (int32, from 1)."""
    codes, lines = _winnow.tokens(text, KEYWORDS, CAP)
    return np.frombuffer(codes, np.uint32), np.frombuffer(lines, np.int32)


class Prints(NamedTuple):
    hashes: np.ndarray  # uint64
    lines: np.ndarray  # where each fingerprinted k-gram starts...
    end_lines: np.ndarray  # ...and ends


def fingerprints(text: str) -> Prints:
    hashes, lines, end_lines = _winnow.fingerprints(text, KEYWORDS, K, W, CAP, SEED)
    return Prints(np.frombuffer(hashes, np.uint64), np.frombuffer(lines, np.int32), np.frombuffer(end_lines, np.int32))


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
def build_index(repos: list[Path], out: Path, public: list[Path] = (), max_files_per_fp: int = 10, progress=None,
                index_all: bool = False) -> dict:
    """Index every source file under ``repos``; drop fingerprints found in public code (the
    ``public`` directories, licence texts included, and, unless ``index_all``, vendored
    directories and generated files inside ``repos``) or in more than ``max_files_per_fp``
    indexed files (licence headers, boilerplate). A cache beside ``out`` makes re-runs
    incremental."""
    cache_path = out.with_name(out.name + ".cache.json")
    try:
        cache = json.loads(cache_path.read_text())
        cache = cache["files"] if cache.get("version") == VERSION else {}
    except (OSError, ValueError, KeyError, AttributeError):
        cache = {}
    found = [(repo, p) for repo in repos for p in sorted(repo.rglob("*")) if _is_source(p)]
    borrowed = [] if index_all else [p for repo, p in found if _is_vendored_or_generated(repo, p)]
    skipped = set(borrowed)
    sources = [(repo, p) for repo, p in found if p not in skipped]
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
    public_files = borrowed + [f for d in public for f in sorted(d.rglob("*")) if _is_source(f) or _is_licence(f)]
    keep = ~np.isin(all_hashes, _common(hashes, max_files_per_fp)) & ~np.isin(all_hashes, _hashes_of(public_files))
    order = np.argsort(all_hashes[keep], kind="stable")
    rows = (all_hashes[keep][order], fids[keep][order], np.concatenate(lines or [np.empty(0, np.uint32)])[keep][order])
    _write_index(out, files, rows)
    return {"files": len(files), "lines": line_count, "fingerprints": len(rows[0]), "bytes": out.stat().st_size,
            "vendored_or_generated": len(borrowed)}


def _common(per_file: list[np.ndarray], max_files: int) -> np.ndarray:
    """Fingerprints that occur in more than ``max_files`` files."""
    if not per_file:
        return np.empty(0, np.uint64)
    values, counts = np.unique(np.concatenate([np.unique(h) for h in per_file]), return_counts=True)
    return values[counts > max_files]


def _hashes_of(files: list[Path]) -> np.ndarray:
    found = [fingerprints(f.read_text(encoding="utf-8", errors="replace")).hashes for f in files]
    return np.unique(np.concatenate(found)) if found else np.empty(0, np.uint64)


# Directories of other people's code that repositories carry, and what generators write at the
# top of their output. The markers are the generators' own conventions, narrow on purpose: a
# file wrongly taken for generated code would go unprotected.
VENDORED_DIRS = frozenset({"node_modules", "bower_components", "vendor", "vendored", "third_party", "third-party", "thirdparty",
                           "external", "extern", "site-packages", "Pods", ".venv", "venv"})
GENERATED_SUFFIXES = ("_pb2.py", "_pb2_grpc.py", "_pb2.pyi", ".pb.go", ".pb.cc", ".pb.h", ".min.js", ".g.dart", ".designer.cs", ".g.cs")
GENERATED_MARKS = ("DO NOT EDIT", "@generated", "<auto-generated", "This file is automatically generated",
                   "This file was automatically generated", "Generated by the protocol buffer compiler")


def _is_vendored_or_generated(repo: Path, path: Path) -> bool:
    if VENDORED_DIRS.intersection(path.relative_to(repo).parts[:-1]) or path.name.endswith(GENERATED_SUFFIXES):
        return True
    with open(path, encoding="utf-8", errors="replace") as f:
        head = f.read(1024)  # generators mark the top of the file
    return any(mark in head for mark in GENERATED_MARKS)


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
        stale = ValueError(f"{path} is not an llm-dlp fingerprint index of this version (rebuild it with llm-dlp fingerprint index)")
        if self._map[: len(MAGIC)] != MAGIC:
            raise stale
        hlen, count = struct.unpack_from("<QQ", self._map, len(MAGIC))
        start = len(MAGIC) + 16
        self.meta = json.loads(self._map[start : start + hlen])
        if {key: self.meta.get(key) for key in VERSION} != VERSION:  # fingerprints of another tokenizer never match
            raise stale
        offset = start + hlen + (-(start + hlen) % 8)
        self._hashes = np.frombuffer(self._map, dtype="<u8", count=count, offset=offset)
        self._fids = np.frombuffer(self._map, dtype="<u4", count=count, offset=offset + 8 * count)
        self._lines = np.frombuffer(self._map, dtype="<u4", count=count, offset=offset + 12 * count)
        self.files = self.meta["files"]
        self.recent = _Recent(4096)  # a reloaded index is a new object, with no stale results

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each index entry sharing a hash with ``hashes``: (position in ``hashes``, file id)."""
        lo = np.searchsorted(self._hashes, hashes, side="left")
        present = self._hashes[np.minimum(lo, len(self._hashes) - 1)] == hashes if len(self._hashes) else np.zeros(len(hashes), bool)
        counts = np.zeros(len(hashes), dtype=np.int64)  # most of a request is not in the index: one search each
        counts[present] = np.searchsorted(self._hashes, hashes[present], side="right") - lo[present]
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
    if not len(query):
        return []
    # One hit per indexed file and fingerprint, at its first place in the text; then by file.
    order = np.lexsort((query, prints.hashes[query], fids))
    query, fids = query[order], fids[order]
    hashes = prints.hashes[query]
    first = np.concatenate(([True], (fids[1:] != fids[:-1]) | (hashes[1:] != hashes[:-1])))
    query, fids = query[first], fids[first]
    starts = np.flatnonzero(np.concatenate(([True], fids[1:] != fids[:-1])))
    ends = np.append(starts[1:], len(fids))
    found = []
    for lo, hi in zip(starts[ends - starts >= threshold].tolist(), ends[ends - starts >= threshold].tolist()):
        q = np.sort(query[lo:hi])  # text order: start lines, then end lines, ascending
        lines = prints.lines[q]
        in_window = np.arange(len(q)) - np.searchsorted(lines, lines - window_lines) + 1
        if in_window.max() >= threshold:  # else no window holds enough: skip the exact pass
            spans = list(zip(lines.tolist(), prints.end_lines[q].tolist()))
            found += [CodeMatch(index.files[int(fids[lo])], *region) for region in _regions(spans, threshold, window_lines)]
    return found


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
