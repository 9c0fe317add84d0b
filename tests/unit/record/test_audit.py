"""The audit trail: schema of every record, tamper evidence, rotation without loss."""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

from llm_dlp.act.placeholders import Keyring
from llm_dlp.record.audit import AuditLog, verify

LLM_DLP = str(Path(sys.executable).parent / "llm-dlp")
KEY = "test-placeholder-key-0123456789"  # conftest.start_proxy's key
CHAIN_KEY = Keyring(KEY.encode()).chain_key
SCHEMA = json.loads(resources.files("llm_dlp").joinpath("schemas/audit.schema.json").read_text())


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_rotation_loses_and_splits_nothing(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(str(path), CHAIN_KEY, max_bytes=2000)
    for i in range(60):
        log.write("request", n=i, padding="x" * 50)
    log.close()
    files = sorted(tmp_path.glob("audit.jsonl.*")) + [path]
    assert len(files) > 3
    count, problems = verify([str(f) for f in files], CHAIN_KEY)
    assert problems == []
    numbers = [r["n"] for f in files for r in map(json.loads, lines(f)) if r["event"] == "request"]
    assert numbers == list(range(60))
    # a record deleted from the end of a rotated file shows in the next file's link
    first = lines(files[0])
    files[0].write_bytes(b"".join(first[:-1]))
    _, problems = verify([str(f) for f in files], CHAIN_KEY)
    assert problems and "does not continue the file before it" in problems[0].message


def test_restart_continues_the_chain(tmp_path):
    path = tmp_path / "audit.jsonl"
    for run in range(2):
        log = AuditLog(str(path), CHAIN_KEY)
        log.write("start")
        log.write("stop")
        log.close()
    assert verify([str(path)], CHAIN_KEY) == (4, [])
