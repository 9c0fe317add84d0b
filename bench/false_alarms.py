"""Why an unrelated text matched an indexed file: which matching rule made the match, and what
the text shares with the file (bench/fingerprint_bench.py --explain-false-alarms).

A rule is named when it alone (beside the fingerprints spelled alike, which every rule counts)
makes the match: the matcher is run again with the other rules' weights set to nothing. What is
shared is shown twice: the fingerprints the text and the file have in common, by kind, with
the text's lines and the file's beside them; and, measured without the fingerprinter, the share
of the text's tokens (Pygments', comments and whitespace left out) that stand in a run of
SHARED_TOKENS tokens spelled alike in the file."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pygments.lexers import get_lexer_by_name
from pygments.token import Comment, Text, Whitespace

from llm_dlp.detect import fingerprint as fp

RULES = {  # name: the weights that make the rule alone
    "as written": {"SHAPE_WEIGHT": 0.0, "SHAPE_RUN_WEIGHT": 0.0, "SHORT_SHARE": float("inf")},
    "shape count": {"SHAPE_RUN_WEIGHT": 0.0, "SHORT_SHARE": float("inf")},
    "shape run": {"SHAPE_WEIGHT": 0.0, "SHORT_SHARE": float("inf")},
    "short piece": {"SHAPE_WEIGHT": 0.0, "SHAPE_RUN_WEIGHT": 0.0},
}
KIND_NAMES = {fp.SHAPE: "shape", fp.SPELLED: "as written", fp.PROSE: "prose", fp.SHAPE_LITERALS: "shape+literals"}
SHARED_TOKENS = 12


@contextlib.contextmanager
def _weights(**values: float) -> Iterator[None]:
    saved = {name: getattr(fp, name) for name in values}
    for name, value in values.items():
        setattr(fp, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(fp, name, value)


def _files_matched(index: fp.FingerprintIndex, text: str, threshold: int, window_lines: int) -> set[str]:
    encoding, encoded = fp._encoded(text)
    lines = fp._Lines(encoded, encoding)
    return {m.file for m in fp._match(index, text, lines, threshold, window_lines, None)}  # uncached: the weights differ


def rules_fired(index: fp.FingerprintIndex, text: str, file: str, threshold: int, window_lines: int) -> list[str]:
    """The rules that alone make ``text`` match ``file``; "together" when none does alone."""
    fired = []
    for name, weights in RULES.items():
        with _weights(**weights):
            if file in _files_matched(index, text, threshold, window_lines):
                fired.append(name)
    if len(fired) > 1 and fired[0] == "as written":
        fired = fired[:1]  # the others count it too
    return fired or ["together"]


def shared_prints(index: fp.FingerprintIndex, text: str, file: str, indexed: str, language: str) -> list[tuple[str, int, int, int]]:
    """(kind, line in ``text``, first and last line in the indexed file) of each fingerprint of
    ``text`` that the index holds of ``file`` (its text: ``indexed``), along the text."""
    mine = fp.text_fingerprints(text)
    at, fids = index.lookup(mine.hashes)
    held = set(mine.hashes[at[fids == index.files.index(file)]].tolist())
    theirs = fp.fingerprints(indexed, language)
    if fp.GRAMMAR.get(language):
        theirs = fp._joined([theirs, fp.fingerprints(indexed, language, grammar=False)])
    where: dict[int, tuple[int, int]] = {}
    for h, start, end in zip(theirs.hashes.tolist(), theirs.lines.tolist(), theirs.end_lines.tolist()):
        where.setdefault(h, (start, end))
    out = []
    for h, kind, line in zip(mine.hashes.tolist(), fp.kinds_of(mine.hashes).tolist(), mine.lines.tolist()):
        if h in held:
            held.discard(h)
            out.append((KIND_NAMES[kind], line, *where.get(h, (0, 0))))
    return out


def code_tokens(text: str, lexer: str) -> list[str]:
    """Pygments' tokens of ``text`` but whitespace, each comment as its words."""
    out = []
    for kind, value in get_lexer_by_name(lexer).get_tokens(text):
        if kind in Comment:
            out += re.findall(r"\w+", value)
        elif value.strip() and not (kind in Text or kind in Whitespace):
            out.append(value.strip())
    return out


def token_runs(text: str, indexed: str, lexer: str) -> tuple[float, int]:
    """The share of ``text``'s tokens (code_tokens) inside a run of SHARED_TOKENS or more spelled
    alike in ``indexed``, and the longest such run."""
    mine, theirs = code_tokens(text, lexer), code_tokens(indexed, lexer)
    grams = {tuple(theirs[i : i + SHARED_TOKENS]) for i in range(len(theirs) - SHARED_TOKENS + 1)}
    alike = np.array([tuple(mine[i : i + SHARED_TOKENS]) in grams for i in range(len(mine) - SHARED_TOKENS + 1)], bool)
    covered = np.zeros(len(mine), bool)
    for i in np.flatnonzero(alike):
        covered[i : i + SHARED_TOKENS] = True
    longest, run = 0, 0
    for hit in alike:
        run = run + 1 if hit else 0
        longest = max(longest, run)
    return (float(covered.mean()) if len(mine) else 0.0), longest + SHARED_TOKENS - 1 if longest else 0


def explain(index: fp.FingerprintIndex, text: str, file: str, path: Path, lexer: str, threshold: int, window_lines: int) -> str:
    """A report of one false alarm: ``text`` matched ``file`` (the indexed copy at ``path``)."""
    indexed = path.read_text(errors="replace")
    language = fp.language_of(path.name)
    shared = shared_prints(index, text, file, indexed, language)
    counts = {name: sum(kind == name for kind, *_ in shared) for name in KIND_NAMES.values()}
    lines, theirs = text.split("\n"), indexed.split("\n")
    out = [
        f"rule: {', '.join(rules_fired(index, text, file, threshold, window_lines))}; shared fingerprints "
        + ", ".join(f"{name} {n}" for name, n in counts.items() if n)
        + "; tokens in runs of {} alike: {:.0%}, longest {}".format(SHARED_TOKENS, *token_runs(text, indexed, lexer))
    ]
    for kind, line, start, end in shared:
        out.append(f"  {kind:<14} {line:>3}: {lines[line - 1].strip()[:60]:<60} | {start:>4}-{end:<4} {theirs[start - 1].strip()[:60]}")
    return "\n".join(out)
