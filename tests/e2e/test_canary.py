"""Canary: many generated secrets go through the proxy (redacted, blocked, broken requests);
no raw value may appear in any output: audit file, proxy log, metrics page, error bodies."""

from __future__ import annotations

import json
import random
import subprocess

import httpx
import pytest

from support.proxy import LLM_DLP, start_proxy, stop_proxy
from support.secretgen import corpus

pytestmark = pytest.mark.e2e


def test_no_raw_secret_in_any_output(tmp_path, pki, upstream):
    import ssl

    proxy = start_proxy(tmp_path, pki, upstream.port)
    cases = list(corpus(random.Random()))
    canaries = [secret for _, _, secret in cases if len(secret) >= 12]
    error_bodies = []
    try:
        with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=20) as c:
            for i in range(0, len(cases), 25):
                text = "\n".join(t for _, t, _ in cases[i : i + 25])
                c.post(f"{upstream.url}/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": text}]})
                # the same text with a block marker, and as a broken body: both answered by the proxy
                r = c.post(
                    f"{upstream.url}/v1/messages",
                    json={"model": "m", "messages": [{"role": "user", "content": text + "\nBLOCKME-0123456789abcdef"}]},
                )
                assert r.status_code == 403
                error_bodies.append(r.text)
                r = c.post(f"{upstream.url}/v1/chat/completions", content=text.encode(), headers={"content-encoding": "br"})
                assert r.status_code == 400
                error_bodies.append(r.text)
            metrics = proxy.metrics()
    finally:
        stop_proxy(proxy)
    report = tmp_path / "report.html"
    subprocess.run([str(LLM_DLP), "report", "--audit", str(proxy.audit), "--html", str(report)], check=True, timeout=60)
    outputs = {
        "audit": proxy.audit.read_text(),
        "log": proxy.log.read_text(),
        "metrics": metrics,
        "errors": "\n".join(error_bodies),
        "report": report.read_text(),
    }
    assert len(proxy.records()) >= 3 * (len(cases) // 25)
    for name, text in outputs.items():
        leaked = [s for s in canaries if s in text]
        assert not leaked, f"{len(leaked)} raw secrets in {name}: " + text[max(0, text.find(leaked[0]) - 300) : text.find(leaked[0])]
    # and the upstream never saw the ones the proxy redacted
    sent = "\n".join(r.body.decode(errors="replace") for r in upstream.received)
    assert not [s for s in canaries if s in sent]
    assert json.loads(error_bodies[0])["type"] == "error"
