"""Operations, through the real proxy process: liveness and readiness endpoints, start-up with
invalid rules, reload on SIGHUP without dropping a stream, and graceful shutdown."""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import threading
import time
import urllib.error
import urllib.request

import httpx
import pytest

from support.proxy import start_proxy, stop_proxy, wait_for
from support.upstream import serve_upstream

pytestmark = pytest.mark.e2e


def probe(proxy, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{proxy.metrics_port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def slow_upstream(pki):
    server, up = serve_upstream(pki)
    up.stream_delay = 0.1
    yield up
    server.shutdown()


def client(proxy) -> httpx.Client:
    return httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=30)


def chat(upstream, text: str, stream: bool = False) -> dict:
    return {"model": "m", "stream": stream, "messages": [{"role": "user", "content": text}]}


class Streamer(threading.Thread):
    """A streamed chat completion read event by event in the background."""

    def __init__(self, proxy, upstream, text: str):
        super().__init__(daemon=True)
        self.proxy, self.upstream, self.text = proxy, upstream, text
        self.events: list[str] = []
        self.error: Exception | None = None
        self.started_streaming = threading.Event()

    def run(self) -> None:
        try:
            with (
                client(self.proxy) as c,
                c.stream("POST", f"{self.upstream.url}/v1/chat/completions", json=chat(self.upstream, self.text, True)) as r,
            ):
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        self.events.append(line[6:])
                        self.started_streaming.set()
        except Exception as exc:
            self.error = exc

    def text_received(self) -> str:
        return "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in self.events if e != "[DONE]")


def test_health_and_readiness(tmp_path, pki, upstream):
    proxy = start_proxy(tmp_path, pki, upstream.port)
    try:
        assert probe(proxy, "/healthz") == (200, "ok\n")
        wait_for(lambda: probe(proxy, "/readyz") == (200, "ready\n"), "readiness")
        assert "llm_dlp_requests" in probe(proxy, "/metrics")[1]
    finally:
        stop_proxy(proxy)


def test_invalid_rules_at_start_up_keep_it_unready_and_closed_until_fixed(tmp_path, pki, upstream):
    broken = "secrets:\n  - id: half-written\n    patterns: ['unclosed\n"
    proxy = start_proxy(tmp_path, pki, upstream.port, ["--wait-for-rules"], files={"broken.yaml": broken})
    try:
        status, body = probe(proxy, "/readyz")
        assert status == 503 and "rules are invalid" in body
        with client(proxy) as c, pytest.raises(httpx.TransportError):
            c.post(f"{upstream.url}/v1/chat/completions", json=chat(upstream, "hello"))  # never forwarded uninspected
        (proxy.rules / "broken.yaml").unlink()
        wait_for(lambda: probe(proxy, "/readyz")[0] == 200, "readiness")
        with client(proxy) as c:
            marker = "BLOCKME-0123456789abcdef"
            assert c.post(f"{upstream.url}/v1/chat/completions", json=chat(upstream, marker)).status_code == 403
            assert c.post(f"{upstream.url}/v1/chat/completions", json=chat(upstream, "hello")).status_code == 200
    finally:
        stop_proxy(proxy)


def test_invalid_rules_at_start_up_stop_the_proxy_by_default(tmp_path, pki, upstream):
    with pytest.raises(RuntimeError, match="llm-dlp rules are invalid"):
        start_proxy(tmp_path, pki, upstream.port, files={"broken.yaml": "secrets: {"})


def test_sighup_reloads_rules_without_dropping_a_stream(tmp_path, pki, slow_upstream):
    proxy = start_proxy(tmp_path, pki, slow_upstream.port, ["--set", "llm_dlp_reload_seconds=0"])
    slow_upstream.hold_end = threading.Event()
    try:
        streamer = Streamer(proxy, slow_upstream, "a long answer, streamed slowly " * 3)
        streamer.start()
        assert streamer.started_streaming.wait(10)
        (proxy.rules / "new.yaml").write_text(
            "secrets:\n  - id: new-marker\n    kind: test\n    action: block\n    patterns: ['NEWRULE-[0-9]{8}']\n"
        )
        proxy.process.send_signal(signal.SIGHUP)
        wait_for(lambda: proxy.records("reload"), "the reload")
        assert streamer.is_alive()  # the reload happened mid-stream
        slow_upstream.hold_end.set()
        streamer.join(30)
        assert streamer.error is None and streamer.text_received() == "You said: " + "a long answer, streamed slowly " * 3
        with client(proxy) as c:
            assert c.post(f"{slow_upstream.url}/v1/chat/completions", json=chat(slow_upstream, "NEWRULE-12345678")).status_code == 403
    finally:
        slow_upstream.hold_end.set()
        slow_upstream.hold_end = None
        stop_proxy(proxy)


def test_sigterm_finishes_streams_in_flight_then_stops(tmp_path, pki, slow_upstream):
    proxy = start_proxy(tmp_path, pki, slow_upstream.port)
    try:
        streamer = Streamer(proxy, slow_upstream, "finish me before you go " * 3)
        streamer.start()
        assert streamer.started_streaming.wait(10)
        proxy.process.send_signal(signal.SIGTERM)
        wait_for(lambda: probe(proxy, "/readyz")[0] == 503, "unreadiness")
        assert "shutting down" in probe(proxy, "/readyz")[1]
        with client(proxy) as c, pytest.raises(httpx.TransportError):
            c.post(f"{slow_upstream.url}/v1/chat/completions", json=chat(slow_upstream, "too late"))
        assert proxy.process.poll() is None  # still serving the stream
        streamer.join(30)
        assert streamer.error is None and streamer.text_received() == "You said: " + "finish me before you go " * 3
        assert proxy.process.wait(timeout=15) == 0
        assert proxy.records("stop") and len(proxy.records()) == 1  # the stream's own audit record was written
    finally:
        stop_proxy(proxy)


def test_sigterm_cuts_streams_off_after_the_grace_period(tmp_path, pki, slow_upstream):
    slow_upstream.stream_delay = 0.5
    proxy = start_proxy(tmp_path, pki, slow_upstream.port, ["--set", "llm_dlp_shutdown_grace_seconds=1"])
    try:
        streamer = Streamer(proxy, slow_upstream, "this answer takes far longer than the grace period " * 2)
        streamer.start()
        assert streamer.started_streaming.wait(10)
        proxy.process.send_signal(signal.SIGTERM)
        assert proxy.process.wait(timeout=15) == 0
        streamer.join(10)
        assert not streamer.is_alive()
        assert len(streamer.text_received()) < len("You said: " + "this answer takes far longer than the grace period " * 2)
    finally:
        stop_proxy(proxy)


def test_a_configmap_style_rules_update_is_reloaded(tmp_path, pki, upstream):
    """Kubernetes mounts a ConfigMap as symlinks into a hidden ..data directory and swaps that
    link atomically on update; the watcher must see the swap and load each file once."""
    proxy = start_proxy(tmp_path, pki, upstream.port, ["--set", "llm_dlp_reload_seconds=1"])
    try:
        wait_for(lambda: probe(proxy, "/readyz")[0] == 200, "readiness")
        rules, layout = proxy.rules, proxy.rules.with_name("rules.configmap")
        first = layout / "..2026_11_23_00_00_00.000000001"
        shutil.copytree(rules, first)
        (layout / "..data").symlink_to(first.name)
        for name in sorted(p.name for p in first.iterdir()):
            (layout / name).symlink_to(f"..data/{name}")
        rules.rename(rules.with_name("rules.before"))
        layout.rename(rules)  # same names and contents: nothing to reload
        time.sleep(2.5)
        failures_before = len(proxy.records("reload_failed"))  # the rename's brief gap may count one
        first = rules / first.name
        second = rules / "..2026_11_23_00_05_00.000000002"
        shutil.copytree(first, second)
        (second / "new.yaml").write_text(
            "secrets:\n  - id: cm-marker\n    kind: test\n    action: block\n    patterns: ['CMRULE-[0-9]{8}']\n"
        )
        (rules / "..data_tmp").symlink_to(second.name)
        os.replace(rules / "..data_tmp", rules / "..data")  # the kubelet's atomic swap
        (rules / "new.yaml").symlink_to("..data/new.yaml")
        wait_for(lambda: any(r.get("rule_count") for r in proxy.records("reload")), "the reload")
        assert len(proxy.records("reload_failed")) == failures_before  # nothing under ..data was loaded twice
        with client(proxy) as c:
            assert c.post(f"{upstream.url}/v1/chat/completions", json=chat(upstream, "CMRULE-12345678")).status_code == 403
    finally:
        stop_proxy(proxy)
