"""The audit trail: schema of every record, tamper evidence, rotation without loss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_dlp.act.placeholders import Keyring
from llm_dlp.record.audit import AuditLog, key_id, verify

KEY = "test-placeholder-key-0123456789"  # conftest.start_proxy's key
CHAIN_KEY = Keyring(KEY.encode()).chain_key


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
    assert [json.loads(line).get("key_id") for line in lines(path)] == [key_id(CHAIN_KEY), None, None, None]


def _fill_disk(log: AuditLog, path: Path) -> Path:
    """Point the trail's path at /dev/full (every write: ENOSPC); return where the file went."""
    log.close()  # the next write opens the path again
    saved = path.with_suffix(".saved")
    path.rename(saved)
    path.symlink_to("/dev/full")
    return saved


def test_a_record_that_cannot_be_written_leaves_a_gap_verify_reports(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(str(path), CHAIN_KEY, retry_seconds=0)
    for i in range(3):
        log.write("request", n=i)
    saved = _fill_disk(log, path)
    for i in range(3, 5):
        with pytest.raises(OSError):
            log.write("request", n=i)
    assert not log.healthy and not log.admit()  # refused while the sink fails (the retry failed too)
    path.unlink()
    saved.rename(path)
    assert log.admit() and log.healthy  # the retry wrote an audit_resumed record
    log.write("request", n=9)
    log.close()
    records = [json.loads(line) for line in lines(path)]
    assert [(r["seq"], r["event"]) for r in records] == [
        (0, "request"),
        (1, "request"),
        (2, "request"),
        (6, "audit_resumed"),
        (7, "request"),
    ]
    assert records[3]["lost_records"] == 3  # two requests and the failed retry
    count, problems = verify([str(path)], CHAIN_KEY)
    assert count == 5 and [p.message for p in problems] == ["records seq 3..5 were never written (the proxy could not write them)"]


def test_allow_admits_requests_while_the_sink_fails(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(str(path), CHAIN_KEY, on_failure="allow", retry_seconds=3600)
    log.write("start")
    _fill_disk(log, path)
    with pytest.raises(OSError):
        log.write("request")
    assert not log.healthy and log.admit()
    with pytest.raises(ValueError):
        AuditLog(str(tmp_path / "x"), CHAIN_KEY, on_failure="ignore")


def test_a_deleted_record_is_still_tampering(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(str(path), CHAIN_KEY)
    for i in range(4):
        log.write("request", n=i)
    log.close()
    recs = lines(path)
    path.write_bytes(b"".join(recs[:2] + recs[3:]))
    _, problems = verify([str(path)], CHAIN_KEY)
    assert [p.message for p in problems] == ["expected seq 2, found 3: records were deleted"]


def test_the_first_record_names_the_key_and_verify_says_wrong_key(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(str(path), CHAIN_KEY, max_bytes=300)
    for i in range(4):
        log.write("request", n=i, padding="x" * 100)
    log.close()
    files = sorted(tmp_path.glob("audit.jsonl.*")) + [path]
    firsts = [json.loads(lines(f)[0]) for f in files]
    assert len(files) > 1 and all(r["seq"] == 0 and r["key_id"] == key_id(CHAIN_KEY) for r in firsts)
    assert all("key_id" not in json.loads(line) for line in lines(path)[1:])
    other = Keyring(b"another-placeholder-key-98765").chain_key
    _, problems = verify([str(path)], other)
    assert len(problems) == 1 and problems[0].message.startswith(f"wrong key: this trail was written with key id {key_id(CHAIN_KEY)}")
    assert "edited" not in problems[0].message
