"""Matching speed of fingerprinters side by side: CPU time to match a fresh 256 KB request
(unrelated Python; Go and JavaScript) against an index of every installed Python source file
(over two million lines), for each checkout named, in turn, in rounds.

    .venv/bin/python bench/fingerprint_speed.py [--index FILE] [--repeats 60] [--rounds 3] ADDONS [ADDONS ...]

ADDONS: a checkout's addons directory (its _winnow extension built). Each checkout runs in a
process of its own, the checkouts alternating round after round, against the same index and
the same texts (built with this checkout's code, which all must read); each text is matched
``--repeats`` times, each time with a new last line so the recent-results cache never answers,
and the fastest CPU time of all rounds is reported (the run least disturbed by other work on a
shared machine), with a digest of the matches, which must agree between checkouts."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEXTS = ("python", "go+javascript")


def worker(index_file: str, texts: str, repeats: int) -> None:
    """Run with a checkout's addons first on the path: print {text: [fastest ms, digest of the matches]}."""
    from llm_dlp.detect.fingerprint import FingerprintIndex, match

    index = FingerprintIndex(Path(index_file))
    found = {}
    for name in TEXTS:
        text = (Path(texts) / name).read_text()
        matches = match(index, text, 6, 30)  # the first run pages the index in
        fastest = float("inf")
        for n in range(repeats):
            t0 = time.process_time_ns()
            match(index, f"{text}\n# fresh text {n}", 6, 30)
            fastest = min(fastest, (time.process_time_ns() - t0) / 1e6)
        found[name] = [fastest, hashlib.sha256(repr(matches).encode()).hexdigest()[:12]]
    print(json.dumps(found))


def prepare(index_file: Path, texts: Path, seed: int) -> None:
    """The index (unless present) and the texts, with this checkout's code."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fingerprint_bench import SITE, scale_texts
    from llm_dlp.detect.fingerprint import build_index

    if not index_file.exists():
        stats = build_index([SITE], index_file)
        print(f"index: {stats['files']} files, {stats['lines']} lines, {stats['fingerprints']} fingerprints", flush=True)
    for name, text in zip(TEXTS, scale_texts(random.Random(seed))):
        (texts / name).write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("addons", nargs="+", help="addons directories of the checkouts to compare")
    ap.add_argument("--index", type=Path, help="the index file: read if present, else built there (default: a temporary one)")
    ap.add_argument("--repeats", type=int, default=60, help="matches of each text per round")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each checkout, alternating")
    ap.add_argument("--seed", type=int, default=1, help="of the texts' chunks")
    ap.add_argument("--worker", nargs=2, metavar=("INDEX", "TEXTS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker, args.repeats)
        return
    with tempfile.TemporaryDirectory() as d:
        index_file = args.index or Path(d) / "installed.fpidx"
        prepare(index_file, Path(d), args.seed)
        best: dict[str, dict[str, list]] = {a: {} for a in args.addons}
        for _ in range(args.rounds):
            for addons in args.addons:
                env = {**os.environ, "PYTHONPATH": str(Path(addons).resolve())}
                command = [sys.executable, __file__, "--worker", str(index_file), d, "--repeats", str(args.repeats), addons]
                run = json.loads(subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout)
                for name, (ms, digest) in run.items():
                    best[addons][name] = [min(ms, best[addons].get(name, [ms])[0]), digest]
    print(f"fastest CPU time per fresh 256 KB of {args.rounds} x {args.repeats} matches (digest of the matches):")
    for addons, times in best.items():
        print(f"{addons:<40} " + "  ".join(f"{name} {ms:5.2f} ms ({digest})" for name, (ms, digest) in times.items()))


if __name__ == "__main__":
    main()
