"""Faults through the real proxy: a full disk under the audit trail, a trail cut after a
checkpoint, an upstream that resets mid-stream, cuts a stream short or refuses the connection,
and a secrets file emptied while the proxy runs. Nothing may be lost or disarmed unseen."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from support.proxy import start_proxy, stop_proxy, wait_for

LLM_DLP = str(Path(sys.executable).parent / "llm-dlp")
KEY = "test-placeholder-key-0123456789"  # start_proxy's key


def client(proxy) -> httpx.Client:
    return httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=20)


def chat(content: str, stream: bool = False) -> dict:
    return {"model": "m", "stream": stream, "messages": [{"role": "user", "content": content}]}


def token(n: int) -> str:
    return "ghp_" + f"{n:04d}" + "aB3x" * 8  # generated, the github-token rule's shape


def run_verify(*args, key: str = KEY) -> subprocess.CompletedProcess:
    env = {"LLM_DLP_PLACEHOLDER_KEY": key, "PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}
    return subprocess.run([LLM_DLP, "audit", "verify", *map(str, args)], capture_output=True, text=True, timeout=60, env=env)


def records(path: Path, event: str = "request") -> list[dict]:
    return [r for r in map(json.loads, path.read_text().splitlines()) if r["event"] == event]


def metric(proxy, name: str) -> float:
    """A sample's value; 0 for a labelled counter not incremented yet."""
    for line in proxy.metrics().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0


