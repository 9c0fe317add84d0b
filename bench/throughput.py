"""Sustained throughput of one proxy process, for capacity planning (docs/scaling.md).

    .venv/bin/python bench/throughput.py [--seconds 15] [--concurrency 16] [--kb 6]

Plain mitmproxy (mitmdump, no addons) and llm-dlp with the bundled rules, one after the other,
each behind the same fake LLM upstream (a separate process) and driven by the same closed-loop
load: CONCURRENCY clients sending chat requests of KB kilobytes of code (one in ten carrying a
generated secret, which llm-dlp redacts) and getting a short answer. Reported per proxy: requests
per second, latency percentiles, and the proxy process's CPU time per request, read from
/proc, which is what sizing needs: a machine shared with the load generator and the upstream
(as here) caps requests per second, while CPU per request says what one dedicated core sustains."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from harness import start_mitmdump
from support import pki as test_pki
from support import proxy as test_proxy
from support.secretgen import Gen, provider_tokens

CODE = "\n".join(p.read_text() for p in sorted((ROOT / "addons" / "llm_dlp").glob("*.py")))  # ~190 KB of Python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bodies(kb: int, n: int, rng: random.Random) -> list[bytes]:
    gen = Gen(rng)
    out = []
    for i in range(n):
        start = rng.randrange(max(1, len(CODE) - kb * 1024))
        code = CODE[start : start + kb * 1024]
        if i % 10 == 0:
            label, token = rng.choice(provider_tokens(gen))
            code += f'\nTOKEN = "{token}"  # {label}\n'
        out.append(json.dumps({"model": "m", "messages": [{"role": "user", "content": f"Review this:\n```python\n{code}\n```"}]}).encode())
    return out


def load(proxy_url: str, ca: Path, target: str, payloads: list[bytes], seconds: float, concurrency: int, limit: int) -> list[float]:
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + seconds
    lock = threading.Lock()

    def client_loop(k: int) -> None:
        context = ssl.create_default_context(cafile=str(ca))
        with httpx.Client(proxy=proxy_url, verify=context, timeout=30) as c:
            i = k
            while time.monotonic() < deadline and len(latencies) < limit:
                t0 = time.perf_counter()
                r = c.post(
                    target, content=payloads[i % len(payloads)], headers={"content-type": "application/json", "x-fake-reply": "short"}
                )
                elapsed = time.perf_counter() - t0
                with lock:
                    (latencies.append(elapsed) if r.status_code == 200 else errors.append(str(r.status_code)))
                i += concurrency

    threads = [threading.Thread(target=client_loop, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, e.g. {errors[:3]}")
    return latencies


def measure(name: str, pid: int, proxy_url: str, ca: Path, target: str, payloads, args) -> dict:
    load(proxy_url, ca, target, payloads[:50], 2, args.concurrency, 10**9)  # warm-up: connections, caches
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    latencies = load(proxy_url, ca, target, payloads, args.seconds, args.concurrency, args.max_requests)
    wall, cpu = time.monotonic() - t0, cpu_seconds(pid) - cpu0
    q = statistics.quantiles(latencies, n=100)
    return {
        "proxy": name,
        "requests": len(latencies),
        "rps": len(latencies) / wall,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "cpu_ms_per_request": cpu / len(latencies) * 1000,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--kb", type=int, default=6, help="code per request, in KB")
    ap.add_argument("--max-requests", type=int, default=20000)
    args = ap.parse_args()
    payloads = bodies(args.kb, 200, random.Random(5))
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        pki = test_pki.make_pki(base)
        port = free_port()
        upstream = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "fake_llm.py"),
                "--listen",
                f"127.0.0.1:{port}",
                "--ca",
                str(pki.ca_file),
                "--cert",
                str(pki.cert_file),
                "--key",
                str(pki.key_file),
                "--received",
                os.devnull,
            ],
            stdout=subprocess.PIPE,
        )
        with contextlib.ExitStack() as stack:
            stack.callback(upstream.terminate)
            upstream.stdout.readline()  # "serving"
            (base / "dlp").mkdir()
            dlp = test_proxy.start_proxy(base / "dlp", pki, port)
            stack.callback(test_proxy.stop_proxy, dlp)
            mitm, mitm_port, mitm_ca = start_mitmdump(base, pki)
            stack.callback(mitm.terminate)
            target = f"https://127.0.0.1:{port}/v1/chat/completions"
            rows = [
                measure("plain mitmproxy", mitm.pid, f"http://127.0.0.1:{mitm_port}", mitm_ca, target, payloads, args),
                measure("llm-dlp", dlp.process.pid, dlp.url, dlp.ca, target, payloads, args),
            ]
    print(
        f"{args.concurrency} concurrent clients, {args.kb} KB of code per request, {args.seconds:.0f} s each, {os.cpu_count()} cores shared with the load generator and upstream"
    )
    print(f"{'proxy':<16} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/req':>10} {'req/s per core':>14}")
    for r in rows:
        print(
            f"{r['proxy']:<16} {r['requests']:>8} {r['rps']:>7.1f} {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['cpu_ms_per_request']:>10.2f} "
            f"{1000 / r['cpu_ms_per_request']:>14.0f}"
        )
    base_cpu, dlp_cpu = rows[0]["cpu_ms_per_request"], rows[1]["cpu_ms_per_request"]
    print(
        f"llm-dlp costs {dlp_cpu / base_cpu:.2f}x plain mitmproxy's CPU per request and sustains {rows[1]['rps'] / rows[0]['rps']:.2f}x its rate here"
    )


if __name__ == "__main__":
    main()
