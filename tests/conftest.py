"""Fixtures shared by every test; helpers live in tests/support (importable as ``support``).

Tests under tests/e2e are marked ``e2e`` automatically: they start processes (the proxy, a CLI,
servers). ``pytest tests/unit`` is the fast inner loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.pki import PKI, make_pki
from support.proxy import start_proxy, stop_proxy
from support.upstream import serve_upstream

E2E = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(items):
    for item in items:
        if E2E in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def upstream(pki):
    server, up = serve_upstream(pki)
    yield up
    server.shutdown()


@pytest.fixture(scope="session")
def other_site(pki):
    """A TLS site that is not in the catalog."""
    server, up = serve_upstream(pki)
    yield up
    server.shutdown()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, pki, upstream):
    p = start_proxy(tmp_path_factory.mktemp("proxy"), pki, upstream.port)
    yield p
    stop_proxy(p)


@pytest.fixture
def proxy_env(monkeypatch, proxy):
    """Point clients at the proxy the usual way: HTTPS_PROXY, nothing bypassed."""
    for var in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("https_proxy", proxy.url)
    return proxy
