"""Streaming latency: time to first byte and per-event delivery lag of an SSE response,
directly, through plain mitmproxy and through llm-dlp, against one slow local upstream.

    .venv/bin/python bench/stream_ttfb.py [--runs 15]

The upstream streams an OpenAI chat completion in 7-character events, 50 ms apart, echoing a
prompt that holds a redacted secret (so llm-dlp restores a placeholder split across events).
Lag of an event = when the client next read an event - when the upstream sent it (one clock);
llm-dlp may add an event (a held fragment flushed), so events are not matched one to one."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import three_paths


def one_stream(client: httpx.Client, url: str, upstream) -> tuple[float, float, list[float]]:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "deploy with ghp_" + "Ab3" * 12}]}
    t0 = time.monotonic()
    first = None
    received = []
    with client.stream("POST", url, json=body) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                now = time.monotonic()
                first = first or now
                received.append(now)
    sent = upstream.sent_times
    upstream_first = sent[0] - t0
    # events are 50 ms apart: the first thing the client reads after event i was sent is event i
    lags = [next((r for r in received if r >= snd), float("nan")) - snd for snd in sent]
    return first - t0, upstream_first, lags


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    with three_paths() as (upstream, clients):
        url = f"{upstream.url}/v1/chat/completions"
        results = {k: ([], [], []) for k in clients}
        for c in clients.values():
            one_stream(c, url, upstream)  # connections set up before timing
        for _ in range(args.runs):  # interleaved
            for name, c in clients.items():
                ttfb, up_first, lags = one_stream(c, url, upstream)
                results[name][0].append(ttfb)
                results[name][1].append(ttfb - up_first)
                results[name][2].extend(lags)
    print(f"{args.runs} streams each; times in ms (median; p95 for lag)")
    print(f"{'':12}{'TTFB':>10}{'first event after upstream sent it':>38}{'event lag p50':>16}{'p95':>10}")
    for name, (ttfb, after, lags) in results.items():
        lags_sorted = sorted(lags)
        p95 = lags_sorted[int(len(lags_sorted) * 0.95) - 1] if lags_sorted else float("nan")
        print(
            f"{name:12}{statistics.median(ttfb) * 1000:>10.2f}{statistics.median(after) * 1000:>38.2f}"
            f"{statistics.median(lags) * 1000 if lags else float('nan'):>16.2f}{p95 * 1000:>10.2f}"
        )
    d_ttfb = statistics.median(results["llm-dlp"][0]) - statistics.median(results["mitmproxy"][0])
    print(
        f"llm-dlp TTFB vs plain mitmproxy: {d_ttfb * 1000:+.2f} ms; vs direct: "
        f"{(statistics.median(results['llm-dlp'][0]) - statistics.median(results['direct'][0])) * 1000:+.2f} ms"
    )


if __name__ == "__main__":
    main()
