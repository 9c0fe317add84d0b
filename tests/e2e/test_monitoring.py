"""The monitoring kit: alert rules pass promtool, a real Prometheus scrapes a running proxy,
and every dashboard expression names a metric the proxy exports."""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import time
import urllib.parse
import urllib.request

import httpx
import pytest

from support.proxy import ROOT, start_proxy, stop_proxy

MONITORING = ROOT / "deploy" / "monitoring"


def test_alert_rules_check_and_unit_tests():
    check = subprocess.run(["promtool", "check", "rules", "alerts.yml"], cwd=MONITORING, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run(["promtool", "test", "rules", "alerts.test.yml"], cwd=MONITORING, capture_output=True, text=True)
    assert test.returncode == 0 and "SUCCESS" in test.stdout, test.stdout + test.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scraped(tmp_path_factory, pki, upstream):
    """A proxy that served some requests, and a Prometheus scraping it every second."""
    tmp = tmp_path_factory.mktemp("prom")
    proxy = start_proxy(tmp, pki, upstream.port)
    with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=20) as c:
        for i in range(3):
            c.post(f"{upstream.url}/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": f"hello {i}"}]})
    config = tmp / "prometheus.yml"
    config.write_text(
        f"global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: llm-dlp\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{proxy.metrics_port}']}}]\n"
    )
    port = free_port()
    prom = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield proxy, port
    prom.terminate()
    prom.wait(timeout=20)
    stop_proxy(proxy)


def query(port: int, expr: str) -> list:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    return json.loads(urllib.request.urlopen(url, timeout=5).read())["data"]["result"]


def test_prometheus_scrapes_the_requests_we_sent(scraped):
    proxy, port = scraped
    deadline = time.time() + 60
    result = []
    while time.time() < deadline:
        try:
            result = query(port, 'llm_dlp_requests_total{endpoint="test-openai", decision="allow"}')
        except OSError:
            result = []
        if result and float(result[0]["value"][1]) >= 3:
            break
        time.sleep(0.5)
    assert result and float(result[0]["value"][1]) >= 3
    assert query(port, 'up{job="llm-dlp"}')[0]["value"][1] == "1"


def dashboard_metrics() -> set[str]:
    dash = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    rules = (MONITORING / "alerts.yml").read_text()
    return set(re.findall(r"\bllm_dlp_[a-z_]+", "\n".join(exprs) + rules))


def test_dashboard_and_alerts_use_only_exported_metrics(scraped):
    proxy, _ = scraped
    page = proxy.metrics()
    exported = set(re.findall(r"^# TYPE (llm_dlp_\w+) (\w+)", page, re.MULTILINE))
    names = set()
    for name, kind in exported:
        names |= (
            {name, name + "_total"}
            if kind == "counter"
            else {name, name + "_bucket", name + "_sum", name + "_count"}
            if kind == "histogram"
            else {name}
        )
    missing = sorted(m for m in dashboard_metrics() if m not in names)
    assert not missing, f"not exported by the proxy: {missing}"
    assert len(dashboard_metrics()) >= 12
