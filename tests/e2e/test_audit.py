"""The audit trail: schema of every record, tamper evidence, rotation without loss."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import httpx
import jsonschema
import pytest

from support.proxy import start_proxy, stop_proxy

LLM_DLP = str(Path(sys.executable).parent / "llm-dlp")
KEY = "test-placeholder-key-0123456789"  # conftest.start_proxy's key
SCHEMA = json.loads(resources.files("llm_dlp").joinpath("schemas/audit.schema.json").read_text())


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def run_verify(*files: Path):
    return subprocess.run(
        [LLM_DLP, "audit", "verify", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"LLM_DLP_PLACEHOLDER_KEY": KEY, "PATH": "/usr/bin:/bin"},
    )


def test_every_record_matches_the_schema_and_the_chain_verifies(real_audit):
    records = [json.loads(line) for line in lines(real_audit)]
    assert [r["event"] for r in records][0] == "start" and records[-1]["event"] == "stop"
    assert len([r for r in records if r["event"] == "request"]) == 6
    for r in records:
        jsonschema.validate(r, SCHEMA)
    out = run_verify(real_audit)
    assert out.returncode == 0 and f"{len(records)} records verified" in out.stdout


@pytest.mark.parametrize(
    "tamper, expected",
    [
        ("edit", "was edited"),
        ("delete", "were deleted"),
        ("reorder", "reordered"),
        ("truncate", "truncated"),
    ],
)
def test_tampering_is_caught_and_named(real_audit, tmp_path, tamper, expected):
    copy = tmp_path / "audit.jsonl"
    recs = lines(real_audit)
    if tamper == "edit":
        doc = json.loads(recs[3])
        doc["request_bytes"] += 1
        recs[3] = (json.dumps(doc) + "\n").encode()
    elif tamper == "delete":
        del recs[3]
    elif tamper == "reorder":
        recs[3], recs[4] = recs[4], recs[3]
    elif tamper == "truncate":
        recs[-1] = recs[-1][:40]
    copy.write_bytes(b"".join(recs))
    out = run_verify(copy)
    assert out.returncode == 1 and expected in out.stdout
    line = len(recs) if tamper == "truncate" else 4
    assert f"audit.jsonl:{line}:" in out.stdout


def test_incident_store_is_off_by_default_and_redacted_when_on(tmp_path, pki, upstream):
    import os
    import ssl
    import time as _time

    incidents = tmp_path / "incidents"
    incidents.mkdir()
    stale = incidents / "incidents-2000-01-01.jsonl"
    stale.write_text("{}\n")
    os.utime(stale, (_time.time() - 40 * 86400,) * 2)
    (tmp_path / "p").mkdir()
    proxy = start_proxy(
        tmp_path / "p", pki, upstream.port, ["--set", f"llm_dlp_incident_dir={incidents}", "--set", "llm_dlp_incident_retention_days=30"]
    )
    token, marker = "ghp_" + "xY7" * 12, "WARNME-0123456789abcdef"
    try:
        with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=20) as c:
            c.post(
                f"{upstream.url}/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": f"{token} {marker}"}]}
            )
        proxy.wait_for_record(1)
    finally:
        stop_proxy(proxy)
    assert not stale.exists()  # past its retention
    (day_file,) = incidents.glob("incidents-*.jsonl")
    record = json.loads(day_file.read_text())
    text = json.dumps(record)
    assert token not in text and marker not in text  # even the warned value is not kept
    assert "[REDACTED:github-token:" in record["request"] and "[REDACTED:test-warn-marker:" in record["response"]
    assert not list((tmp_path / "p").rglob("incidents-*"))  # nothing where it was not asked for
