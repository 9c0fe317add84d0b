"""Signed checkpoints of the audit chain's head: the end of a trail can no longer be cut off unseen."""

from __future__ import annotations

import json
from pathlib import Path

from llm_dlp.act.placeholders import Keyring
from llm_dlp.record.audit import AuditLog
from llm_dlp.record.checkpoints import Witness, file_sink, head_number, read_checkpoints, verify_checkpoints, verify_head
from llm_dlp.record.metrics import Metrics

CHAIN_KEY = Keyring(b"test-placeholder-key-0123456789").chain_key


def witnessed_trail(tmp_path: Path, records: int, every: int) -> tuple[Path, Path, Metrics]:
    trail, checkpoints = tmp_path / "audit.jsonl", tmp_path / "witness" / "checkpoints.jsonl"
    metrics = Metrics()
    witness = Witness(CHAIN_KEY, every_records=every, every_seconds=0, sinks=[file_sink(str(checkpoints)), metrics.witnessed])
    log = AuditLog(str(trail), CHAIN_KEY, witness=witness)
    for i in range(records):
        log.write("request", n=i)
    log.close()
    return trail, checkpoints, metrics


def test_checkpoints_every_n_records_signed_and_in_metrics(tmp_path):
    trail, checkpoints, metrics = witnessed_trail(tmp_path, 12, every=5)
    good, bad = read_checkpoints(str(checkpoints), CHAIN_KEY)
    assert bad == [] and [c.seq for c in good] == [4, 9]
    last = json.loads(trail.read_text().splitlines()[9])
    assert good[-1].head == last["mac"] and good[-1].trail == json.loads(trail.read_text().splitlines()[0])["mac"]
    assert metrics.registry.get_sample_value("llm_dlp_audit_checkpoint_seq") == 9
    assert metrics.registry.get_sample_value("llm_dlp_audit_checkpoint_head") == head_number(last["mac"])
    assert verify_checkpoints([str(trail)], str(checkpoints), CHAIN_KEY) == []


def test_records_cut_off_after_the_witnessed_head_are_reported(tmp_path):
    trail, checkpoints, _ = witnessed_trail(tmp_path, 12, every=5)
    trail.write_bytes(b"".join(trail.read_bytes().splitlines(keepends=True)[:7]))  # the chain alone still verifies
    (problem,) = verify_checkpoints([str(trail)], str(checkpoints), CHAIN_KEY)
    assert "records seq 7..9 are missing after the last witnessed head" in problem.message


def test_a_deleted_live_file_and_a_forged_checkpoint_are_reported(tmp_path):
    trail, checkpoints, _ = witnessed_trail(tmp_path, 6, every=5)
    other = tmp_path / "other.jsonl"
    AuditLog(str(other), CHAIN_KEY).write("start")  # a fresh trail in place of the witnessed one
    forged = json.loads(checkpoints.read_text())
    forged["seq"] = 1
    with checkpoints.open("a") as f:
        f.write(json.dumps(forged) + "\n")
    problems = verify_checkpoints([str(other)], str(checkpoints), CHAIN_KEY)
    assert [p.line for p in problems] == [2, 1]
    assert "not a checkpoint signed with this deployment's key" in problems[0].message
    assert "not among the files given: it was deleted or replaced" in problems[1].message
    assert verify_checkpoints([str(trail)], str(checkpoints), Keyring(b"another-key-0123456789").chain_key)[0].line == 1


def test_a_head_witnessed_by_prometheus(tmp_path):
    trail, _, metrics = witnessed_trail(tmp_path, 12, every=5)
    seq, head = (metrics.registry.get_sample_value(f"llm_dlp_audit_checkpoint_{n}") for n in ("seq", "head"))
    witnessed = f"{seq}:{head}"
    assert verify_head(str(trail), witnessed) == []
    trail.write_bytes(b"".join(trail.read_bytes().splitlines(keepends=True)[:5]))
    assert "records seq 5..9 are missing" in verify_head(str(trail), witnessed)[0].message


def test_a_failing_sink_does_not_stop_the_others(tmp_path):
    seen = []

    def broken(_checkpoint):
        raise OSError("disk full")

    witness = Witness(CHAIN_KEY, every_records=1, sinks=[broken, seen.append])
    AuditLog(str(tmp_path / "a.jsonl"), CHAIN_KEY, witness=witness).write("start")
    assert witness.failures == 1 and len(seen) == 1
    assert witness.checkpoint()["seq"] == 0 and Witness(CHAIN_KEY).checkpoint() is None
