"""Every registered protocol through one contract, so a protocol cannot be half added: its
requests round-trip; redaction changes content only and keeps the body valid for the API (checked
with the providers' SDK types); streamed and whole answers are restored and inspected; its key
is found; its errors parse; the catalog schema knows it."""

from __future__ import annotations

import json
import random

import pytest

from llm_dlp.act.placeholders import Keyring
from llm_dlp.act.restore import Restorer
from llm_dlp.inspect.output import OutputInspector
from llm_dlp.inspect.request import inspect_request
from llm_dlp.inspect.stream import StreamRewriter
from llm_dlp.protocols.base import STRUCTURE_KEYS, is_structure, string_leaves
from llm_dlp.protocols.registry import REGISTRY
from llm_dlp.rules.files import schema
from support.api_types import validate
from support.protocol_samples import SAMPLES
from support.rules import bundled
from support.secretgen import Gen, provider_tokens

KEYRING = Keyring(b"k" * 32)


def secret() -> str:
    return dict(provider_tokens(Gen(random.Random())))["github-pat"]


def body_of(doc) -> bytes:
    return doc if isinstance(doc, bytes) else json.dumps(doc).encode()


@pytest.fixture(params=REGISTRY.names())
def protocol(request):
    return REGISTRY.get(request.param)


def test_every_protocol_has_a_sample_and_is_selected_by_its_family_and_path(protocol):
    sample = SAMPLES[protocol.name]  # a KeyError here: a protocol registered without its sample
    assert sample.family == protocol.family
    assert REGISTRY.select(sample.family, sample.path) is protocol


def test_the_catalog_schema_lists_every_family():
    assert schema()["$defs"]["endpoint"]["properties"]["protocol"]["enum"] == REGISTRY.families()


def test_an_untouched_request_round_trips(protocol):
    sample = SAMPLES[protocol.name]
    parsed = protocol.parse(body_of(sample.request("nothing to see")), sample.path)
    rendered = parsed.render()
    if parsed.is_json:
        assert json.loads(rendered) == sample.request("nothing to see")
        validate(protocol.name, json.loads(rendered))
    else:
        assert rendered == sample.request("nothing to see")


def test_redaction_edits_content_only_and_keeps_the_body_valid(protocol):
    sample, token = SAMPLES[protocol.name], secret()
    original = sample.request(token)
    ins = inspect_request(body_of(original), protocol.family, sample.path, bundled().detector, KEYRING)
    assert ins.decision == "redact" and ins.protocol == protocol.family
    assert token not in ins.body.decode() and token in ins.restore.values()
    if isinstance(original, bytes):
        return
    rewritten = json.loads(ins.body)
    validate(protocol.name, rewritten)
    before, after = dict(string_leaves(original)), dict(string_leaves(rewritten))
    assert before.keys() == after.keys()  # same shape: nothing added, moved or dropped
    changed = [p for p in before if before[p] != after[p]]
    assert changed and not [p for p in changed if is_structure(p, STRUCTURE_KEYS)]


def output(restore: dict[str, str]) -> OutputInspector:
    return OutputInspector(bundled().detector, KEYRING, Restorer(restore))


def test_a_streamed_answer_is_restored_and_inspected_in_the_protocols_framing(protocol):
    sample, token, emitted = SAMPLES[protocol.name], secret(), secret()
    placeholder = KEYRING.placeholder("github-token", token)
    # the placeholder split over three events, and a secret of the model's own in a fourth
    fragments = ["Use ", placeholder[:9], placeholder[9:20], placeholder[20:] + " now. ", f"also {emitted} ok"]
    ctype, stream = sample.stream(fragments)
    framing = protocol.framing(ctype, sample.path)
    assert framing is not None, f"{protocol.name} cannot read its own streamed answers ({ctype})"
    out = output({placeholder: token})
    rewriter = StreamRewriter(framing, protocol.deltas, out.process, on_channel_end=out.end_channel, on_event=out.observe)
    chunks = [stream[i : i + 7] for i in range(0, len(stream), 7)] + [b""]
    sent = sample.read(b"".join(rewriter(c) for c in chunks))
    assert token in sent and placeholder not in sent
    assert emitted not in sent and [f.rule for f in out.findings] == ["github-token"]


def test_a_whole_answer_is_restored_and_inspected(protocol):
    sample, token, emitted = SAMPLES[protocol.name], secret(), secret()
    placeholder = KEYRING.placeholder("github-token", token)
    out = output({placeholder: token})
    sent = out.rewrite_body(json.dumps(sample.answer(f"Use {placeholder}; mine is {emitted}")).encode()).decode()
    assert token in sent and placeholder not in sent and emitted not in sent


def test_the_key_is_found_where_the_api_sends_it(protocol):
    header, form = SAMPLES[protocol.name].key
    assert protocol.api_key({header: form.format("sk-test-123")}, {}) == "sk-test-123"
    assert protocol.api_key({}, {}) is None


def test_errors_come_in_the_apis_shape_and_name_the_reason(protocol):
    doc = json.loads(protocol.error_body(403, "llm_dlp_blocked", "Request blocked by llm-dlp: rule x"))
    assert "Request blocked by llm-dlp: rule x" in json.dumps(doc)
    if protocol.family == "anthropic":
        assert doc["type"] == "error" and doc["error"]["type"] == "permission_error"
    elif protocol.family == "gemini":
        assert doc["error"]["status"] == "PERMISSION_DENIED" and doc["error"]["code"] == 403
    elif protocol.family == "mcp":  # a JSON-RPC error
        assert doc["jsonrpc"] == "2.0" and doc["error"]["data"]["reason"] == "llm_dlp_blocked"
    elif protocol.family in ("bedrock", "amazon-q"):  # AWS: the type in a header, the message in the body
        assert doc == {"message": "Request blocked by llm-dlp: rule x"}
        assert protocol.error_headers(403, "llm_dlp_blocked")["x-amzn-errortype"].startswith("AccessDenied")
    else:
        assert doc["error"]["code"] == "llm_dlp_blocked"
