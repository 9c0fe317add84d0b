"""Lineage: code a model generated through the proxy is found in a working tree afterwards,
re-indented, with the right provenance; echoed and unrelated code is not attributed."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx

from support.proxy import start_proxy, stop_proxy

LLM_DLP = str(Path(sys.executable).parent / "llm-dlp")
KEY = "test-placeholder-key-0123456789"

CODE = """def settle_invoice(invoice, ledger):
    total = sum(line.amount * line.quantity for line in invoice.lines)
    ledger.post(invoice.customer_id, total, memo=f"invoice {invoice.number}")
    invoice.mark_settled(total)
    return total
"""


def test_generated_code_found_in_a_working_tree(tmp_path, pki, upstream):
    (tmp_path / "p").mkdir()
    proxy = start_proxy(tmp_path / "p", pki, upstream.port)
    try:
        fence = f"```python\n{CODE}```"
        with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=20) as c:
            # the request holds the code reversed; the fake model writes it out: generated, not echoed
            c.post(
                f"{upstream.url}/v1/chat/completions",
                json={"model": "gpt-test", "messages": [{"role": "user", "content": "REVERSE:" + fence[::-1]}]},
            )
            c.post(
                f"{upstream.url}/v1/chat/completions",
                json={"model": "gpt-test", "messages": [{"role": "user", "content": "echo this:\n" + fence}]},
            )
        proxy.wait_for_record(2)
    finally:
        stop_proxy(proxy)
    records = [json.loads(line) for line in proxy.audit.read_text().splitlines()]
    requests = [r for r in records if r["event"] == "request"]
    assert len(requests[0]["generated"][0]["lines"]) == 5 and requests[1]["generated"] == []  # echo is not generation
    tree = tmp_path / "repo"
    (tree / "billing").mkdir(parents=True)
    (tree / "billing" / "settle.py").write_text("import logging\n\nclass Ledger:\n" + textwrap.indent(CODE, "    ") + "\n")
    (tree / "other.py").write_text("def unrelated():\n    return sum(x for x in range(10))\n")
    env = {"LLM_DLP_PLACEHOLDER_KEY": KEY, "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [LLM_DLP, "lineage", "scan", str(tree), "--audit", str(proxy.audit), "--json"], capture_output=True, text=True, env=env, timeout=60
    )
    matches = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(Path(m["file"]).name, m["start"], m["end"], m["model"], m["tool"]) for m in matches] == [
        ("settle.py", 4, 8, "gpt-test", "python-httpx")
    ]
    trailers = subprocess.run(
        [LLM_DLP, "lineage", "scan", str(tree), "--audit", str(proxy.audit), "--trailers"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert trailers.stdout.startswith("AI-Assisted: gpt-test via python-httpx (test-openai); ")
