"""Fuzzing, bounded in time, over every registered protocol: any text in a realistic request of
each API (with a generated secret beside it) is inspected without a crash, the rewritten body is
still valid for the API and keeps its structure, and the secret leaves in nothing; any chunking of
a streamed answer in each protocol's framing comes out whole, restored and redacted; any WebSocket
client message is inspected or refused, never passed unread."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_dlp.act.placeholders import Keyring
from llm_dlp.act.restore import Restorer
from llm_dlp.inspect.output import OutputInspector
from llm_dlp.inspect.request import inspect_request
from llm_dlp.inspect.stream import StreamRewriter
from llm_dlp.inspect.websocket import GEMINI_LIVE, REALTIME, RESPONSES, inspect_client_message
from llm_dlp.protocols.base import STRUCTURE_KEYS, is_structure, string_leaves
from llm_dlp.protocols.registry import REGISTRY
from llm_dlp.protocols.strictjson import BodyError
from support.api_types import validate
from support.protocol_samples import SAMPLES
from support.rules import bundled
from support.secretgen import Gen, provider_tokens

KEYRING = Keyring(b"f" * 32)
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)
SEEDS = st.integers(0, 2**32)


def token(seed: int) -> str:
    return dict(provider_tokens(Gen(random.Random(seed))))["github-pat"]


def encoded(doc) -> bytes:
    return doc if isinstance(doc, bytes) else json.dumps(doc).encode()


@pytest.mark.parametrize("name", REGISTRY.names())
@FUZZ
@given(text=TEXT, seed=SEEDS)
def test_any_text_in_any_protocols_request(name, text, seed):
    protocol, sample, secret = REGISTRY.get(name), SAMPLES[name], token(seed)
    original = sample.request(f"{text} {secret} {text}")
    ins = inspect_request(encoded(original), protocol.family, sample.path, bundled().detector, KEYRING)
    assert ins.decision in ("redact", "block")
    assert secret not in json.dumps([f.to_dict() for f in ins.findings])
    if ins.decision == "block" or isinstance(original, bytes):
        return
    assert secret not in ins.body.decode()
    rewritten = json.loads(ins.body)
    validate(name, rewritten)
    before, after = dict(string_leaves(original)), dict(string_leaves(rewritten))
    assert before.keys() == after.keys()
    assert all(before[p] == after[p] for p in before if is_structure(p, STRUCTURE_KEYS))


@pytest.mark.parametrize("name", REGISTRY.names())
@FUZZ
@given(words=st.lists(TEXT, min_size=1, max_size=5), seed=SEEDS, cuts=st.lists(st.integers(1, 64), min_size=1, max_size=40))
def test_any_chunking_of_any_protocols_stream(name, words, seed, cuts):
    protocol, sample, secret, emitted = REGISTRY.get(name), SAMPLES[name], token(seed), token(seed + 1)
    placeholder = KEYRING.placeholder("github-token", secret)
    fragments = [*words, " " + placeholder[:12], placeholder[12:] + " ", f" {emitted} "]
    ctype, stream = sample.stream(fragments)
    out = OutputInspector(bundled().detector, KEYRING, Restorer({placeholder: secret}))
    rewriter = StreamRewriter(
        protocol.framing(ctype, sample.path), protocol.deltas, out.process, on_channel_end=out.end_channel, snapshot=out.snapshot
    )
    chunks, pos = [], 0
    for size in cuts * (len(stream) // sum(cuts) + 1):
        if pos >= len(stream):
            break
        chunks.append(stream[pos : pos + size])
        pos += size
    sent = sample.read(b"".join(rewriter(c) for c in [*chunks, b""]))
    assert secret in sent and emitted not in sent


APIS = [(RESPONSES, "/v1/responses"), (REALTIME, "/v1/realtime"), (GEMINI_LIVE, "/ws/x.BidiGenerateContent")]
SCALARS = st.none() | st.booleans() | st.integers() | TEXT
EVENTS = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=10)


def pipeline(raw, protocol, path):
    return inspect_request(raw, protocol, path, bundled().detector, KEYRING)


@pytest.mark.parametrize("api, path", APIS, ids=["responses", "realtime", "gemini-live"])
@FUZZ
@given(event=EVENTS, seed=SEEDS, binary=st.booleans(), garbage=st.binary(max_size=40))
def test_any_websocket_client_message_is_inspected_or_refused(api, path, event, seed, binary, garbage):
    secret = token(seed)
    doc = {
        "type": "response.create",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": secret}]}],
        "extra": event,
    }
    for content, is_text in ((json.dumps(doc).encode(), not binary), (garbage, True)):
        try:
            out = inspect_client_message(api, content, is_text, path, pipeline)
        except BodyError:
            continue  # refused by the strict parser, as over HTTP
        assert out.forward is None or secret not in out.forward.decode("utf-8", "replace")
        assert out.forward is not None or out.reply is not None or out.close_reason is not None
