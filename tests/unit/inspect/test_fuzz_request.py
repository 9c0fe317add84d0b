"""Fuzzing the request pipeline: for random JSON bodies with a generated secret inside, inspection
never crashes, a rewritten body is valid JSON, and the secret is in nothing that leaves the proxy
(the forwarded body, the findings, the audit-shaped record)."""

from __future__ import annotations

import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_dlp.act.placeholders import Keyring
from llm_dlp.inspect.request import BLOCK, inspect_request
from llm_dlp.protocols.strictjson import BodyError
from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import load_ruleset
from support.secretgen import Gen, provider_tokens

RULESET = load_ruleset(bundled_rules_dir())
KEYRING = Keyring(b"fuzz-placeholder-key-0123456789")
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)
SCALARS = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False) | WORDS
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(WORDS, inner, max_size=4), max_leaves=12)


KINDS = len(provider_tokens(Gen(random.Random(0))))


def secrets_():
    """A generated token of a random provider format (from a seed: small for hypothesis to shrink)."""
    return st.tuples(st.integers(0, 2**32), st.integers(0, KINDS - 1)).map(lambda s: provider_tokens(Gen(random.Random(s[0])))[s[1]][1])


def embed(doc, secret: str, where: int):
    """Put ``secret``, set apart by spaces, into the ``where``-th string of ``doc`` (or beside it)."""
    strings = []

    def walk(node, parent, key):
        if isinstance(node, str):
            strings.append((parent, key))
        elif isinstance(node, dict):
            for k in list(node):
                walk(node[k], node, k)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, node, i)

    walk(doc, None, None)
    if strings:
        parent, key = strings[where % len(strings)]
        if parent is not None:
            parent[key] = f"{parent[key]} {secret} "
            return doc
    return {"input": f"see {secret} here", "extra": doc}


def leaked(secret: str, raw: bytes, ins) -> list[str]:
    forwarded = b"" if ins.decision == BLOCK else (ins.body if ins.body is not None else raw)
    record = json.dumps({"findings": [f.to_dict() for f in ins.findings], "model": ins.model, "decision": ins.decision})
    return [
        name
        for name, text in (
            ("body", forwarded.decode("utf-8", "replace")),
            ("record", record),
            ("message", ins.block_message() if ins.decision == BLOCK else ""),
        )
        if secret in text
    ]


@FUZZ
@given(
    extra=st.dictionaries(WORDS.filter(lambda k: k not in ("messages", "model")), JSON, max_size=4),
    prefix=WORDS,
    secret=secrets_(),
    role=st.sampled_from(["user", "system", "assistant", "tool", "developer"]),
)
def test_openai_chat_bodies(extra, prefix, secret, role):
    body = {"model": "m", "messages": [{"role": role, "content": f"{prefix} {secret} "}], **extra}
    raw = json.dumps(body).encode()
    ins = inspect_request(raw, "openai", "/v1/chat/completions", RULESET.detector, KEYRING)
    if ins.body is not None:
        assert isinstance(json.loads(ins.body), dict)
    assert ins.findings and leaked(secret, raw, ins) == []


@FUZZ
@given(doc=JSON, secret=secrets_(), where=st.integers(0, 50), protocol=st.sampled_from(["generic", "openai", "anthropic", "gemini"]))
def test_secrets_anywhere_in_arbitrary_json(doc, secret, where, protocol):
    raw = json.dumps(embed(doc, secret, where)).encode()
    ins = inspect_request(raw, protocol, "/v1/x", RULESET.detector, KEYRING)
    if ins.body is not None:
        json.loads(ins.body)
    assert leaked(secret, raw, ins) == []


@FUZZ
@given(
    raw=st.binary(max_size=300) | JSON.map(lambda d: json.dumps(d).encode()),
    protocol=st.sampled_from(["generic", "openai", "anthropic", "gemini"]),
)
def test_arbitrary_bodies_never_crash(raw, protocol):
    """Inspected, or refused as a body the provider might read differently: never an exception."""
    try:
        ins = inspect_request(raw, protocol, "/v1/chat/completions", RULESET.detector, KEYRING)
    except BodyError as refused:
        assert refused.status in (400, 413, 415) and str(refused)
        return
    assert ins.decision in ("allow", "redact", "warn", "block")
    if ins.body is not None and ins.segments and raw.lstrip()[:1] in (b"{", b"["):
        json.loads(ins.body)
