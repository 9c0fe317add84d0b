"""The addon in-process with mitmproxy's test helpers: fail closed, reload, mitmdump -s."""

import subprocess
import sys
import time
from pathlib import Path

from mitmproxy.test import taddons

from llm_dlp.proxy.addon import LlmDlp
from support.addon import configured, openai_flow
from support.hooks import hook
from support.proxy import ROOT


async def test_inspection_crash_blocks_request(tmp_path, monkeypatch):
    addon = LlmDlp()
    with taddons.context(addon) as tctx:
        configured(tctx, addon, tmp_path)
        import llm_dlp.proxy.inspect as mod

        def boom(*a, **k):
            raise RuntimeError("secret-looking text ghp_must_not_leak")

        monkeypatch.setattr(mod, "inspect_request", boom)
        f = openai_flow(b'{"messages": []}')
        await hook(tctx, "requestheaders", f)
        await hook(tctx, "request", f)
        assert f.response.status_code == 500
        assert b"could not inspect" in f.response.content and b"ghp_must_not_leak" not in f.response.content
        assert f.metadata["llm_dlp"].decision == "error"


def test_loads_into_stock_mitmdump(tmp_path):
    mitmdump = Path(sys.executable).parent / "mitmdump"
    proc = subprocess.Popen(
        [
            str(mitmdump),
            "-s",
            str(ROOT / "addons" / "mitmdump_entry.py"),
            "--listen-port",
            "0",
            "--set",
            f"confdir={tmp_path}",
            "--set",
            f"llm_dlp_audit_log={tmp_path / 'a.jsonl'}",
            "--set",
            "llm_dlp_metrics_listen=",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.time() + 60
        audit = tmp_path / "a.jsonl"
        while time.time() < deadline and not (audit.exists() and '"event": "start"' in audit.read_text()):
            time.sleep(0.2)
        assert '"event": "start"' in (tmp_path / "a.jsonl").read_text()
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert "Addon error" not in out and "Traceback" not in out
