"""Fixtures shared by every test; helpers live in tests/support (importable as ``support``).

Tests under tests/e2e are marked ``e2e`` automatically: they start processes (the proxy, a CLI,
servers). ``pytest tests/unit`` is the fast inner loop."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from llm_dlp.detect.compiled import CACHE_ENV
from support.pki import PKI, make_pki
from support.proxy import start_proxy, stop_proxy
from support.upstream import serve_upstream

E2E = Path(__file__).parent / "e2e"


def pytest_configure(config):
    """One cache of compiled rule databases for the run, its own: every proxy the tests start
    compiles the same rules, and no test reads or writes the user's cache."""
    config.llm_dlp_cache = tempfile.mkdtemp(prefix="llm-dlp-test-cache-")
    os.environ[CACHE_ENV] = config.llm_dlp_cache


def pytest_unconfigure(config):
    shutil.rmtree(config.llm_dlp_cache, ignore_errors=True)


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


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh, empty compile cache for one test."""
    directory = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(directory))
    return directory
