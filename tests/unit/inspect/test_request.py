"""The request pipeline without a proxy: decisions, redaction, and the restore map."""

import json
import random

from llm_dlp.act.placeholders import Keyring
from llm_dlp.inspect.request import inspect_request
from support.rules import bundled
from support.secretgen import Gen, provider_tokens


def test_restore_map_honours_rule_restore_flag():
    g = Gen(random.Random())
    key, token = g.pem("PRIVATE KEY"), dict(provider_tokens(g))["github-pat"]
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": f"{key}\nGH={token}"}]}).encode()
    ins = inspect_request(body, "openai", "/v1/chat/completions", bundled().detector, Keyring(b"x" * 32))
    assert ins.decision == "redact"
    assert sorted(f.rule for f in ins.findings) == ["github-token", "private-key"]
    assert list(ins.restore.values()) == [token]  # private-key: restore: false
    sent = json.loads(ins.body)["messages"][0]["content"]
    assert key not in sent and token not in sent and "[REDACTED:private-key:" in sent
