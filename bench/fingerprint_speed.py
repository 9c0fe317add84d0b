"""Matching speed of fingerprinters side by side: CPU time to match a fresh 256 KB request
(unrelated Python; Go and JavaScript) against an index of every installed Python source file
(over two million lines), for each checkout named.

    .venv/bin/python bench/fingerprint_speed.py [--index FILE] [--repeats 60] ADDONS [ADDONS ...]

ADDONS: a checkout's addons directory (its _winnow extension built). Each checkout's module is
imported apart in this one process, and the checkouts take turns, match after match, against
the same index and the same texts (built with the code first on the path; a checkout of another
tokenizer, which refuses it, gets an index of the same files built by its own code), so that
other work on a shared machine disturbs them alike. Each text is matched ``--repeats`` times
by each, each time with a new last line so the recent-results cache never
answers; reported: the fastest and the median CPU time, and whether the matches agree."""

from __future__ import annotations

import argparse
import importlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from fingerprint_bench import SITE, scale_texts
from llm_dlp.detect.fingerprint import build_index


def load(addons: str) -> ModuleType:
    """A checkout's fingerprint module, imported apart from any other checkout's."""
    for name in [m for m in sys.modules if m == "llm_dlp" or m.startswith("llm_dlp.")]:
        del sys.modules[name]  # the modules already imported keep theirs
    sys.path.insert(0, str(Path(addons).resolve()))
    try:
        return importlib.import_module("llm_dlp.detect.fingerprint")
    finally:
        del sys.path[0]


def own_index(module: ModuleType, shared: Path, own: Path):
    """The shared index, or for a checkout of another tokenizer (which refuses it) one of the
    same files that its own code builds: the matches then differ as the fingerprints do."""
    try:
        return module.FingerprintIndex(shared)
    except ValueError:
        stats = module.build_index([SITE], own)
        print(f"index of {module.__file__}'s own tokenizer: {stats['fingerprints']} fingerprints")
        return module.FingerprintIndex(own)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("addons", nargs="+", help="addons directories of the checkouts to compare")
    ap.add_argument("--index", type=Path, help="the index file: read if present, else built there (default: a temporary one)")
    ap.add_argument("--repeats", type=int, default=60, help="matches of each text by each checkout")
    ap.add_argument("--seed", type=int, default=1, help="of the texts' chunks")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        index_file = args.index or Path(d) / "installed.fpidx"
        if not index_file.exists():
            stats = build_index([SITE], index_file)
            print(f"index: {stats['files']} files, {stats['lines']} lines, {stats['fingerprints']} fingerprints")
        texts = dict(zip(("python", "go+javascript"), scale_texts(random.Random(args.seed))))
        modules = [load(addons) for addons in args.addons]
        indexes = [own_index(module, index_file, Path(d) / f"own-{n}.fpidx") for n, module in enumerate(modules)]
        print(f"CPU time per fresh 256 KB, fastest and median of {args.repeats} matches:")
        for name, text in texts.items():
            found = {tuple(map(repr, module.match(index, text, 6, 30))) for module, index in zip(modules, indexes)}
            times: list[list[float]] = [[] for _ in modules]
            for n in range(args.repeats):
                for module, index, taken in zip(modules, indexes, times):
                    fresh = f"{text}\n# fresh text {n}"
                    t0 = time.process_time_ns()
                    module.match(index, fresh, 6, 30)
                    taken.append((time.process_time_ns() - t0) / 1e6)
            agree = "the same matches" if len(found) == 1 else "MATCHES DIFFER"
            for addons, taken in zip(args.addons, times):
                print(f"  {name:<14} {addons:<36} {min(taken):6.2f} ms  median {statistics.median(taken):6.2f} ms  ({agree})")


if __name__ == "__main__":
    main()
