"""Whether checkouts of the fingerprinter decide alike: each builds its own index of the same
files, and fingerprints and matches the same few thousand texts against it; every text's
fingerprints (a digest of all their arrays) and matches (file, count, first and last line) are
recorded and compared, text by text, with the first checkout's.

    .venv/bin/python bench/fingerprint_identity.py [--files 30] [--pastes 40] [--languages python,go]
        [--out PREFIX] ADDONS [ADDONS ...]

ADDONS: a checkout's addons directory (its _winnow extension built), imported apart as
bench/fingerprint_speed.py does. The texts, per language found on this machine (those of
bench/fingerprint_bench.py): 20-line chunks of the indexed files, plain, renamed, quotes swapped,
and renamed in a chat message with its layout changed; 40-line chunks of unrelated code of the
language, and 12-line ones in a chat message; boilerplate (licences, manifests, import blocks);
256 KB of unrelated Python and of Go and JavaScript; and texts that stress the lexer (empty,
NUL bytes, lone surrogates, a huge single line, deeply nested brackets, unclosed strings and
comments). The formatters and parsers the detection benchmark runs are not: they change no
decision of the code under test. ``--out PREFIX``: each checkout's records, PREFIX.N.tsv, one
line a text, byte for byte alike when the checkouts decide alike."""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from fingerprint_bench import (
    SHORT_LINES,
    Language,
    boilerplate,
    chat,
    chunk_spots,
    chunk_text,
    chunks,
    languages,
    layout,
    rename,
    reserved,
    scale_texts,
    swap_quotes,
)
from fingerprint_speed import load

THRESHOLD, WINDOW_LINES = 6, 30  # the rule's defaults


def pastes(lang: Language, n: int, rng: random.Random) -> dict[str, list[str]]:
    """Texts of one language by kind: copies of its indexed files under disguises, and unrelated code."""
    spots = chunk_spots(lang.private, lang.pygments, 20, n, rng)
    plain = [chunk_text(spot, 20) for spot in spots]
    renamed = [rename(code, lang, reserved(lang, spot[0])) for code, spot in zip(plain, spots)]
    out = {"plain": plain, "renamed": renamed, "combined": [chat(layout(code, lang, rng), lang, rng)[0] for code in renamed]}
    if lang.quotes:
        out["quotes"] = [swap_quotes(code, lang) for code in plain]
    out["unrelated"] = chunks(lang.public, lang.pygments, 40, n, rng)
    out["short"] = [chat(layout(code, lang, rng), lang, rng)[0] for code in chunks(lang.public, lang.pygments, SHORT_LINES, n, rng)]
    return out


def lexer_stress(rng: random.Random) -> list[str]:
    """Texts at the edges of the lexer: empty, control characters, lone surrogates, a line of
    megabytes, brackets nested deeper than any code, strings and comments left open."""
    words = ["def", "f", "x", "return", "if", "{", "}", "(", ")", "'s'", '"t"', "0x1f", "1.50", "#", "//", "/*", "*/", "`", "${", "\\"]
    noise = [" ".join(rng.choice(words) for _ in range(400)) for _ in range(20)]
    return [
        "",
        "\n\n\n",
        "\0" * 1000,
        "def f(x):\n    return x\0 + 1\n" * 50,
        "x = '\ud800'\ny = \"\udfff\"\n# \udc80 comment\n" * 30,
        "a = b + c; " * 40_000,
        "[" * 20_000 + "x" + "]" * 20_000,
        "{(" * 10_000 + "\n" + ")}" * 10_000,
        "'" * 5000 + '"' * 5000 + "`" * 5000,
        "/* never closed " + "x = 1\n" * 2000,
        'f"{' * 3000,
        "```python\n" + "\n".join(noise) + "\n```\n" + "\n".join(noise) + "\n~~~\n",
        *noise,
    ]


def texts(args, rng: random.Random, tmp: Path) -> tuple[list[Path], list[tuple[str, str, str]]]:
    """The repositories to index, and (language, kind, text) of every text to match."""
    langs = [lang for lang in languages(tmp, rng, args.files) if not args.languages or lang.name in args.languages.split(",")]
    private, out = tmp / "org", []
    for lang in langs:
        for n, path in enumerate(lang.private):
            copy = private / lang.name / f"{n:03d}-{path.stem}{lang.suffix}"
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, copy)
            name = f"file{lang.suffix}"  # the request's file, for a second match naming its language
        out += [(name, kind, text) for kind, found in pastes(lang, args.pastes, rng).items() for text in found]
    out += [("any", "boilerplate", text) for text in boilerplate(rng, args.pastes)]
    out += [("any", "256k", text) for text in scale_texts(rng)]
    out += [("any", "stress", text) for text in lexer_stress(rng)]
    return sorted(private.iterdir()), out


def digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def shown(matches: list) -> str:
    return ";".join(f"{m.file}:{m.fingerprints}:{m.first_line}-{m.last_line}" for m in matches)


def records(module: ModuleType, repos: list[Path], index_file: Path, found: list[tuple[str, str, str]]) -> list[str]:
    """One line per text: its file's name (or any), kind and digest, its fingerprints' digest and its matches."""
    stats = module.build_index(repos, index_file)
    index = module.FingerprintIndex(index_file)
    out = [
        f"index\t{stats['files']} files\t{stats['fingerprints']} fingerprints\t{hashlib.sha256(index_file.read_bytes()).hexdigest()[:16]}"
    ]
    for lang, kind, text in found:
        prints = module.text_fingerprints(text)
        matches = shown(module.match(index, text, THRESHOLD, WINDOW_LINES))
        named = module.match(index, text, THRESHOLD, WINDOW_LINES, module.language_of(lang)) if lang != "any" else []
        text_digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        out.append(f"{lang}\t{kind}\t{text_digest}\t{len(prints.hashes)}\t{digest(*prints)}\t{matches}\t{shown(named)}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("addons", nargs="+", help="addons directories of the checkouts to compare")
    ap.add_argument("--files", type=int, default=30, help="indexed and unrelated files per language")
    ap.add_argument("--pastes", type=int, default=40, help="texts per kind and language")
    ap.add_argument("--languages", default="", help="comma-separated, default all found")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="write each checkout's records to OUT.N.tsv")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        repos, found = texts(args, random.Random(args.seed), Path(d))
        print(f"{len(found)} texts in {len({lang for lang, _, _ in found}) - 1} languages, {len(repos)} repositories indexed")
        runs = [records(load(addons), repos, Path(d) / f"index-{n}.fpidx", found) for n, addons in enumerate(args.addons)]
    for n, run in enumerate(runs):
        if args.out:
            Path(f"{args.out}.{n}.tsv").write_text("\n".join(run) + "\n")
        differ = [i for i, (mine, first) in enumerate(zip(run, runs[0])) if mine != first]
        matched = sum(1 for line in run if line.split("\t")[5:6] != [""])
        print(f"{args.addons[n]}: {matched} texts matched; {len(differ)} records differ from the first's")
        for i in differ[:5]:
            print(f"  first:  {runs[0][i]}\n  this:   {run[i]}")
    sys.exit(1 if any(run != runs[0] for run in runs) else 0)


if __name__ == "__main__":
    main()
