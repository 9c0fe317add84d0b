"""Fingerprints of private repositories (winnowing, Schleimer, Wilkerson and Aiken 2003, the
algorithm behind MOSS), to recognise proprietary code pasted without any path.

Code is tokenised by one language-agnostic tokenizer (Pygments per language was measured
6-7x slower to index and needs the language at query time, which pasted code does not name):
comments and whitespace are dropped, identifiers become ``v``, strings ``s`` and numbers ``n``;
keywords (of the common languages) and punctuation stay. Every k-gram of tokens is hashed and, in
each window of w hashes, the smallest is kept with its line. Renaming identifiers,
re-indenting and removing comments change none of the kept fingerprints.

Index file: a JSON header (files, parameters) and three arrays sorted by hash, read through
mmap, so a large index costs page cache, not Python objects."""

from __future__ import annotations

import array
import bisect
import hashlib
import json
import mmap
import os
import re
import struct
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

K = 25  # tokens per k-gram
W = 16  # winnowing window
MASK = (1 << 64) - 1
BASE = 1_000_003
MAGIC = b"LLMDLPFP1"
KEYWORDS = frozenset(
    "and as assert async await break case catch class const continue def default defer del delete do elif else enum except export "
    "extends final finally fn for from func function go goto if impl import in instanceof interface is lambda let loop match mod "
    "module mut new nonlocal not null or package pass private protected pub public raise return self static struct super switch "
    "this throw throws trait try type typeof union unsafe use var void volatile where while with yield true false none nil".split()
)
_COMMENT_OR_LITERAL = re.compile(
    r"""(?P<c>\#[^\n]*|//[^\n]*|/\*.*?\*/|--[^\n]*)|(?P<s>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`\n]*`)|(?P<n>\b\d[\w.]*)""",
    re.DOTALL,
)
_FENCE_LINE = re.compile(r"^[ \t]*(?:```|~~~)[^\n]*$", re.MULTILINE)
_WORD_OR_MARK = re.compile(r"[A-Za-z_$][\w$]*|[^\s\w]")
_TOKEN_IDS: dict[str, int] = {}


def _token_id(token: str) -> int:
    tid = _TOKEN_IDS.get(token)
    if tid is None:
        tid = _TOKEN_IDS[token] = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
    return tid


def _literal(m: re.Match[str]) -> str:
    """Comments vanish, strings become s and numbers n; newlines are kept for line numbers."""
    newlines = "\n" * m.group().count("\n")
    kind = m.lastgroup
    return newlines if kind == "c" else f" {kind} {newlines}"


def tokenise(text: str) -> tuple[list[str], list[int]]:
    """Normalised tokens and their line numbers. One language-agnostic tokenizer serves the
    index and the proxy alike, so pasted code matches whatever language it is, at regex speed."""
    text = _FENCE_LINE.sub("", text)  # markdown fences around pasted code are not code
    text = _COMMENT_OR_LITERAL.sub(_literal, text)
    tokens: list[str] = []
    lines: list[int] = []
    for number, line in enumerate(text.split("\n"), 1):
        found = _WORD_OR_MARK.findall(line)
        if found:
            tokens += [t if t in KEYWORDS or not (t[0].isalpha() or t[0] in "_$") or t in ("s", "n") else "v" for t in found]
            lines += [number] * len(found)
    return tokens, lines


def winnow(tokenised: tuple[list[str], list[int]]) -> list[tuple[int, int]]:
    """(hash, line) fingerprints chosen by winnowing (the rightmost minimum of each window)."""
    tokens, lines = tokenised
    if len(tokens) < K:
        return []
    ids = [_token_id(t) for t in tokens]
    top = pow(BASE, K - 1, 1 << 64)
    h = 0
    for t in ids[:K]:
        h = (h * BASE + t) & MASK
    hashes = [h]
    for i in range(K, len(ids)):
        h = ((h - ids[i - K] * top) * BASE + ids[i]) & MASK
        hashes.append(h)
    chosen: list[tuple[int, int]] = []
    last = -1
    for start in range(max(1, len(hashes) - W + 1)):
        window = hashes[start : start + W]
        low = min(window)
        pos = start + len(window) - 1 - window[::-1].index(low)
        if pos != last:
            chosen.append((low, lines[pos]))
            last = pos
    return chosen


# ---- the index ------------------------------------------------------------------------------
@dataclass
class IndexBuild:
    files: list[str]
    fingerprints: list[tuple[int, int, int]]  # (hash, file id, line)


