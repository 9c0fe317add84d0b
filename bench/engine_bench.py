"""Detection engine benchmark: recall, false positives per MB and throughput, against
detect-secrets on the same text, all in one run.

    .venv/bin/python bench/engine_bench.py [--mb 8] [--ds-mb 0.5] [--seed 1] [--normalise]

--normalise also measures the request pipeline's scan (reading views and the seams between
segments, inspect.request.scan_segments) against the plain engine over the same segments.

Recall corpus: tests/secretgen.py (every provider format in every context, generated fresh).
Clean corpus: real source files of the installed Python packages (site-packages), which hold
no live secrets but plenty of the usual traps (hashes, UUIDs, base64 vectors, test keys)."""

from __future__ import annotations

import argparse
import random
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import load_ruleset
from support.secretgen import corpus

SUFFIXES = {".py", ".js", ".ts", ".json", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".md", ".rst", ".txt", ".sh", ".html", ".c", ".h", ".pyi"}
CHUNK = 256 * 1024


def clean_corpus(megabytes: float) -> list[tuple[str, str]]:
    """(path, text) of installed package files, in a fixed order, up to ``megabytes``."""
    site = Path(sysconfig.get_paths()["purelib"])
    files, total = [], 0
    for path in sorted(site.rglob("*")):
        if path.suffix not in SUFFIXES or not path.is_file() or "llm_dlp" in str(path):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if len(text) > 2_000_000:
            continue
        files.append((str(path.relative_to(site)), text))
        total += len(text)
        if total >= megabytes * 1e6:
            break
    return files


def chunks(files: list[tuple[str, str]]) -> list[str]:
    """Join files into request-sized texts, as an agent would send them."""
    out, cur = [], []
    size = 0
    for _, text in files:
        cur.append(text)
        size += len(text)
        if size >= CHUNK:
            out.append("\n".join(cur))
            cur, size = [], 0
    if cur:
        out.append("\n".join(cur))
    return out


def llm_dlp_recall(detector, cases) -> tuple[float, list[str]]:
    missed = []
    for label, text, secret in cases:
        s = text.find(secret)
        if not any(f.start <= s and f.end >= s + len(secret) for f in detector.scan(text)):
            missed.append(label)
    return 1 - len(missed) / len(cases), missed


def ds_scan_lines(text: str):
    from detect_secrets.core.scan import scan_line

    for line in text.splitlines():
        yield from scan_line(line)


def ds_recall(cases) -> float:
    hit = 0
    for _, text, secret in cases:
        values = [s.secret_value for s in ds_scan_lines(text) if s.secret_value]
        # detect-secrets reports values, not offsets: count it when a reported value is a
        # substantial part of the secret
        if any(len(v) >= min(8, len(secret)) and (v in secret or secret in v) for v in values):
            hit += 1
    return hit / len(cases)


def best_of(rounds: int, run) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def normalise_comparison(det, texts: list[str], size: int) -> None:
    """Today's engine (segments joined by a separator, one scan) against scan_segments (that, plus
    reading views where a segment differs and the seams between segments), same segments, same run."""
    from llm_dlp.inspect.request import _SEPARATOR, scan_segments
    from llm_dlp.protocols.base import Segment

    requests = [[Segment(("messages", i, "content"), t[o : o + size], "user") for i, o in enumerate(range(0, len(t), size))] for t in texts]
    total = sum(len(t) for t in texts)
    plain = best_of(3, lambda: [det.scan(_SEPARATOR.join(s.text for s in segs)) for segs in requests])
    full = best_of(3, lambda: [scan_segments(det, segs) for segs in requests])
    print()
    print(f"normalised + joined scanning, {len(requests)} requests of {size // 1024} KB messages:")
    print(f"  plain engine {total / plain / 1e6:.1f} MB/s, scan_segments {total / full / 1e6:.1f} MB/s, cost ratio {full / plain:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=8.0, help="clean corpus size for llm-dlp (MB)")
    ap.add_argument("--ds-mb", type=float, default=0.5, help="clean corpus size for the detect-secrets baseline (MB)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--normalise", action="store_true", help="also measure normalised and joined scanning against the plain engine")
    ap.add_argument("--segment-kb", type=float, default=4.0, help="with --normalise: size of one message (KB)")
    ap.add_argument("--show-fp", type=int, default=10, help="print this many false positives (rule and file)")
    args = ap.parse_args()

    from detect_secrets.settings import default_settings

    ruleset = load_ruleset(bundled_rules_dir())
    det = ruleset.detector
    cases = list(corpus(random.Random(args.seed)))

    recall, missed = llm_dlp_recall(det, cases)
    files = clean_corpus(args.mb)
    texts = chunks(files)
    total = sum(len(t) for t in texts)

    fps = []
    for t in texts:
        for f in det.scan(t):
            fps.append((f.rule_id, t[max(0, f.start - 40): f.start].split("\n")[-1][-40:]))
    for t in texts[:2]:  # warm up caches and thread-local scratch
        det.scan(t)
    rounds = 3
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for t in texts:
            det.scan(t)
        best = min(best, time.perf_counter() - t0)
    ours_mbps = total / best / 1e6
    per_chunk_ms = best / len(texts) * 1000

    with default_settings():
        ds_rec = ds_recall(cases)
        ds_text = "\n".join(text for _, text in files)[: int(args.ds_mb * 1e6)]
        t0 = time.perf_counter()
        for _ in ds_scan_lines(ds_text):
            pass
        ds_secs = time.perf_counter() - t0
    ds_mbps = len(ds_text) / ds_secs / 1e6

    print(f"rules: {len(ruleset.rules)} secret rules, hyperscan-prefiltered patterns: {len(det._patterns) - len(det.slow_patterns)}/{len(det._patterns)}")
    print(f"recall corpus: {len(cases)} cases ({len({c[0].split('/')[0] for c in cases})} formats)")
    print(f"clean corpus: {total / 1e6:.2f} MB of installed package files in {len(texts)} requests of ~256 KB")
    print()
    print(f"{'':22}{'llm-dlp':>12}{'detect-secrets':>16}")
    print(f"{'recall':22}{recall:>12.2%}{ds_rec:>16.2%}")
    print(f"{'throughput (MB/s)':22}{ours_mbps:>12.1f}{ds_mbps:>16.3f}")
    print(f"{'false positives / MB':22}{len(fps) / (total / 1e6):>12.3f}{'-':>16}")
    print()
    print(f"speed ratio llm-dlp / detect-secrets: {ours_mbps / ds_mbps:.0f}x (same process, one core)")
    print(f"detection time per 256 KB request: {per_chunk_ms:.2f} ms")
    if args.normalise:
        normalise_comparison(det, texts, int(args.segment_kb * 1024))
    if missed:
        print("missed:", ", ".join(missed))
    for rule, ctx in fps[: args.show_fp]:
        print(f"false positive: {rule} after …{ctx!r}")


if __name__ == "__main__":
    main()
