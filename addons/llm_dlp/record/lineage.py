"""Lineage of AI-generated code: what the model wrote is fingerprinted line by line at the
proxy; ``llm-dlp lineage scan`` later finds those lines in a working tree, with provenance.

A line's fingerprint is a keyed hash of the line with its whitespace normalised (so
re-indentation does not hide it). Lines the request already contained are not "generated":
the model merely echoed them. Short lines (``}``, ``return x``) are not fingerprinted, and a
match needs a run of several consecutive lines, so common one-liners attribute nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from llm_dlp.text.markdown import code_blocks

MIN_LINE = 12  # normalised characters; shorter lines are too common to attribute
MIN_RUN = 3  # consecutive matching lines for an attribution
MAX_LINES = 5000  # fingerprints recorded per response
# tool-call argument fields that carry code being written (Claude Code Write/Edit, Codex, others)
CODE_FIELDS = ("content", "new_string", "new_str", "file_text", "code", "patch", "input")
PATH_FIELDS = ("file_path", "path", "filePath", "filename")


def normalise(line: str) -> str:
    return " ".join(line.split())


class Fingerprinter:
    def __init__(self, key: bytes):
        self._key = key

    def line(self, normalised: str) -> str:
        return hmac.new(self._key, normalised.encode("utf-8", "surrogatepass"), hashlib.blake2b).hexdigest()[:16]

    def lines(self, text: str) -> list[str | None]:
        """A fingerprint per line of ``text``; None for lines too short to count."""
        return [self.line(n) if len(n := normalise(line)) >= MIN_LINE else None for line in text.splitlines()]

    def known(self, texts: Iterable[str]) -> set[str]:
        return {h for t in texts for h in self.lines(t) if h}


@dataclass(frozen=True)
class Generation:
    kind: str  # code_block, tool_edit, completion
    lines: tuple[str, ...]  # fingerprints, in order (echoed and short lines left out)
    language: str | None = None
    file_path: str | None = None

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "lines": list(self.lines)}
        if self.language:
            d["language"] = self.language
        if self.file_path:
            d["file_path"] = self.file_path
        return d


def generations(text: str, is_json: bool, whole_is_code: bool, fp: Fingerprinter, echoed: set[str]) -> list[Generation]:
    """The code in one channel of model output: fenced blocks of text, code fields of tool
    arguments, or the whole text of a code completion."""
    found: list[tuple[str, str, str | None, str | None]] = []
    if is_json:
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            path = next((doc[k] for k in PATH_FIELDS if isinstance(doc.get(k), str)), None)
            found += [("tool_edit", doc[k], None, path) for k in CODE_FIELDS if isinstance(doc.get(k), str)]
    elif whole_is_code:
        found.append(("completion", text, None, None))
    else:
        found += [("code_block", code, lang or None, None) for lang, code in code_blocks(text)]
    out = []
    for kind, code, lang, path in found:
        hashes = tuple(h for h in fp.lines(code) if h and h not in echoed)
        if hashes:
            out.append(Generation(kind, hashes[:MAX_LINES], lang, path))
    return out


class LineageRecorder:
    """Collects the code one response generates (fed by the output inspector)."""

    def __init__(self, fp: Fingerprinter, request_texts: list[str], whole_is_code: bool):
        self._fp = fp
        self._request_texts = request_texts
        self._whole_is_code = whole_is_code
        self._echoed: set[str] | None = None  # computed only if the response holds code
        self.generations: list[Generation] = []

    def add(self, text: str, is_json: bool, whole_is_code: bool | None = None) -> None:
        whole = self._whole_is_code if whole_is_code is None else whole_is_code
        if not (is_json or whole or "```" in text):
            return
        if self._echoed is None:
            self._echoed = self._fp.known(self._request_texts)
        self.generations += generations(text, is_json, whole, self._fp, self._echoed)


# ---- scanning a working tree ------------------------------------------------------------------
@dataclass(frozen=True)
class Provenance:
    model: str | None
    endpoint: str
    tool: str
    user: str | None
    ts: str
    request_id: str

    def trailer(self) -> str:
        return (
            f"AI-Assisted: {self.model or 'unknown model'} via {self.tool} ({self.endpoint}); {self.user or 'unknown user'}; {self.ts[:10]}"
        )


@dataclass(frozen=True)
class Match:
    file: str
    start: int  # 1-based line numbers
    end: int
    provenance: Provenance

    def to_dict(self) -> dict:
        return {"file": self.file, "start": self.start, "end": self.end, **self.provenance.__dict__}


def index_audit(records: Iterable[dict]) -> dict[str, list[tuple[Provenance, int]]]:
    """fingerprint -> [(provenance, generation number)] from request records."""
    index: dict[str, list[tuple[Provenance, int]]] = defaultdict(list)
    n = 0
    for r in records:
        if r.get("event") != "request" or not r.get("generated"):
            continue
        prov = Provenance(
            r.get("served_model") or r.get("model"),
            r.get("endpoint", "?"),
            r.get("tool", "unknown"),
            r.get("user"),
            r.get("ts", ""),
            r.get("request_id", ""),
        )
        for gen in r["generated"]:
            n += 1
            for h in gen.get("lines", []):
                index[h].append((prov, n))
    return index


def scan_file(path: Path, display: str, index, fp: Fingerprinter) -> list[Match]:
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    matches: list[Match] = []
    run: list[tuple[int, set[int], Provenance]] = []  # (line number, generations it may belong to, provenance)

    def close_run():
        if len(run) >= MIN_RUN:
            matches.append(Match(display, run[0][0], run[-1][0], run[0][2]))
        run.clear()

    for number, h in enumerate(fp.lines(text), 1):
        if h is None:
            continue  # blank and short lines neither extend nor break a run
        hits = index.get(h)
        if not hits:
            close_run()
            continue
        gens = {g for _, g in hits}
        if run and not (gens & run[-1][1]):
            close_run()
        shared = gens & run[-1][1] if run else gens
        prov = next(p for p, g in hits if g in shared)
        run.append((number, shared, prov))
    close_run()
    return matches


def scan_paths(paths: list[Path], index, fp: Fingerprinter) -> list[Match]:
    out = []
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)
        for f in files:
            out += scan_file(f, str(f), index, fp)
    return out
