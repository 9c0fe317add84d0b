"""Fixtures of the end-to-end tests that several test files share."""

from __future__ import annotations

import httpx
import pytest

from support.proxy import start_proxy, stop_proxy


@pytest.fixture(scope="module")
def real_audit(tmp_path_factory, pki, upstream):
    """An audit file from a real proxy run: redaction, block, broken body, stream, stop."""
    import ssl

    tmp = tmp_path_factory.mktemp("audit")
    proxy = start_proxy(tmp, pki, upstream.port)
    try:
        with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=20) as c:
            url = f"{upstream.url}/v1/chat/completions"
            for content in ("ghp_" + "aB3" * 12, "BLOCKME-0123456789abcdef", "plain", "pip install nope-not-real"):
                c.post(url, json={"model": "m", "messages": [{"role": "user", "content": content}]})
            c.post(url, content=b"\x00garbage", headers={"content-encoding": "gzip"})
            with c.stream("POST", url, json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "stream me"}]}) as r:
                r.read()
        proxy.wait_for_record(6)
    finally:
        stop_proxy(proxy)
    return proxy.audit
