"""Pilot scope end to end: identities (htpasswd users, client certificates, source addresses),
pilot membership, per-group rules, tenant headers, API-key allow-list, unapproved and strict."""

from __future__ import annotations

import concurrent.futures
import json
import secrets as pysecrets
import ssl
import subprocess
import threading
import time

import bcrypt
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from llm_dlp.act.placeholders import Keyring
from support.pki import _cert, _name
from support.proxy import start_proxy, stop_proxy

pytestmark = pytest.mark.e2e

PASSWORDS = {"alice": "alice-" + pysecrets.token_hex(6), "bob": "bob-" + pysecrets.token_hex(6), "carol": "carol-" + pysecrets.token_hex(6)}
ORG_KEY = "sk-ant-org-" + pysecrets.token_hex(8)
TEST_KEY = "test-placeholder-key-0123456789"  # conftest.start_proxy's LLM_DLP_PLACEHOLDER_KEY

POLICY = """
policy:
  require_identity: true
  identity:
    proxy_auth: {{htpasswd: users.htpasswd, realm: pilot}}
    client_cert: {{ca: client-ca.pem, user_from: cn}}
    source_address: {{"127.0.0.2": erin, "127.0.0.3/32": mallory}}
  groups:
    devs: [alice, dave, erin]
    strict: [carol]
  pilot:
    groups: [devs, strict]
    message: AI assistants are in a pilot.
    url: https://wiki.example/ai-pilot
  access:
    - groups: [strict]
      models: ["claude-*", "gpt-4o"]
      actions: {{github-token: block}}
    - groups: [devs]
  tenants:
    - endpoints: [test-openai]
      headers: {{OpenAI-Allowed-Organization-Ids: org-test123}}
  api_keys:
    - endpoints: [test-anthropic]
      allowed: ["{org_hash}"]
endpoints:
  - id: test-unapproved
    hosts: ["127.0.0.1"]
    ports: [{other_port}]
    protocol: generic
    class: unapproved
"""


def make_client_ca(tmp):
    key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(_name("pilot client CA"), _name("pilot client CA"), key, key, ca=True)
    return ca, key


def client_cert(tmp, name, ca, ca_key):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert(_name(name), ca.subject, key, ca_key, ca=False)
    cert_file, key_file = tmp / f"{name}.pem", tmp / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture(scope="module")
def pilot(tmp_path_factory, pki, upstream, other_site):
    tmp = tmp_path_factory.mktemp("pilot")
    ca, ca_key = make_client_ca(tmp)
    rogue_ca, rogue_key = make_client_ca(tmp)
    htpasswd = "".join(f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=10)).decode()}\n" for u, p in PASSWORDS.items())
    org_hash = Keyring(TEST_KEY.encode()).fingerprint(ORG_KEY)
    files = {
        "policy.yaml": POLICY.format(org_hash=org_hash, other_port=other_site.port),
        "users.htpasswd": htpasswd,
        "client-ca.pem": ca.public_bytes(serialization.Encoding.PEM),
    }
    proxy = start_proxy(tmp, pki, upstream.port, files=files)
    proxy.dave = client_cert(tmp, "dave", ca, ca_key)
    proxy.rogue = client_cert(tmp, "dave-rogue", rogue_ca, rogue_key)
    yield proxy
    stop_proxy(proxy)


def ctx(proxy, cert=None) -> ssl.SSLContext:
    c = ssl.create_default_context(cafile=str(proxy.ca))
    if cert:
        c.load_cert_chain(*cert)
    return c


def http(proxy, user=None, cert=None) -> httpx.Client:
    url = f"http://{user}:{PASSWORDS.get(user, 'wrong-password')}@127.0.0.1:{proxy.port}" if user else proxy.url
    return httpx.Client(proxy=url, verify=ctx(proxy, cert), timeout=30)


def chat(client, upstream, content="hello", model="gpt-4o", headers=None):
    return client.post(
        f"{upstream.url}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": content}]},
        headers=headers or {},
    )


def last_record(proxy, mark):
    return proxy.wait_for_record(mark + 1)


def test_htpasswd_users_in_and_out_of_the_pilot(pilot, upstream):
    mark = len(pilot.records())
    with http(pilot, "alice") as c:
        assert chat(c, upstream).status_code == 200
    rec = last_record(pilot, mark)
    assert (rec["user"], rec["groups"], rec["identity_source"]) == ("alice", ["devs"], "proxy_auth")
    with http(pilot, "bob") as c:
        r = chat(c, upstream)
    assert r.status_code == 403
    msg = r.json()["error"]["message"]
    assert "pilot" in msg and "https://wiki.example/ai-pilot" in msg and "alice" not in msg
    rec = last_record(pilot, mark + 1)
    assert (rec["user"], rec["decision"], rec["reason"], rec["tool"]) == ("bob", "refuse", "not_in_pilot", "python-httpx")
    assert rec["identity_source"] == "proxy_auth"  # a refusal names whom it refused
    assert PASSWORDS["bob"] not in pilot.audit.read_text() and PASSWORDS["bob"] not in pilot.log.read_text()


def test_wrong_password_is_challenged(pilot, upstream):
    with http(pilot, "mallory-unknown") as c, pytest.raises(httpx.ProxyError):
        chat(c, upstream)  # 407 on the CONNECT
    with httpx.Client(proxy=pilot.url, verify=ctx(pilot), timeout=30) as c:
        r = chat(c, upstream)  # no credentials at all: asked for them inside the tunnel
    assert r.status_code == 407 and r.headers["proxy-authenticate"] == 'Basic realm="pilot"'


