"""Added latency of the proxy: the same 100 KB chat request sent directly, through plain
mitmproxy (mitmdump) and through llm-dlp, against one local TLS upstream, in one run.

    .venv/bin/python bench/proxy_latency.py [--requests 60] [--kb 100]

Medians are reported with the ratio and difference against plain mitmproxy, because the
machine is shared and absolute numbers move between runs."""

from __future__ import annotations

import argparse
import json
import random
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import conftest  # noqa: E402  (test PKI, fake upstream, proxy launcher)


def payload(kb: int) -> bytes:
    rng = random.Random(7)
    words = ["def", "return", "self", "value", "for", "in", "if", "else", "import", "class", "x", "y", "result"]
    text = ""
    while len(text) < kb * 1024:
        text += " ".join(rng.choice(words) for _ in range(12)) + "\n"
    return json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]}).encode()


def timed(client: httpx.Client, url: str, body: bytes, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.post(url, content=body, headers={"content-type": "application/json"})
        r.raise_for_status()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def start_mitmdump(tmp: Path, pki) -> tuple[subprocess.Popen, int, Path]:
    log = tmp / "mitmdump.log"
    proc = subprocess.Popen([str(Path(sys.executable).parent / "mitmdump"), "--listen-host", "127.0.0.1", "--listen-port", "0", "--set", "flow_detail=0",
                             "--set", f"confdir={tmp}", "--set", f"ssl_verify_upstream_trusted_ca={pki.ca_file}", "--set", "termlog_verbosity=info"],
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    import re

    for _ in range(300):
        m = re.search(r"listening at .*?:(\d+)", log.read_text(errors="replace"))
        if m and (tmp / "mitmproxy-ca-cert.pem").exists():
            return proc, int(m.group(1)), tmp / "mitmproxy-ca-cert.pem"
        time.sleep(0.1)
    raise RuntimeError(log.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--kb", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        pki = conftest.make_pki(base)
        server, upstream = conftest.serve_upstream(pki)
        (base / "dlp").mkdir()
        dlp = conftest.start_proxy(base / "dlp", pki, upstream.port)
        mitm, mitm_port, mitm_ca = start_mitmdump(base, pki)
        body = payload(args.kb)
        url = f"{upstream.url}/v1/chat/completions"
        try:
            clients = {
                "direct": httpx.Client(verify=ssl.create_default_context(cafile=str(pki.ca_file)), timeout=30),
                "mitmproxy": httpx.Client(proxy=f"http://127.0.0.1:{mitm_port}", verify=ssl.create_default_context(cafile=str(mitm_ca)), timeout=30),
                "llm-dlp": httpx.Client(proxy=dlp.url, verify=ssl.create_default_context(cafile=str(dlp.ca)), timeout=30),
            }
            for c in clients.values():  # connections and certificates set up before timing
                timed(c, url, body, 3)
            results = {name: [] for name in clients}
            for _ in range(args.requests // 10):  # interleaved, so load changes hit all three alike
                for name, c in clients.items():
                    results[name] += timed(c, url, body, 10)
        finally:
            conftest.stop_proxy(dlp)
            mitm.terminate()
            server.shutdown()
        med = {k: statistics.median(v) for k, v in results.items()}
        print(f"{args.requests} requests of {len(body) / 1024:.0f} KB each, median latency:")
        for name, m in med.items():
            print(f"  {name:10} {m:8.2f} ms")
        print(f"llm-dlp vs plain mitmproxy: +{med['llm-dlp'] - med['mitmproxy']:.2f} ms ({med['llm-dlp'] / med['mitmproxy']:.2f}x)")
        print(f"llm-dlp vs direct:          +{med['llm-dlp'] - med['direct']:.2f} ms ({med['llm-dlp'] / med['direct']:.2f}x)")


if __name__ == "__main__":
    main()