# ---- a full disk --------------------------------------------------------------------------------
def test_a_full_disk_refuses_ai_requests_and_forwards_nothing_unaudited(tmp_path, pki, upstream):
    """The audit log on a 256 KiB tmpfs, mounted in a mount namespace of the proxy's own."""
    mount = tmp_path / "auditfs"
    mount.mkdir()
    wrap = ["unshare", "-m", "--propagation", "private", "sh", "-c", 'mount -t tmpfs -o size=256k tmpfs "$0" && exec "$@"', str(mount)]
    proxy = start_proxy(tmp_path, pki, upstream.port, ["--audit-log", str(mount / "audit.jsonl")], wrap=wrap)
    inside = Path(f"/proc/{proxy.process.pid}/root") / str(mount).lstrip("/")  # the proxy's view of the tmpfs
    trail, filler = inside / "audit.jsonl", inside / "filler"
    url = f"{upstream.url}/v1/chat/completions"
    forwarded_before = len(upstream.received)
    try:
        with client(proxy) as c:
            assert [c.post(url, json=chat(f"before {i}")).status_code for i in range(2)] == [200, 200]
            wait_for(lambda: len(records(trail)) == 2, "two records")
            with filler.open("wb") as f, pytest.raises(OSError):  # fill the file system to the last byte
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
            # requests in flight together while the disk is full: every one refused, none forwarded
            answers: list[httpx.Response] = []
            threads = [
                threading.Thread(target=lambda i=i: answers.append(c.post(url, json=chat(f"full {i} {token(i)}")))) for i in range(6)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert [a.status_code for a in answers] == [503] * 6
            assert all(a.headers["x-llm-dlp"] == "llm_dlp_audit_unavailable" and "audit unavailable" in a.text for a in answers)
            assert metric(proxy, "llm_dlp_audit_healthy") == 0 and metric(proxy, 'llm_dlp_refusals_total{reason="audit_unavailable"}') >= 6
            assert len(upstream.received) == forwarded_before + 2
            filler.unlink()  # space is back: the next request after a retry goes through
            wait_for(lambda: c.post(url, json=chat("after")).status_code == 200, "a request after the disk has room", timeout=10)
            wait_for(lambda: metric(proxy, "llm_dlp_audit_healthy") == 1, "the sink healthy again")
        copy = tmp_path / "audit-copy.jsonl"
        wait_for(
            lambda: records(trail)[-1:] and records(trail)[-1]["status"] == 200 and records(trail)[-1]["decision"] == "allow",
            "the last record",
        )
        copy.write_bytes(trail.read_bytes())
    finally:
        stop_proxy(proxy)
    forwarded = len(upstream.received) - forwarded_before
    written = records(copy)
    assert len([r for r in written if r["decision"] == "allow"]) == forwarded  # every forwarded request has its record
    (resumed,) = records(copy, "audit_resumed")
    refused = [r for r in written if r["reason"] == "audit_unavailable"]  # a refusal fits in the file's last page, or is lost
    assert resumed["lost_records"] >= 1 and len(refused) + resumed["lost_records"] >= 6
    out = run_verify(copy)
    assert out.returncode == 1 and "were never written (the proxy could not write them)" in out.stdout
    assert "deleted" not in out.stdout and "edited" not in out.stdout
    assert all(token(i) not in copy.read_text() for i in range(6))


# ---- the end of the trail -----------------------------------------------------------------------
def test_truncating_the_live_trail_after_a_checkpoint_is_detected(tmp_path, pki, upstream):
    witness = tmp_path / "witness" / "checkpoints.jsonl"
    proxy = start_proxy(
        tmp_path, pki, upstream.port, ["--set", f"llm_dlp_audit_checkpoint_file={witness}", "--set", "llm_dlp_audit_checkpoint_records=3"]
    )
    try:
        with client(proxy) as c:
            for i in range(5):
                c.post(f"{upstream.url}/v1/chat/completions", json=chat(f"hello {i}"))
        wait_for(
            lambda: len(records(proxy.audit)) == 5 and witness.exists() and len(witness.read_text().splitlines()) == 2, "two checkpoints"
        )
        last = json.loads(witness.read_text().splitlines()[-1])
        lines = proxy.audit.read_bytes().splitlines(keepends=True)
        assert last["seq"] == 5 and last["head"] == json.loads(lines[5])["mac"]  # start + 5 requests: seq 0..5
        assert metric(proxy, "llm_dlp_audit_checkpoint_seq") == 5
        head = f"{metric(proxy, 'llm_dlp_audit_checkpoint_seq'):.0f}:{metric(proxy, 'llm_dlp_audit_checkpoint_head'):.0f}"
        assert run_verify(proxy.audit, "--checkpoints", witness, "--head", head).returncode == 0
        proxy.audit.write_bytes(b"".join(lines[:4]))  # the last two records cut off the live file
        assert run_verify(proxy.audit).returncode == 0  # the chain alone cannot tell
        out = run_verify(proxy.audit, "--checkpoints", witness)
        assert out.returncode == 1 and "records seq 4..5 are missing after the last witnessed head" in out.stdout
        out = run_verify(proxy.audit, "--head", head)  # Prometheus as the witness
        assert out.returncode == 1 and "records seq 4..5 are missing" in out.stdout
    finally:
        stop_proxy(proxy)
    assert len(witness.read_text().splitlines()) == 3  # and one at stop


def test_a_trail_checked_with_another_key_says_wrong_key(tmp_path, pki, upstream):
    proxy = start_proxy(tmp_path, pki, upstream.port)
    wait_for(lambda: proxy.records("start"), "the start record")
    stop_proxy(proxy)
    out = run_verify(proxy.audit, key="another-placeholder-key-0000")
    assert out.returncode == 1 and "wrong key: this trail was written with key id" in out.stdout and "edited" not in out.stdout


# ---- a misbehaving upstream -----------------------------------------------------------------------
class FaultyUpstream:
    """A TLS server answering every request with an SSE stream of 32 events; the ``x-fault``
    request header says how it ends: ``reset`` (chunked, a TCP RST after 3 events), ``cut``
    (close-delimited, a clean close after 5: no terminal event), ``slow`` (the whole stream, an
    event every 0.2 s) or ``none`` (the whole stream and ``[DONE]``)."""

    def __init__(self, pki):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pki.cert_file, pki.key_file)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(raw,), daemon=True).start()

    def _answer(self, raw: socket.socket):
        try:
            conn = self.ctx.wrap_socket(raw, server_side=True)
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(65536)
            headers, _, body = head.partition(b"\r\n\r\n")
            length = int(next((h.split(b":")[1] for h in headers.split(b"\r\n") if h.lower().startswith(b"content-length")), b"0"))
            while len(body) < length:
                body += conn.recv(65536)
            fault = next((h.split(b":")[1].strip().decode() for h in headers.split(b"\r\n") if h.lower().startswith(b"x-fault")), "none")
            chunked = fault == "reset"
            framing = b"transfer-encoding: chunked" if chunked else b"connection: close"
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n" + framing + b"\r\n\r\n")
            count = {"reset": 3, "cut": 5}.get(fault, 32)
            for i in range(count):
                event = {"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": f"part {i} "}}]}
                data = f"data: {json.dumps(event)}\n\n".encode()
                conn.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)
                time.sleep(0.2 if fault == "slow" else 0.01)
            if fault == "reset":
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                raw.close()  # with SO_LINGER 0: an RST, no TLS close
                return
            if fault in ("none", "slow"):
                conn.sendall(b"data: [DONE]\n\n")
            conn.close()
        except OSError:
            pass

    def close(self):
        self.sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_upstream_failures_are_audited_as_errors(tmp_path, pki):
    faulty, dead = FaultyUpstream(pki), free_port()  # nothing listens on dead: connections are refused
    dead_endpoint = f"endpoints:\n  - id: test-dead\n    hosts: ['127.0.0.1']\n    ports: [{dead}]\n    protocol: openai\n"
    proxy = start_proxy(tmp_path, pki, faulty.port, files={"zz-dead.yaml": dead_endpoint})
    url = f"https://127.0.0.1:{faulty.port}/v1/chat/completions"
    try:
        with client(proxy) as c:
            for fault in ("none", "cut", "reset"):
                try:
                    with c.stream("POST", url, json=chat(f"fault {fault} {token(1)}", stream=True), headers={"x-fault": fault}) as r:
                        r.read()
                except httpx.HTTPError:
                    assert fault == "reset"
            with pytest.raises(httpx.ProxyError):
                c.post(f"https://127.0.0.1:{dead}/v1/chat/completions", json=chat("to nowhere"))
        with client(proxy) as c, c.stream("POST", url, json=chat("going away", stream=True), headers={"x-fault": "slow"}) as r:
            next(r.iter_bytes())  # the first event, then the client hangs up
        wait_for(
            lambda: len(records(proxy.audit)) == 4 and records(proxy.audit, "upstream_unreachable"), "four records and the refused upstream"
        )
        complete, cut, reset, gone = records(proxy.audit)
        unreachable = records(proxy.audit, "upstream_unreachable")[0]
        anomalies = metric(proxy, 'llm_dlp_stream_anomalies_total{endpoint="test-openai",kind="stream_incomplete"}')
        disconnects = metric(proxy, 'llm_dlp_client_disconnects_total{endpoint="test-openai"}')
        upstream_errors = {e: metric(proxy, f'llm_dlp_upstream_errors_total{{endpoint="{e}"}}') for e in ("test-openai", "test-dead")}
    finally:
        stop_proxy(proxy)
        faulty.close()
    assert (complete["status"], complete["upstream_error"], complete["stream_incomplete"]) == (200, None, False)
    assert (cut["status"], cut["upstream_error"], cut["stream_incomplete"]) == (200, None, True)
    assert reset["status"] == 200 and reset["upstream_error"] and reset["stream_incomplete"] and not reset["client_disconnected"]
    assert all(r["decision"] == "redact" for r in (complete, cut, reset))
    assert unreachable["endpoint"] == "test-dead" and unreachable["port"] == dead and unreachable["error"]
    assert gone["client_disconnected"] and gone["upstream_error"] is None and not gone["stream_incomplete"]
    assert anomalies == 2 and upstream_errors == {"test-openai": 1, "test-dead": 1} and disconnects == 1
    assert token(1) not in proxy.audit.read_text()


