"""Placeholder restoration over a byte stream split at every possible point."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from llm_dlp.placeholders import Keyring
from llm_dlp.restore import Restorer, StreamRestorer

KEYRING = Keyring(b"k" * 32)
SECRET = 'ghp_Secret"With\\Quote'
PH = KEYRING.placeholder("github-token", SECRET)
STREAM = (f'data: {{"delta": "é before {PH} mid"}}\r\n\r\n' f'data: {{"delta": "[REDACTED:other:0123456789] [REDACT"}}\n\n' f"data: {{\"delta\": \"{PH}\"}}\n\n").encode()


def run(chunks, mapping=None):
    r = StreamRestorer(Restorer(mapping if mapping is not None else {PH: SECRET}, json_escape=True))
    return b"".join(r(c) for c in chunks) + r(b"")


def expected():
    return STREAM.replace(PH.encode(), json.dumps(SECRET)[1:-1].encode())


def test_every_single_split_point():
    for i in range(len(STREAM) + 1):
        assert run([STREAM[:i], STREAM[i:]]) == expected(), i


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_chunking(cuts):
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)])]
    assert run(chunks) == expected()


def test_holds_back_only_a_possible_placeholder_prefix():
    r = StreamRestorer(Restorer({PH: SECRET}, json_escape=False))
    assert r(b"abc [REDAC") == b"abc "
    assert r(b"X] done [not") == b"[REDACX] done [not"
    assert r(b"") == b""


def test_unknown_and_mangled_placeholders_pass_unchanged():
    text = b"[REDACTED:github-token:0000000000] [REDACTED:github-token:abc]"
    assert run([text]) == text


def test_placeholders_are_stable_and_keyed():
    assert KEYRING.placeholder("r", "v") == Keyring(b"k" * 32).placeholder("r", "v")
    assert KEYRING.placeholder("r", "v") != Keyring(b"j" * 32).placeholder("r", "v")
    assert KEYRING.placeholder("r", "v") != KEYRING.placeholder("s", "v")