def build_index(repos: list[Path], out: Path, public: list[Path] = (), max_files_per_fp: int = 10, progress=None) -> dict:
    """Index every source file under ``repos``; drop fingerprints found in ``public`` code or in
    more than ``max_files_per_fp`` indexed files (licence headers, generated code). A cache
    beside ``out`` makes re-runs incremental."""
    cache_path = out.with_name(out.name + ".cache.json")
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    sources = [p for repo in repos for p in sorted(repo.rglob("*")) if _is_source(p)]
    files: list[str] = []
    per_file: list[list[tuple[int, int]]] = []
    lines = 0
    for n, path in enumerate(sources, 1):
        stat = path.stat()
        key = str(path.resolve())
        entry = cache.get(key)
        if not entry or entry["mtime"] != stat.st_mtime or entry["size"] != stat.st_size:
            text = path.read_text(encoding="utf-8", errors="replace")
            entry = {"mtime": stat.st_mtime, "size": stat.st_size, "lines": text.count("\n") + 1, "fp": winnow(tokenise(text))}
            cache[key] = entry
        files.append(str(path))
        per_file.append([tuple(x) for x in entry["fp"]])
        lines += entry["lines"]
        if progress:
            progress(n, len(sources))
    indexed = {str(Path(f).resolve()) for f in files}
    cache_path.write_text(json.dumps({k: v for k, v in cache.items() if k in indexed}))
    common = {h for p in public for f in p.rglob("*") if _is_source(f) for h, _ in winnow(tokenise(f.read_text(encoding="utf-8", errors="replace")))}
    spread = Counter(h for fps in per_file for h in {h for h, _ in fps})
    rows = sorted(
        (h, fid, line)
        for fid, fps in enumerate(per_file)
        for h, line in fps
        if h not in common and spread[h] <= max_files_per_fp
    )
    _write_index(out, files, rows)
    return {"files": len(files), "lines": lines, "fingerprints": len(rows), "bytes": out.stat().st_size}


def _is_source(path: Path) -> bool:
    return path.is_file() and ".git" not in path.parts and path.suffix in _SOURCE_SUFFIXES and path.stat().st_size < 2_000_000


_SOURCE_SUFFIXES = {".py", ".js", ".ts", ".tsx", ".jsx", ".java", ".kt", ".go", ".rs", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs",
                    ".rb", ".php", ".scala", ".swift", ".m", ".sql", ".sh", ".lua", ".dart"}


def _write_index(out: Path, files: list[str], rows: list[tuple[int, int, int]]) -> None:
    header = json.dumps({"k": K, "w": W, "files": files}).encode()
    hashes = array.array("Q", (r[0] for r in rows))
    fids = array.array("I", (r[1] for r in rows))
    lines = array.array("I", (r[2] for r in rows))
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<QQ", len(header), len(rows)) + header)
        f.write(b"\0" * (-f.tell() % 8))
        for arr in (hashes, fids, lines):
            f.write(arr.tobytes())
    os.replace(tmp, out)  # the proxy never sees a half-written index


class FingerprintIndex:
    """A read-only, memory-mapped index."""

    def __init__(self, path: Path):
        self.path = path
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if self._map[: len(MAGIC)] != MAGIC:
            raise ValueError(f"{path} is not an llm-dlp fingerprint index")
        hlen, count = struct.unpack_from("<QQ", self._map, len(MAGIC))
        start = len(MAGIC) + 16
        self.meta = json.loads(self._map[start : start + hlen])
        offset = start + hlen + (-(start + hlen) % 8)
        view = memoryview(self._map)
        self._hashes = view[offset : offset + 8 * count].cast("Q")
        self._fids = view[offset + 8 * count : offset + 12 * count].cast("I")
        self._lines = view[offset + 12 * count : offset + 16 * count].cast("I")
        self.files = self.meta["files"]

    def lookup(self, h: int) -> list[tuple[int, int]]:
        i = bisect.bisect_left(self._hashes, h)
        out = []
        while i < len(self._hashes) and self._hashes[i] == h:
            out.append((self._fids[i], self._lines[i]))
            i += 1
        return out


@dataclass(frozen=True)
class CodeMatch:
    file: str  # the indexed file
    fingerprints: int
    first_line: int  # in the inspected text
    last_line: int


MIN_LINES = 3  # matched fingerprints must spread over this many lines (one long list line is no evidence)


def match(index: FingerprintIndex, text: str, threshold: int, window_lines: int) -> list[CodeMatch]:
    """Indexed files from which at least ``threshold`` distinct fingerprints fall within
    ``window_lines`` lines of ``text``, over at least MIN_LINES lines."""
    by_file: dict[int, dict[int, int]] = defaultdict(dict)  # file -> fingerprint -> first line seen
    for h, line in winnow(tokenise(text)):
        for fid, _ in index.lookup(h):
            by_file[fid].setdefault(h, line)
    out = []
    for fid, seen in by_file.items():
        lines = sorted(seen.values())
        lo = 0
        for hi in range(len(lines)):
            while lines[hi] - lines[lo] > window_lines:
                lo += 1
            if hi - lo + 1 >= threshold and len(set(lines[lo : hi + 1])) >= MIN_LINES:
                out.append(CodeMatch(index.files[fid], hi - lo + 1, lines[lo], lines[hi]))
                break
    return out


def print_progress(done: int, total: int) -> None:
    if done == total or done % 50 == 0:
        width = 30
        filled = width * done // max(total, 1)
        print(f"\rindexing [{'#' * filled}{'.' * (width - filled)}] {done}/{total} files", end="" if done < total else "\n", file=sys.stderr)