# ---- rules that can't be emptied ------------------------------------------------------------------
def test_an_empty_secrets_file_written_while_running_keeps_the_old_rules(tmp_path, pki, upstream):
    proxy = start_proxy(tmp_path, pki, upstream.port, ["--set", "llm_dlp_reload_seconds=1"])
    secrets = proxy.rules / "secrets.yaml"
    original = secrets.read_bytes()
    url = f"{upstream.url}/v1/chat/completions"
    try:
        rules_before = metric(proxy, "llm_dlp_rules_loaded")
        secrets.write_bytes(b"")  # an editor's truncate-then-write, caught half-way
        wait_for(lambda: metric(proxy, 'llm_dlp_rule_reloads_total{result="failure"}') == 1, "a failed reload")
        with client(proxy) as c:
            c.post(url, json=chat(f"my token {token(7)}"))
        assert token(7) not in upstream.last().body.decode() and "[REDACTED:github-token:" in upstream.last().body.decode()
        assert metric(proxy, "llm_dlp_rules_loaded") == rules_before
        (failed,) = records(proxy.audit, "reload_failed")
        assert any("secrets.yaml" in e and "the file is empty" in e for e in failed["errors"])
        secrets.write_bytes(b"secrets: []\n")  # zero secret rules: refused the same way
        wait_for(lambda: metric(proxy, 'llm_dlp_rule_reloads_total{result="failure"}') == 2, "a second failed reload")
        secrets.write_bytes(original + b"\n# restored\n")
        wait_for(lambda: metric(proxy, 'llm_dlp_rule_reloads_total{result="success"}') == 1, "the restored file reloaded")
    finally:
        stop_proxy(proxy)
