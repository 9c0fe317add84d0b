"""llm-dlp doctor against a real proxy, with real Python, Node and curl clients: every check
passes when the CA is trusted, each failure is named with what to do, identity is reported, and
the diagnostic request never reaches the upstream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llm_dlp.commands.doctor import DIAGNOSTIC_PATH
from support.proxy import start_proxy, stop_proxy

pytestmark = pytest.mark.e2e

LLM_DLP = str(Path(sys.executable).parent / "llm-dlp")
TRUST_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "CURL_CA_BUNDLE", "NIX_SSL_CERT_FILE")


def doctor(proxy_url: str, upstream, ca: Path | None, *extra: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and k not in TRUST_VARIABLES}
    env["HTTPS_PROXY"] = proxy_url
    env.update(extra_env or {})
    if ca:
        env.update({v: str(ca) for v in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "CURL_CA_BUNDLE")})
    return subprocess.run(
        [LLM_DLP, "doctor", "--url", f"https://127.0.0.1:{upstream.port}", *extra], capture_output=True, text=True, env=env, timeout=90
    )


def checks(out: subprocess.CompletedProcess) -> dict[str, dict]:
    return {c["name"]: c for c in json.loads(out.stdout)}


def test_every_check_passes_when_the_ca_is_trusted(proxy, upstream):
    before = len(upstream.received)
    out = doctor(proxy.url, upstream, proxy.ca, "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    found = checks(out)
    assert {name: c["status"] for name, c in found.items()} == {
        "proxy": "ok",
        "python": "ok",
        "python-httpx": "ok",
        "python-requests": "ok",
        "node": "ok",
        "curl": "ok",
        "inspected": "ok",
        "identity": "ok",
    }
    assert "anonymous" in found["identity"]["detail"]
    assert all(not r.path.startswith(DIAGNOSTIC_PATH) for r in upstream.received[before:])  # answered by the proxy itself
    assert any(r["decision"] == "diagnostic" for r in proxy.records())


def test_an_untrusted_ca_is_named_with_what_to_do(proxy, upstream):
    out = doctor(proxy.url, upstream, None)
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    for name, variable in (
        ("python", "SSL_CERT_FILE"),
        ("python-httpx", "SSL_CERT_FILE"),
        ("python-requests", "REQUESTS_CA_BUNDLE"),
        ("node", "NODE_EXTRA_CA_CERTS"),
        ("curl", "CURL_CA_BUNDLE"),
    ):
        row = next(i for i, line in enumerate(lines) if line.split()[1:2] == [name])
        assert lines[row].split()[0] == "FAIL" and "certificate" in lines[row].lower()
        assert variable in lines[row + 1] and "llm-dlp ca export" in lines[row + 1]
    assert any(line.split()[:2] == ["FAIL", "inspected"] for line in lines)


def test_an_unreachable_proxy_is_reported(upstream):
    out = doctor("http://127.0.0.1:9", upstream, None, "--json")
    assert out.returncode == 1 and list(checks(out)) == ["proxy"] and checks(out)["proxy"]["status"] == "fail"


def test_identity_and_pilot_refusal_as_the_proxy_sees_them(tmp_path, pki, upstream):
    policy = """
version: 1
policy:
  identity:
    source_address: {"127.0.0.1": alice}
  groups:
    devs: [alice]
    pilot-wave-2: [bob]
  pilot:
    groups: [pilot-wave-2]
    message: AI coding assistants are in a limited pilot.
  access:
    - groups: ["*"]
"""
    proxy = start_proxy(tmp_path, pki, upstream.port, files={"policy.yaml": policy})
    try:
        out = doctor(proxy.url, upstream, proxy.ca, "--json")
        identity = checks(out)["identity"]
        assert out.returncode == 1 and identity["status"] == "fail"
        assert "alice (groups: devs; from source_address)" in identity["detail"] and "not_in_pilot" in identity["detail"]
        assert "limited pilot" in identity["hint"]
    finally:
        stop_proxy(proxy)


def test_proxy_credentials_are_used_and_their_absence_is_named(tmp_path, pki, upstream):
    import secrets as tokens

    import bcrypt

    password = tokens.token_urlsafe(12)  # generated: no real credential in the repository
    policy = """
version: 1
policy:
  require_identity: true
  identity:
    proxy_auth: {htpasswd: users.htpasswd, realm: pilot}
  groups:
    devs: [carol]
  access:
    - groups: [devs]
"""
    htpasswd = f"carol:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()}\n"
    proxy = start_proxy(tmp_path, pki, upstream.port, files={"policy.yaml": policy, "users.htpasswd": htpasswd})
    try:
        with_credentials = proxy.url.replace("http://", f"http://carol:{password}@")
        out = doctor(with_credentials, upstream, proxy.ca, "--json")
        assert out.returncode == 0, out.stdout
        assert "carol (groups: devs; from proxy_auth)" in checks(out)["identity"]["detail"]
        assert password not in out.stdout + out.stderr  # never echoed back
        plain = doctor(proxy.url, upstream, proxy.ca, "--json")
        assert plain.returncode == 1 and password not in plain.stdout
        for name in ("python", "python-httpx", "python-requests", "node", "curl"):
            assert checks(plain)[name]["detail"] == "the proxy asks for credentials (407)", checks(plain)[name]
    finally:
        stop_proxy(proxy)


def test_no_proxy_covering_the_endpoint_is_named(proxy, upstream):
    out = doctor(proxy.url, upstream, proxy.ca, "--json", extra_env={"NO_PROXY": "localhost,127.0.0.1"})
    found = checks(out)
    assert out.returncode == 1 and found["no-proxy"]["status"] == "fail" and "NO_PROXY" in found["no-proxy"]["hint"]
