"""The addon in-process, configured as the proxy would be, and flows to an AI endpoint."""

from __future__ import annotations

from mitmproxy.test import tflow

from llm_dlp.rules.files import bundled_rules_dir


def configured(tctx, addon, tmp_path, rules=None):
    tctx.configure(
        addon,
        llm_dlp_rules=str(rules or bundled_rules_dir()),
        llm_dlp_audit_log=str(tmp_path / "a.jsonl"),
        llm_dlp_metrics_listen="",
        confdir=str(tmp_path),
        llm_dlp_reload_seconds=0,
    )


def openai_flow(content: bytes):
    f = tflow.tflow()
    f.request.host, f.request.port, f.request.scheme = "api.openai.com", 443, "https"
    f.request.path, f.request.method = "/v1/chat/completions", "POST"
    f.request.headers["content-type"] = "application/json"
    f.request.content = content
    return f