def test_client_certificates(pilot, upstream):
    mark = len(pilot.records())
    with http(pilot, cert=pilot.dave) as c:
        assert chat(c, upstream).status_code == 200
    assert (last_record(pilot, mark)["user"], last_record(pilot, mark)["identity_source"]) == ("dave", "client_cert")
    with http(pilot, cert=pilot.rogue) as c:
        assert chat(c, upstream).status_code == 407  # a certificate from another CA identifies no one


def curl_from(proxy, upstream, source: str) -> int:
    """curl binds the source address (httpx ignores local_address when it uses a proxy)."""
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--interface",
            source,
            "--proxy",
            proxy.url,
            "--cacert",
            str(proxy.ca),
            "-H",
            "content-type: application/json",
            "-d",
            body,
            f"{upstream.url}/v1/chat/completions",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return int(out.stdout or 0)


def test_source_addresses(pilot, upstream):
    mark = len(pilot.records())
    assert curl_from(pilot, upstream, "127.0.0.2") == 200
    rec = last_record(pilot, mark)
    assert (rec["user"], rec["client"], rec["identity_source"]) == ("erin", "127.0.0.2", "source_address")
    assert curl_from(pilot, upstream, "127.0.0.3") == 403
    assert last_record(pilot, mark + 1)["reason"] == "not_in_pilot"


def test_per_group_rule_actions_and_models(pilot, upstream):
    token = "ghp_" + pysecrets.token_hex(17) + "Zz"
    with http(pilot, "alice") as c:
        assert chat(c, upstream, f"t={token}").status_code == 200  # devs: redact
    assert token not in upstream.last().body.decode()
    with http(pilot, "carol") as c:
        r = chat(c, upstream, f"t={token}")
        assert r.status_code == 403 and "github-token" in r.json()["error"]["message"]  # strict: block
        r = chat(c, upstream, "hi", model="gpt-4.1")
        assert r.status_code == 403 and r.json()["error"]["code"] == "llm_dlp_model_not_allowed"


def test_tenant_header_replaces_the_clients_copy(pilot, upstream):
    with http(pilot, "alice") as c:
        chat(c, upstream, headers={"OpenAI-Allowed-Organization-Ids": "org-personal"})
    received = upstream.last().headers
    assert received["openai-allowed-organization-ids"] == "org-test123"


def test_personal_api_key_refused(pilot, upstream):
    body = {"model": "claude-x", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    with http(pilot, "alice") as c:
        r = c.post(f"{upstream.url}/v1/messages", json=body, headers={"x-api-key": "sk-ant-personal-" + pysecrets.token_hex(8)})
        assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"
        assert c.post(f"{upstream.url}/v1/messages", json=body, headers={"x-api-key": ORG_KEY}).status_code == 200


def test_unapproved_ai_service_refused_with_explanation(pilot, other_site):
    with http(pilot, "alice") as c:
        r = c.get(other_site.url, headers={"accept": "text/html"})
    assert r.status_code == 403 and "text/html" in r.headers["content-type"]
    assert "not an approved AI service" in r.text


def test_strict_segment_refuses_uncatalogued_hosts(tmp_path, pki, upstream, other_site):
    proxy = start_proxy(tmp_path, pki, upstream.port, files={"policy.yaml": "policy:\n  strict: true\n"})
    try:
        with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(pki.ca_file)), timeout=10) as c:
            with pytest.raises(httpx.ProxyError):
                c.get(other_site.url)
        with httpx.Client(proxy=proxy.url, verify=ctx(proxy), timeout=10) as c:
            assert chat(c, upstream).status_code == 200  # catalogued endpoints still work
        assert proxy.records("refusal")[0]["reason"] == "strict_segment"
    finally:
        stop_proxy(proxy)


def test_bcrypt_logins_do_not_stall_a_stream(pilot, upstream):
    """50 new connections with credentials to check (bcrypt) while a stream is running."""
    single = time.perf_counter()
    bcrypt.checkpw(b"x", bcrypt.hashpw(b"y", bcrypt.gensalt(rounds=10)))
    single = time.perf_counter() - single
    gaps, started = [], threading.Event()

    def stream():
        last = None
        with http(pilot, "alice") as c:
            body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x" * 140}]}
            with c.stream("POST", f"{upstream.url}/v1/chat/completions", json=body) as r:
                for line in r.iter_lines():
                    now = time.monotonic()
                    if line.startswith("data: "):
                        if last is not None:
                            gaps.append(now - last)
                        last = now
                        started.set()

    def login(i):
        with httpx.Client(proxy=f"http://user{i}:wrong-{i}@127.0.0.1:{pilot.port}", verify=ctx(pilot), timeout=30) as c:
            try:
                chat(c, upstream)
            except httpx.ProxyError:
                pass

    t = threading.Thread(target=stream)
    t.start()
    started.wait(10)
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        list(pool.map(login, range(50)))
    t.join(30)
    assert gaps
    # had the 50 bcrypt checks run on the event loop, one gap would hold them all
    assert max(gaps) < upstream.stream_delay + 50 * single / 4, (max(gaps), single)
