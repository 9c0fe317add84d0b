"""The pilot firewall segment as shipped, for real: three network namespaces joined by veth
pairs, the shipped nftables rules (deploy/pilot-segment/nftables.conf) on the gateway, llm-dlp in
transparent mode on the gateway with every capability dropped (as the systemd unit runs it), and
a fake LLM plus a fake other site in the "internet" namespace.

    developer 10.77.1.10 (pilot), 10.77.1.20 (not)  --  gateway 10.77.1.1 | 10.77.2.1  --  internet 10.77.2.2 (LLM), 10.77.2.3 (other site)

The developer's curl has no proxy setting at all."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.pki import make_pki
from support.proxy import ROOT, wait_for
from support.secretgen import Gen, provider_tokens

pytestmark = pytest.mark.e2e

LLM_DLP = str(Path(sys.executable).parent / "llm-dlp")
PREFIX = f"ldlp{os.getpid() % 100000}"
DEV, GW, NET = f"{PREFIX}-dev", f"{PREFIX}-gw", f"{PREFIX}-net"
LLM_HOST, OTHER_HOST = "llm.pilot.test", "other.pilot.test"
PILOT_RULES = f"""
version: 1
endpoints:
  - id: pilot-llm
    hosts: [{LLM_HOST}]
    ports: [443]
    protocol: openai
secrets:
  - id: pilot-block-marker
    description: A marker the test uses to trigger a block.
    kind: test
    action: block
    patterns: ['BLOCKME-[0-9a-f]{{16}}']
"""
POLICY = """
version: 1
policy:
  require_identity: true
  identity:
    source_address: {{"10.77.1.10": alice, "10.77.1.20": mallory}}
  groups:
    devs: [alice]
  pilot:
    groups: [devs]
    message: AI coding assistants are in a limited pilot.
  access:
    - groups: [devs]
  strict: {strict}
