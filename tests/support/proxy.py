"""Starting the real proxy (``llm-dlp run``) in a subprocess for end-to-end tests."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from support.pki import PKI

ROOT = Path(__file__).resolve().parent.parent.parent
LLM_DLP = Path(sys.executable).parent / "llm-dlp"


def wait_for(check, what: str, timeout: float = 30):
    """Poll ``check`` until it returns something true, and return that."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# ---- the proxy ----------------------------------------------------------------------------------
@dataclass
class Proxy:
    port: int
    metrics_port: int
    confdir: Path
    rules: Path
    audit: Path
    log: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ca(self) -> Path:
        return self.confdir / "mitmproxy-ca-cert.pem"

    def records(self, event: str = "request") -> list[dict]:
        # a record is whole once its newline is written; the proxy may be writing the last one
        text = self.audit.read_text() if self.audit.exists() else ""
        lines = text.split("\n")[:-1]
        return [r for r in map(json.loads, lines) if r["event"] == event]

    def wait_for_record(self, request_count: int, timeout: float = 10) -> dict:
        return wait_for(lambda: self.records()[request_count - 1 : request_count], f"audit record #{request_count}", timeout)[0]

    def metrics(self) -> str:
        return urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()


TEST_RULES = """
version: 1
endpoints:
  - id: test-openai
    hosts: ["127.0.0.1"]
    ports: [{port}]
    path_prefixes: [/v1/chat, /v1/responses, /v1/completions, /v1/engines]
    protocol: openai
  - id: test-anthropic
    hosts: ["127.0.0.1"]
    ports: [{port}]
    path_prefixes: [/v1/messages]
    protocol: anthropic
  - id: test-gemini
    hosts: ["127.0.0.1"]
    ports: [{port}]
    path_prefixes: [/v1beta/]
    protocol: gemini
secrets:
  - id: test-block-marker
    description: A marker that tests use to trigger a block.
    kind: test
    action: block
    patterns: ['BLOCKME-[0-9a-f]{{16}}']
  - id: test-warn-marker
    description: A marker that tests use to trigger a warning.
    kind: test
    action: warn
    patterns: ['WARNME-[0-9a-f]{{16}}']
"""


def start_proxy(tmp: Path, pki: PKI, upstream_port: int, extra_args=(), files: dict[str, str | bytes] | None = None, wrap=()) -> Proxy:
    """``files``: more files for the rules directory (a policy, an htpasswd file...); a file
    named like a bundled one replaces it. ``wrap``: a command the proxy runs under (it must
    exec its arguments), e.g. to give it its own mount namespace."""
    rules = tmp / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "zz-test.yaml").write_text(TEST_RULES.format(port=upstream_port))
    for name, content in (files or {}).items():
        (rules / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    log = tmp / "proxy.log"
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy", "http_proxy", "all_proxy", "no_proxy")}
    env["LLM_DLP_PLACEHOLDER_KEY"] = "test-placeholder-key-0123456789"
    cmd = [
        *wrap,
        str(LLM_DLP),
        "run",
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
        "--rules",
        str(rules),
        "--audit-log",
        str(tmp / "audit.jsonl"),
        "--confdir",
        str(tmp / "conf"),
        "--upstream-ca",
        str(pki.ca_file),
        *extra_args,
    ]
    proc = subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        text = log.read_text(errors="replace")
        port = re.search(r"proxy listening at .*?:(\d+)", text)
        metrics = re.search(r"metrics at http://[^:]+:(\d+)/metrics", text)
        if port and metrics and (tmp / "conf" / "mitmproxy-ca-cert.pem").exists():
            return Proxy(int(port.group(1)), int(metrics.group(1)), tmp / "conf", rules, tmp / "audit.jsonl", log, proc)
        if proc.poll() is not None:
            raise RuntimeError(f"llm-dlp run exited:\n{text}")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"llm-dlp run did not start:\n{log.read_text()}")


def stop_proxy(proxy: Proxy) -> None:
    proxy.process.terminate()
    try:
        proxy.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proxy.process.kill()
