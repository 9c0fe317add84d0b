"""The three paths the proxy benchmarks compare, against one local TLS upstream: direct, plain
mitmproxy (mitmdump, no addons) and llm-dlp with the bundled rules. Reuses the test fixtures."""

from __future__ import annotations

import contextlib
import re
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import pki as test_pki
from support import proxy as test_proxy
from support import upstream as test_upstream


def start_mitmdump(tmp: Path, pki) -> tuple[subprocess.Popen, int, Path]:
    log = tmp / "mitmdump.log"
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mitmdump"),
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            "0",
            "--set",
            "flow_detail=0",
            "--set",
            f"confdir={tmp}",
            "--set",
            f"ssl_verify_upstream_trusted_ca={pki.ca_file}",
            "--set",
            "termlog_verbosity=info",
        ],
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        m = re.search(r"listening at .*?:(\d+)", log.read_text(errors="replace"))
        if m and (tmp / "mitmproxy-ca-cert.pem").exists():
            return proc, int(m.group(1)), tmp / "mitmproxy-ca-cert.pem"
        time.sleep(0.1)
    raise RuntimeError(log.read_text())


@contextlib.contextmanager
def three_paths():
    """Yield (upstream, {"direct"|"mitmproxy"|"llm-dlp": httpx.Client}); everything stops after."""
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        pki = test_pki.make_pki(base)
        server, upstream = test_upstream.serve_upstream(pki)
        (base / "dlp").mkdir()
        dlp = test_proxy.start_proxy(base / "dlp", pki, upstream.port)
        mitm, mitm_port, mitm_ca = start_mitmdump(base, pki)
        clients = {
            "direct": httpx.Client(verify=ssl.create_default_context(cafile=str(pki.ca_file)), timeout=30),
            "mitmproxy": httpx.Client(
                proxy=f"http://127.0.0.1:{mitm_port}", verify=ssl.create_default_context(cafile=str(mitm_ca)), timeout=30
            ),
            "llm-dlp": httpx.Client(proxy=dlp.url, verify=ssl.create_default_context(cafile=str(dlp.ca)), timeout=30),
        }
        try:
            yield upstream, clients
        finally:
            test_proxy.stop_proxy(dlp)
            mitm.terminate()
            server.shutdown()