"""


def run(*cmd: str, ns: str | None = None, check: bool = True, **kw) -> subprocess.CompletedProcess:
    full = ["ip", "netns", "exec", ns, *cmd] if ns else list(cmd)
    return subprocess.run(full, capture_output=True, text=True, check=check, timeout=60, **kw)


@dataclass
class Segment:
    tmp: Path
    proxy: subprocess.Popen
    audit: Path
    rules: Path
    confdir: Path
    upstream_ca: Path
    received: Path
    udp_log: Path

    def records(self, event: str = "request") -> list[dict]:
        lines = self.audit.read_text().splitlines() if self.audit.exists() else []
        return [r for r in map(json.loads, lines) if r["event"] == event]

    def curl(
        self, url: str, *args: str, source: str = "10.77.1.10", host: str = LLM_HOST, ip: str = "10.77.2.2", cacert: Path | None = None
    ) -> subprocess.CompletedProcess:
        """curl from the developer namespace, with no proxy configured."""
        cmd = [
            "curl",
            "-sS",
            "--max-time",
            "15",
            "--noproxy",
            "*",
            "--interface",
            source,
            "--resolve",
            f"{host}:443:{ip}",
            "--cacert",
            str(cacert or self.confdir / "mitmproxy-ca-cert.pem"),
            "-w",
            "\n%{http_code}",
            url,
            *args,
        ]
        return run(*cmd, ns=DEV, check=False)

    def chat(self, text: str, source: str = "10.77.1.10") -> tuple[int, str]:
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]})
        out = self.curl(f"https://{LLM_HOST}/v1/chat/completions", "-H", "content-type: application/json", "-d", body, source=source)
        assert out.returncode == 0, out.stderr
        payload, _, status = out.stdout.rpartition("\n")
        return int(status), payload


def build_network() -> None:
    for ns in (DEV, GW, NET):
        run("ip", "netns", "add", ns)
    run("ip", "link", "add", "ldd0", "netns", DEV, "type", "veth", "peer", "name", "ldg0", "netns", GW)
    run("ip", "link", "add", "ldg1", "netns", GW, "type", "veth", "peer", "name", "ldn0", "netns", NET)
    for ns, dev, addrs in (
        (DEV, "ldd0", ["10.77.1.10/24", "10.77.1.20/24"]),
        (GW, "ldg0", ["10.77.1.1/24"]),
        (GW, "ldg1", ["10.77.2.1/24"]),
        (NET, "ldn0", ["10.77.2.2/24", "10.77.2.3/24"]),
    ):
        for addr in addrs:
            run("ip", "addr", "add", addr, "dev", dev, ns=ns)
        run("ip", "link", "set", dev, "up", ns=ns)
    for ns in (DEV, GW, NET):
        run("ip", "link", "set", "lo", "up", ns=ns)
    run("ip", "route", "add", "default", "via", "10.77.1.1", ns=DEV)
    run("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=GW)


def apply_shipped_firewall(tmp: Path) -> None:
    """The shipped rules, with only the three site values of its header filled in."""
    conf = (ROOT / "deploy" / "pilot-segment" / "nftables.conf").read_text()
    for name, value in (("SEGMENT_IF", '"ldg0"'), ("PROXY_PORT", "8080"), ("DNS_SERVERS", "{ 10.77.2.2 }")):
        conf, n = re.subn(rf"^define {name} = .*$", f"define {name} = {value}", conf, flags=re.M)
        assert n == 1, name
    (tmp / "nftables.conf").write_text(conf)
    run("nft", "-f", str(tmp / "nftables.conf"), ns=GW)


def start_in(ns: str, cmd: list[str], log: Path, ready: str, env: dict | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(lambda: ready in log.read_text(errors="replace") or proc.poll() is not None, f"{cmd[0]} in {ns}", 60)
    finally:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd} exited:\n{log.read_text(errors='replace')}")
    return proc


@pytest.fixture(scope="module")
def segment(tmp_path_factory):
    if shutil.which("nft") is None:
        pytest.fail("nft is missing: deploy/bootstrap.sh test installs nftables")
    probe = subprocess.run(["ip", "netns", "add", f"{PREFIX}-probe"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"the kernel refuses network namespaces here: {probe.stderr.strip()}")
    subprocess.run(["ip", "netns", "del", f"{PREFIX}-probe"], check=True)
    tmp = tmp_path_factory.mktemp("segment")
    processes: list[subprocess.Popen] = []
    hosts = Path("/etc/netns") / DEV  # ip netns exec mounts this over /etc/hosts in the developer namespace
    try:
        hosts.mkdir(parents=True)
        (hosts / "hosts").write_text(f"127.0.0.1 localhost\n10.77.2.2 {LLM_HOST}\n10.77.2.3 {OTHER_HOST}\n")
        build_network()
        apply_shipped_firewall(tmp)
        pki = make_pki(tmp, names=(LLM_HOST, OTHER_HOST))
        received, udp_log = tmp / "received.jsonl", tmp / "udp.log"
        fake = [
            sys.executable,
            str(ROOT / "tests" / "support" / "fake_llm.py"),
            "--ca",
            str(pki.ca_file),
            "--cert",
            str(pki.cert_file),
            "--key",
            str(pki.key_file),
            "--received",
            str(received),
        ]
        processes.append(
            start_in(
                NET,
                [*fake, "--listen", "10.77.2.2:443", "--udp", "443", "--udp", "53", "--udp-log", str(udp_log)],
                tmp / "llm.log",
                "serving",
            )
        )
        processes.append(start_in(NET, [*fake, "--listen", "10.77.2.3:443"], tmp / "other.log", "serving"))
        rules = tmp / "rules"
        shutil.copytree(ROOT / "rules", rules)
        (rules / "policy.yaml").write_text(POLICY.format(strict="true"))
        (rules / "pilot.yaml").write_text(PILOT_RULES)
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["LLM_DLP_PLACEHOLDER_KEY"] = "segment-test-placeholder-key-0123"
        # as the systemd unit runs it: no capability at all (root's are dropped from the bounding set)
        proxy_cmd = [
            "setpriv",
            "--bounding-set=-all",
            "--inh-caps=-all",
            "--no-new-privs",
            LLM_DLP,
            "run",
            "--mode",
            "transparent",
            "--listen",
            "0.0.0.0:8080",
            "--rules",
            str(rules),
            "--audit-log",
            str(tmp / "audit.jsonl"),
            "--confdir",
            str(tmp / "conf"),
            "--upstream-ca",
            str(pki.ca_file),
            "--metrics-listen",
            "127.0.0.1:9464",
            "--set",
            "llm_dlp_reload_seconds=0",
        ]
        proxy = start_in(GW, proxy_cmd, tmp / "proxy.log", "listening at", env)
        processes.append(proxy)
        wait_for(lambda: (tmp / "conf" / "mitmproxy-ca-cert.pem").exists(), "the proxy's CA certificate")
        yield Segment(tmp, proxy, tmp / "audit.jsonl", rules, tmp / "conf", pki.ca_file, received, udp_log)
    finally:
        for proc in processes:
            proc.send_signal(signal.SIGTERM)
        for proc in processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for ns in (DEV, GW, NET):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(hosts, ignore_errors=True)


def test_the_proxy_runs_without_any_capability(segment):
    status = Path(f"/proc/{segment.proxy.pid}/status").read_text()
    assert re.search(r"^CapEff:\s+0+$", status, re.M) and re.search(r"^CapBnd:\s+0+$", status, re.M)


def test_an_unconfigured_client_is_inspected(segment):
    status, body = segment.chat("hello from the segment")
    assert status == 200 and json.loads(body)["choices"][0]["message"]["content"] == "You said: hello from the segment"
    rec = wait_for(lambda: segment.records() and segment.records()[-1], "the audit record")
    assert (rec["user"], rec["identity_source"], rec["client"], rec["endpoint"]) == ("alice", "source_address", "10.77.1.10", "pilot-llm")

    token = dict(provider_tokens(Gen(random.Random()))).get("github-pat")
    status, body = segment.chat(f"why does CI fail with GITHUB_TOKEN={token}?")
    assert status == 200 and token in body  # restored for the developer...
    sent = wait_for(
        lambda: segment.received.exists() and [x for x in segment.received.read_text().splitlines() if "GITHUB_TOKEN=" in x],
        "the upstream copy",
    )
    assert token not in sent[0]  # ...never sent upstream

    status, body = segment.chat("BLOCKME-0123456789abcdef")
    assert status == 403 and "pilot-block-marker" in body


def test_doctor_on_an_unconfigured_machine(segment):
    trust = {
        v: str(segment.confdir / "mitmproxy-ca-cert.pem")
        for v in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "CURL_CA_BUNDLE")
    }
    env = {**{k: v for k, v in os.environ.items() if "proxy" not in k.lower()}, **trust}
    out = run(LLM_DLP, "doctor", "--url", f"https://{LLM_HOST}", "--json", ns=DEV, check=False, env=env)
    found = {c["name"]: c for c in json.loads(out.stdout)}
    assert out.returncode == 0, out.stdout
    assert found["proxy"]["status"] == "skip" and found["inspected"]["status"] == "ok"
    assert "alice (groups: devs; from source_address)" in found["identity"]["detail"]


def test_a_non_pilot_address_is_refused(segment):
    status, body = segment.chat("hello", source="10.77.1.20")
    assert status == 403 and "limited pilot" in body
    rec = wait_for(lambda: [r for r in segment.records() if r.get("reason") == "not_in_pilot"], "the refusal")[-1]
    assert (rec["client"], rec["endpoint"]) == ("10.77.1.20", "pilot-llm")
    assert (rec["user"], rec["identity_source"]) == ("mallory", "source_address")  # whom it refused


def test_quic_is_dropped_and_dns_is_not(segment):
    probe = (
        "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
        "[s.sendto(m, ('10.77.2.2', p)) for m, p in ((b'quic-probe', 443), (b'dns-probe', 53))]"
    )
    run(sys.executable, "-c", probe, ns=DEV)
    wait_for(lambda: segment.udp_log.exists() and "53\tdns-probe" in segment.udp_log.read_text(), "the DNS datagram")
    time.sleep(0.5)  # both left together; give a forwarded QUIC datagram every chance to show up
    assert "quic-probe" not in segment.udp_log.read_text()
    counters = run("nft", "list", "chain", "inet", "llm_dlp_pilot", "forward", ns=GW).stdout
    assert re.search(r"udp dport 443 counter packets [1-9]", counters)


def test_other_traffic_follows_the_policy(segment):
    # strict: an uncatalogued HTTPS site is not reachable from the segment
    out = segment.curl(f"https://{OTHER_HOST}/", host=OTHER_HOST, ip="10.77.2.3", cacert=segment.upstream_ca)
    assert out.returncode != 0
    refusal = wait_for(lambda: [r for r in segment.records("refusal") if r["reason"] == "strict_segment"], "the strict refusal")[-1]
    assert (refusal["address"], refusal["server_name"]) == ("10.77.2.3", OTHER_HOST)  # the name the client asked for, beside the address
    # the proxy port only takes redirected connections
    direct = run("curl", "-sS", "--max-time", "3", "--noproxy", "*", "http://10.77.1.1:8080/", ns=DEV, check=False)
    assert direct.returncode != 0

    # not strict (reloaded with SIGHUP): the site is reached untouched, with its own certificate
    (segment.rules / "policy.yaml").write_text(POLICY.format(strict="false"))
    reloads = len(segment.records("reload"))
    segment.proxy.send_signal(signal.SIGHUP)
    wait_for(lambda: len(segment.records("reload")) > reloads, "the reload")
    out = segment.curl(f"https://{OTHER_HOST}/", host=OTHER_HOST, ip="10.77.2.3", cacert=segment.upstream_ca)
    assert out.returncode == 0 and out.stdout == "plain upstream says hello\n200", out.stderr
