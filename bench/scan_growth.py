"""Does `llm-dlp scan` of one big file cost more than its parts? The request pipeline as the scan
command runs it (parse, scan_segments with its reading view and line joins, protected paths, the
reports; no redacted body, which it never writes) over one text of installed code, then over
each of its halves, CPU time in one process after warm-up, best of three. A ratio whole / (first
half + second half) near 1 means the cost grows with the input; well above 1, something grows
faster.

    .venv/bin/python bench/scan_growth.py [--mb 16]

The text: the Python standard library (tests left out), then npm's JavaScript, concatenated."""

from __future__ import annotations

import argparse
import secrets
import sys
import sysconfig
import time
from pathlib import Path

from llm_dlp.act.placeholders import Keyring
from llm_dlp.inspect.request import inspect_request
from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import load_ruleset

NPM = Path("/usr/lib/node_modules/npm")


def corpus(megabytes: float) -> bytes:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = [p for p in sorted(stdlib.rglob("*.py")) if "test" not in p.parts]
    files += sorted(NPM.rglob("*.js"))
    out, size = [], 0
    for path in files:
        data = path.read_bytes()
        out.append(data)
        size += len(data)
        if size >= megabytes * 1e6:
            break
    return b"".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=16)
    args = ap.parse_args()
    ruleset = load_ruleset(bundled_rules_dir())
    keyring = Keyring(secrets.token_bytes(32))

    def cost(raw: bytes) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            inspect_request(
                raw, "text", None, ruleset.detector, keyring, path_rules=ruleset.paths, code_rules=ruleset.fingerprints, rewrite=False
            )
            best = min(best, time.process_time() - start)
        return best

    whole = corpus(args.mb)
    cut = whole.rfind(b"\n", 0, len(whole) // 2) + 1
    cost(b"warm up \xc3\xa9 \\u00e9\n")
    halves = cost(whole[:cut]), cost(whole[cut:])
    full = cost(whole)
    mb = len(whole) / 1e6
    print(f"one text of {mb:.1f} MB: {full:.3f} CPU s ({mb / full:.1f} MB/s)")
    print(f"its halves: {halves[0]:.3f} + {halves[1]:.3f} = {sum(halves):.3f} CPU s")
    print(f"whole / sum of halves: {full / sum(halves):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
