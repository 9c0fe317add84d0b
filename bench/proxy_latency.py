"""Added latency of the proxy: the same 100 KB chat request sent directly, through plain
mitmproxy (mitmdump) and through llm-dlp, against one local TLS upstream, in one run.

    .venv/bin/python bench/proxy_latency.py [--requests 60] [--kb 100] [--reply short|echo]

Medians are reported with the ratio and difference against plain mitmproxy, because the
machine is shared and absolute numbers move between runs."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import three_paths


def payload(kb: int) -> bytes:
    rng = random.Random(7)
    words = ["def", "return", "self", "value", "for", "in", "if", "else", "import", "class", "x", "y", "result"]
    text = ""
    while len(text) < kb * 1024:
        text += " ".join(rng.choice(words) for _ in range(12)) + "\n"
    return json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]}).encode()


def timed(client: httpx.Client, url: str, body: bytes, n: int, reply: str) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.post(url, content=body, headers={"content-type": "application/json", "x-fake-reply": reply})
        r.raise_for_status()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--kb", type=int, default=100)
    ap.add_argument(
        "--reply",
        choices=["short", "echo"],
        default="short",
        help="short: the upstream answers 'ok' (request-side cost); echo: it sends the 100 KB back (both sides)",
    )
    args = ap.parse_args()
    body = payload(args.kb)
    with three_paths() as (upstream, clients):
        url = f"{upstream.url}/v1/chat/completions"
        for c in clients.values():  # connections and certificates set up before timing
            timed(c, url, body, 3, args.reply)
        results = {name: [] for name in clients}
        for _ in range(args.requests // 10):  # interleaved, so load changes hit all three alike
            for name, c in clients.items():
                results[name] += timed(c, url, body, 10, args.reply)
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"{args.requests} requests of {len(body) / 1024:.0f} KB each, reply {args.reply}, median latency:")
    for name, m in med.items():
        print(f"  {name:10} {m:8.2f} ms")
    print(f"llm-dlp vs plain mitmproxy: +{med['llm-dlp'] - med['mitmproxy']:.2f} ms ({med['llm-dlp'] / med['mitmproxy']:.2f}x)")
    print(f"llm-dlp vs direct:          +{med['llm-dlp'] - med['direct']:.2f} ms ({med['llm-dlp'] / med['direct']:.2f}x)")


if __name__ == "__main__":
    main()
