"""Repository fingerprints: detection of disguised pastes, false alarms on unrelated code,
indexing speed and size, matching time, in one run.

    .venv/bin/python bench/fingerprint_bench.py [--queries 200] [--negatives 1000]

"Private" code: a few installed packages. Positives: random 20-line chunks of them, with every
identifier renamed, comments removed and re-indented (tests/test_fingerprints.py disguise).
Negatives: random 40-line chunks of other installed packages. Public boilerplate (--public):
the licence files of installed packages that are in neither set."""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_fingerprints import disguise  # noqa: E402

from llm_dlp.fingerprint import FingerprintIndex, build_index, match, tokenise  # noqa: E402

SITE = Path(sysconfig.get_paths()["purelib"])
PRIVATE = ["mitmproxy", "cryptography", "hypothesis", "pygments"]
PUBLIC = ["openai", "anthropic", "httpx", "jsonschema", "structlog", "prometheus_client", "detect_secrets", "yaml", "h11", "pydantic"]


def chunks(pkgs: list[str], lines: int, n: int, rng: random.Random) -> list[str]:
    """Random runs of ``lines`` lines of code: mostly non-blank, and code rather than docstrings
    or comments (at least 5 tokens a line)."""
    files = [p for pkg in pkgs for p in (SITE / pkg).rglob("*.py")]
    out = []
    while len(out) < n:
        text = rng.choice(files).read_text(errors="replace").splitlines()
        if len(text) <= lines:
            continue
        i = rng.randrange(len(text) - lines)
        candidate = "\n".join(text[i : i + lines])
        if sum(1 for line in text[i : i + lines] if line.strip()) >= lines * 0.8 and len(tokenise(candidate)[0]) >= 5 * lines:
            out.append(candidate)
    return out


def licences(into: Path) -> Path:
    """Licence texts of installed packages outside the private and negative sets."""
    mine = {p.lower().replace("_", "-") for p in PRIVATE + PUBLIC}
    for info in SITE.glob("*.dist-info"):
        if info.name.split("-")[0].lower().replace("_", "-") not in mine:
            for n, f in enumerate(p for p in info.rglob("*") if p.is_file() and p.name.upper().startswith(("LICEN", "COPYING"))):
                shutil.copy(f, into / f"LICENSE-{info.name}-{n}")
    return into


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--negatives", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "private.fpidx"
        t0 = time.perf_counter()
        stats = build_index([SITE / p for p in PRIVATE], out, [licences(Path(d))])
        secs = time.perf_counter() - t0
        index = FingerprintIndex(out)
        positives: list[str] = []
        while len(positives) < args.queries:  # chunks that start inside a string do not tokenise
            positives += [q for q in map(disguise, chunks(PRIVATE, 20, args.queries, rng)) if q]
        positives = positives[: args.queries]
        negatives = chunks(PUBLIC, 40, args.negatives, rng)
        caught = sum(bool(match(index, q, 6, 30)) for q in positives)
        false = sum(bool(match(index, q, 6, 30)) for q in negatives)
        big = "\n".join(negatives)[: 256 * 1024]
        t0 = time.perf_counter()
        for n in range(5):
            match(index, big + f"\n# fresh text {n}", 6, 30)
        per_256k = (time.perf_counter() - t0) / 5 * 1000
        # A conversation: 64 messages of 4 KB, resent with one new message each turn.
        messages = [big[i : i + 4096] for i in range(0, len(big), 4096)]
        for message in messages[:-1]:
            match(index, message, 6, 30)  # the earlier turns
        t0 = time.perf_counter()
        for message in messages:
            match(index, message, 6, 30)
        last_turn = (time.perf_counter() - t0) * 1000
    per_million = 1e6 / stats["lines"]
    print(f"index: {stats['files']} files, {stats['lines']} lines, {stats['fingerprints']} fingerprints in {secs:.1f} s "
          f"({secs * per_million:.0f} s and {stats['bytes'] * per_million / 1e6:.0f} MB per million lines)")
    print(f"detection: {caught}/{len(positives)} disguised 20-line pastes caught ({caught / len(positives):.1%})")
    print(f"false alarms: {false}/{len(negatives)} unrelated 40-line requests ({false / len(negatives):.2%})")
    print(f"matching: {per_256k:.1f} ms per 256 KB request of fresh text; "
          f"{last_turn:.1f} ms for the 64th turn of a conversation (256 KB in 64 messages, one of them new)")


if __name__ == "__main__":
    main()
