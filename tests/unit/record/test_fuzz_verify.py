"""Fuzzing the audit verifier and the checkpoint reader: any bytes, any JSON lines, any edit of a
real trail gives a verdict (never an exception), and an edited trail never verifies."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_dlp.act.placeholders import Keyring
from llm_dlp.record.audit import AuditLog, verify
from llm_dlp.record.checkpoints import verify_checkpoints

CHAIN_KEY = Keyring(b"fuzz-placeholder-key-0123456789").chain_key
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["seq", "mac", "prev", "event", "key_id", "sig", "trail", "head", "x"]), inner, max_size=5)
    ),
    max_leaves=10,
)
LINES = st.lists(st.binary(max_size=80) | JSON.map(lambda d: json.dumps(d).encode()), max_size=8).map(b"\n".join)


@FUZZ
@given(trail=LINES, checkpoints=LINES)
def test_arbitrary_lines_get_a_verdict(tmp_path, trail, checkpoints):
    (tmp_path / "a.jsonl").write_bytes(trail)
    (tmp_path / "c.jsonl").write_bytes(checkpoints)
    count, problems = verify([str(tmp_path / "a.jsonl")], CHAIN_KEY)
    assert count >= 0 and all(p.message for p in problems)
    assert all(p.message for p in verify_checkpoints([str(tmp_path / "a.jsonl")], str(tmp_path / "c.jsonl"), CHAIN_KEY))


@FUZZ
@given(position=st.integers(0, 10_000), byte=st.integers(0, 255))
def test_any_changed_byte_of_a_real_trail_is_found(tmp_path, position, byte):
    path = tmp_path / "trail.jsonl"
    path.unlink(missing_ok=True)
    log = AuditLog(str(path), CHAIN_KEY)
    for i in range(4):
        log.write("request", n=i, user="alice")
    log.close()
    original = path.read_bytes()
    data = bytearray(original)
    position %= len(data)
    data[position] = byte
    if _records(bytes(data)) == _records(original):
        return  # the same records (a space turned into a tab, say): nothing was changed
    path.write_bytes(bytes(data))
    _, problems = verify([str(path)], CHAIN_KEY)
    assert problems


def _records(trail: bytes) -> list | None:
    """What the trail says, as parsed JSON records, its lines cut at newlines as the verifier cuts
    them (a carriage return inside a line is JSON whitespace); None when a line is not a record."""
    try:
        return [json.loads(line) for line in trail.split(b"\n") if line]
    except ValueError:
        return None
