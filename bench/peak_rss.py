"""Peak memory of the proxy under concurrent big bodies (docs/scaling.md).

    .venv/bin/python bench/peak_rss.py [--clients 20] [--mb 1] [--rounds 3]

Plain mitmproxy (mitmdump, no addons) and llm-dlp with the bundled rules, with the default
inspection budget, a small one and none, each behind the same fake LLM upstream: CLIENTS
concurrent chat requests of MB megabytes of code (each with a generated secret, redacted),
ROUNDS times. Reported per proxy: resident memory at rest (after start) and at its peak (VmRSS
and VmHWM from /proc, read before it stops), the peak's ratio to plain mitmproxy's in the same
run, and how many requests were answered 503 (waited too long for room under the budget)."""

from __future__ import annotations

import argparse
import json
import random
import ssl
import sys
import tempfile
import threading
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from harness import start_mitmdump
from support import pki as test_pki
from support import proxy as test_proxy
from support import upstream as test_upstream
from support.secretgen import Gen, provider_tokens

CODE = "\n".join(p.read_text() for p in sorted((ROOT / "addons" / "llm_dlp").rglob("*.py")))


def rss_mb(pid: int, field: str = "VmHWM") -> float:
    """The process's peak (VmHWM) or current (VmRSS) resident memory."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field}")


def body(mb: float, rng: random.Random) -> bytes:
    size = int(mb * 1024 * 1024)
    text = (CODE * (size // len(CODE) + 1))[:size]
    secret = provider_tokens(Gen(rng))[4][1]
    return json.dumps({"model": "m", "messages": [{"role": "user", "content": f"{secret}\n{text}"}]}).encode()


def load(proxy_url: str, ca: Path, url: str, clients: int, mb: float, rounds: int) -> dict[int, int]:
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def one(seed: int) -> None:
        payload = body(mb, random.Random(seed))
        with httpx.Client(proxy=proxy_url, verify=ssl.create_default_context(cafile=str(ca)), timeout=120) as c:
            status = c.post(url, content=payload, headers={"content-type": "application/json", "x-fake-reply": "short"}).status_code
        with lock:
            statuses[status] = statuses.get(status, 0) + 1

    for r in range(rounds):
        threads = [threading.Thread(target=one, args=(r * clients + i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return statuses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--mb", type=float, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        pki = test_pki.make_pki(base)
        server, upstream = test_upstream.serve_upstream(pki)
        url = f"{upstream.url}/v1/chat/completions"
        rows = []
        mitm, port, ca = start_mitmdump(base, pki)
        try:
            idle = rss_mb(mitm.pid, "VmRSS")
            statuses = load(f"http://127.0.0.1:{port}", ca, url, args.clients, args.mb, args.rounds)
            rows.append(("plain mitmproxy", idle, rss_mb(mitm.pid), statuses))
        finally:
            mitm.terminate()
        for name, budget in (("llm-dlp, default budget (64 MiB)", None), ("llm-dlp, budget 4 MiB", 4 << 20), ("llm-dlp, no budget", 0)):
            tmp = base / f"dlp-{len(rows)}"
            tmp.mkdir()
            extra = [] if budget is None else ["--set", f"llm_dlp_inspection_budget_bytes={budget}"]
            proxy = test_proxy.start_proxy(tmp, pki, upstream.port, extra)
            try:
                idle = rss_mb(proxy.process.pid, "VmRSS")
                statuses = load(proxy.url, proxy.ca, url, args.clients, args.mb, args.rounds)
                rows.append((name, idle, rss_mb(proxy.process.pid), statuses))
            finally:
                test_proxy.stop_proxy(proxy)
        server.shutdown()
    baseline = rows[0][2]
    print(f"{args.clients} concurrent requests of {args.mb} MB, {args.rounds} rounds")
    print("| proxy | RSS at rest | peak RSS | peak vs plain mitmproxy | added by the load | answers |")
    print("|---|---|---|---|---|---|")
    for name, idle, peak, statuses in rows:
        answers = ", ".join(f"{n}× {s}" for s, n in sorted(statuses.items()))
        print(f"| {name} | {idle:.0f} MB | {peak:.0f} MB | {peak / baseline:.2f}× | {peak - idle:.0f} MB | {answers} |")


if __name__ == "__main__":
    main()
