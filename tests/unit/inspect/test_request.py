"""The request pipeline without a proxy: decisions, redaction, and the restore map."""

import base64
import json
import random

from llm_dlp.act.placeholders import Keyring
from llm_dlp.detect import normalize
from llm_dlp.inspect.request import SEAM, inspect_request, scan_segments
from llm_dlp.protocols.base import Segment
from support.rules import bundled
from support.secretgen import AN, URLSAFE, Gen, provider_tokens


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


def _inspect(doc: dict, protocol: str = "openai", path: str = "/v1/chat/completions"):
    body = json.dumps(doc, ensure_ascii=False).encode()
    return inspect_request(body, protocol, path, bundled().detector, Keyring(b"x" * 32))


def _token() -> str:
    return dict(provider_tokens(Gen(random.Random(7))))["github-pat"]


def test_disguised_secret_is_redacted_with_its_disguise():
    token = _token()
    for disguised in (token[:5] + "\u200d" + token[5:], token[:9] + "\u00ad" + token[9:], "\uff47" + token[1:]):
        ins = _inspect({"model": "m", "messages": [{"role": "user", "content": f"use {disguised} now"}]})
        assert [f.rule for f in ins.findings] == ["github-token"]
        sent = json.loads(ins.body)["messages"][0]["content"]
        assert sent.startswith("use [REDACTED:github-token:") and sent.endswith("] now")


def test_secret_split_across_messages_is_found_and_every_piece_redacted():
    token = _token()
    ins = _inspect(
        {
            "model": "m",
            "messages": [{"role": "user", "content": f"part one {token[:12]}"}, {"role": "user", "content": f"{token[12:]} part two"}],
        }
    )
    assert [(f.rule, f.field) for f in ins.findings] == [("github-token", "/messages/0/content"), ("github-token", "/messages/1/content")]
    sent = [m["content"] for m in json.loads(ins.body)["messages"]]
    assert token[:12] not in sent[0] and token[12:] not in sent[1]
    assert sent[0].startswith("part one [REDACTED:") and sent[1].endswith("] part two")


def test_secret_in_many_small_fragments_is_redacted_in_each():
    token = _token()
    parts = [{"type": "text", "text": token[i : i + 5]} for i in range(0, len(token), 5)]
    ins = _inspect({"model": "m", "messages": [{"role": "user", "content": parts}]})
    assert len(ins.findings) == len(parts)
    assert all("[REDACTED:github-token:" in p["text"] for p in json.loads(ins.body)["messages"][0]["content"])


def test_structure_fields_are_not_joined_with_content():
    token = _token()
    ins = _inspect({"model": "m", "messages": [{"role": token[:12], "content": f"{token[12:]}"}]})
    assert not any(f.field == "/messages/0/role" for f in ins.findings)


def test_a_whole_secret_in_one_segment_is_reported_once():
    token = _token()
    ins = _inspect({"model": "m", "messages": [{"role": "user", "content": token}, {"role": "user", "content": "next"}]})
    assert [(f.field, f.start, f.end) for f in ins.findings] == [("/messages/0/content", 0, len(token))]


def test_secret_as_a_tool_schema_property_name_blocks():
    token = _token()
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {token: {"type": "string"}}}}}]
    ins = _inspect({"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": tools})
    assert ins.decision == "block"
    assert ins.findings[0].field == "/tools/0/function/parameters/properties#key" and ins.findings[0].action == "block"
    assert token not in ins.block_message()


def test_secret_as_a_tool_use_input_key_is_renamed():
    token = _token()
    doc = {
        "model": "c",
        "max_tokens": 1,
        "messages": [
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "t", "input": {token: {"inner": 1}, "other": 2}}],
            }
        ],
    }
    ins = _inspect(doc, "anthropic", "/v1/messages")
    assert ins.decision == "redact"
    keys = list(json.loads(ins.body)["messages"][0]["content"][0]["input"])
    assert keys[0].startswith("[REDACTED:github-token:") and keys[1] == "other" and token not in ins.body.decode()


def test_secret_as_a_gemini_function_call_arg_key_is_renamed():
    token = _token()
    doc = {"contents": [{"role": "model", "parts": [{"functionCall": {"name": "t", "args": {token: "v"}}}]}]}
    ins = _inspect(doc, "gemini", "/v1beta/models/g:generateContent")
    assert ins.decision == "redact" and token not in ins.body.decode()
    assert json.loads(ins.body)["contents"][0]["parts"][0]["functionCall"]["args"] != {token: "v"}


def test_a_finding_under_a_secret_key_does_not_show_the_key_in_its_field():
    token, other = _token(), dict(provider_tokens(Gen(random.Random(8))))["github-pat"]
    ins = _inspect({"model": "m", "metadata": {token: {"note": f"and {other}"}}})
    fields = sorted(f.field for f in ins.findings)
    assert fields == ["/metadata#key", "/metadata/*/note"]
    assert not any(token in json.dumps(f.to_dict()) for f in ins.findings)


def test_a_whole_secret_at_the_end_of_a_message_does_not_spill_into_the_next():
    token = _token()
    ins = _inspect(
        {"model": "m", "messages": [{"role": "user", "content": f"my token is {token}"}, {"role": "user", "content": "Thanks,and more"}]}
    )
    assert [f.field for f in ins.findings] == ["/messages/0/content"]
    assert json.loads(ins.body)["messages"][1]["content"] == "Thanks,and more"


def _pem() -> str:
    return Gen(random.Random(11)).pem("RSA PRIVATE KEY", lines=26)  # about 1.7 KB, like a 2048-bit key


def _long_jwt() -> str:
    g = Gen(random.Random(12))
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","typ":"JWT"}').decode().rstrip("=")
    claims = {"sub": g.s(AN, 12), "groups": [g.s(AN, 24) for _ in range(10)]}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{payload}.{g.s(URLSAFE, 342)}"


def _lines_in_clear(secret: str, texts: list[str]) -> list[str]:
    """The lines (or 16-character runs) of ``secret`` still present in any of ``texts``."""
    pieces = [line for line in secret.splitlines() if len(line) >= 16] or [secret[i : i + 16] for i in range(0, len(secret) - 15, 16)]
    return [p for p in pieces if any(p in t for t in texts)]


def test_a_pem_key_split_across_two_messages_is_redacted_in_both():
    key = _pem()
    cut = len(key) // 2
    ins = _inspect({"model": "m", "messages": [{"role": "user", "content": f"key:\n{key[:cut]}"}, {"role": "user", "content": key[cut:]}]})
    assert [(f.rule, f.field) for f in ins.findings] == [("private-key", "/messages/0/content"), ("private-key", "/messages/1/content")]
    sent = [m["content"] for m in json.loads(ins.body)["messages"]]
    assert sent[0].startswith("key:\n[REDACTED:private-key:") and sent[1].startswith("[REDACTED:private-key:")
    assert not _lines_in_clear(key, sent)


def test_a_pem_key_split_across_anthropic_blocks_around_a_tool_call_is_redacted_in_each():
    key = _pem()
    cut = len(key) // 3
    content = [
        {"type": "text", "text": key[:cut]},
        {"type": "tool_use", "id": "toolu_1", "name": "read", "input": {}},
        {"type": "text", "text": key[cut:]},
    ]
    ins = _inspect({"model": "c", "max_tokens": 1, "messages": [{"role": "assistant", "content": content}]}, "anthropic", "/v1/messages")
    blocks = json.loads(ins.body)["messages"][0]["content"]
    assert blocks[1] == content[1] and not _lines_in_clear(key, [b.get("text", "") for b in blocks])


def test_a_long_jwt_in_three_responses_input_items_is_redacted_in_each():
    token = _long_jwt()
    assert len(token) > 3 * SEAM
    thirds = [token[: len(token) // 3], token[len(token) // 3 : 2 * len(token) // 3], token[2 * len(token) // 3 :]]
    items = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": piece}]} for piece in thirds]
    ins = _inspect({"model": "m", "input": items}, "openai", "/v1/responses")
    assert [f.rule for f in ins.findings] == ["jwt"] * 3
    sent = [item["content"][0]["text"] for item in json.loads(ins.body)["input"]]
    assert all(text.startswith("[REDACTED:jwt:") for text in sent) and not _lines_in_clear(token, sent)


def test_a_split_secret_whose_first_piece_matches_alone_is_redacted_in_every_piece():
    token = _token()
    first, rest = f"GITHUB_TOKEN={token[:30]}", token[30:]
    assert bundled().detector.scan(first) and not bundled().detector.scan(rest)
    ins = _inspect({"model": "m", "messages": [{"role": "user", "content": first}, {"role": "user", "content": f"{rest} is it"}]})
    sent = [m["content"] for m in json.loads(ins.body)["messages"]]
    assert token[:30] not in sent[0] and rest not in sent[1] and sent[1].endswith("] is it")
    assert [f.field for f in ins.findings] == ["/messages/0/content", "/messages/1/content"]


def test_a_pem_key_in_many_tool_result_fragments_is_redacted_in_each():
    key = _pem()
    parts = [{"type": "text", "text": key[i : i + 100]} for i in range(0, len(key), 100)]
    blocks = [{"type": "tool_result", "tool_use_id": "toolu_1", "content": parts}]
    ins = _inspect({"model": "c", "max_tokens": 1, "messages": [{"role": "user", "content": blocks}]}, "anthropic", "/v1/messages")
    sent = [p["text"] for p in json.loads(ins.body)["messages"][0]["content"][0]["content"]]
    assert len(ins.findings) == len(parts) and all("[REDACTED:private-key:" in text for text in sent)
    assert not _lines_in_clear(key, sent)


def test_a_secret_cut_over_lines_or_string_literals_is_redacted_whole():
    token = _token()
    a, b = token[:17], token[17:]
    for text in (
        f"{a}\n{b}\n",
        f'TOKEN = "{a}" + "{b}"\n',
        f'TOKEN = ("{a}"\n         "{b}")\n',
        f"TOKEN='{a}''{b}'\n",
        f'TOKEN="{a}\\\n{b}"\n',
        f"const t = '{a}' +\n  '{b}';\n",
    ):
        ins = _inspect({"model": "m", "messages": [{"role": "user", "content": text}]})
        sent = json.loads(ins.body)["messages"][0]["content"]
        assert len(ins.findings) == 1, text  # one finding over both pieces (a rule may have matched the first alone)
        assert a not in sent and b not in sent and sent.count("[REDACTED:") == 1


def test_a_whole_secret_at_the_end_of_a_line_does_not_spill_into_the_next():
    token = _token()
    ins = _inspect({"model": "m", "messages": [{"role": "user", "content": f"GITHUB_TOKEN={token}\nThanks,and more"}]})
    assert [f.end - f.start for f in ins.findings] == [len(token)]
    assert json.loads(ins.body)["messages"][0]["content"].endswith("]\nThanks,and more")


def test_a_secret_split_across_two_tool_calls_arguments_is_redacted_in_each_and_stays_json():
    for secret in (_pem(), _token()):
        cut = len(secret) // 2
        calls = [
            {"id": f"call_{i}", "type": "function", "function": {"name": "write", "arguments": json.dumps({"content": piece}, indent=1)}}
            for i, piece in enumerate((secret[:cut], secret[cut:]))
        ]
        ins = _inspect({"model": "m", "messages": [{"role": "assistant", "content": None, "tool_calls": calls}]})
        sent = [json.loads(c["function"]["arguments"]) for c in json.loads(ins.body)["messages"][0]["tool_calls"]]
        assert all(s["content"].startswith("[REDACTED:") for s in sent)
        assert not _lines_in_clear(secret, [s["content"] for s in sent])


class _Counting:
    """A detector that counts the characters it is given."""

    def __init__(self, detector):
        self.detector, self.chars = detector, 0

    def scan(self, text):
        self.chars += len(text)
        return self.detector.scan(text)


def test_joined_scanning_reads_each_character_a_bounded_number_of_times():
    g = Gen(random.Random(13))
    key_ends = [("word. " * 500) + "-----BEGIN PRIVATE KEY-----\n" + g.s(AN, 1000) for _ in range(64)]
    for texts in ([g.s(AN, 4096) for _ in range(64)], [g.s(AN, 100) for _ in range(1000)], key_ends, ["\n".join([g.s(AN, 40)] * 100)] * 32):
        counting = _Counting(bundled().detector)
        scan_segments(counting, [Segment(("messages", i, "content"), t, "user") for i, t in enumerate(texts)])
        assert counting.chars <= 3 * sum(map(len, texts))


def _raw_findings(text: str) -> list[tuple[str, int, int]]:
    return [(f.rule.id, f.start, f.end) for _, f in scan_segments(bundled().detector, [Segment((), text, "raw")])]


def test_secrets_across_a_boundary_of_the_character_pieces_are_found_whole(monkeypatch):
    token, key = _token(), _pem()
    cases = [  # (text, the secret's first and last characters as written)
        (f"use {token[:9]}\u200b{token[9:]} now\n", (token[:9], token[9:])),  # a zero-width space inside
        (f"key:\n{key[:800]}\u00ad{key[800:]}\n", (key[:20], key[-20:])),  # a PEM block with a soft hyphen
        (f"\u00e9\n{token[:17]}\n{token[17:]}\n\u00f1", (token[:17], token[17:])),  # cut over lines
        (f'TOKEN = "\uff47{token[1:17]}" +\n  "{token[17:]}"\n', ("\uff47" + token[1:17], token[17:])),  # joined literals
        (f"\U0001d400 GITHUB_TOKEN={token[:20]}\u2060{token[20:]}\n", (token[:20], token[20:])),  # 4 bytes a character
    ]
    for text, (first, last) in cases:
        whole = _raw_findings(text)
        assert [(s, e) for _, s, e in whole] == [(text.index(first), text.rindex(last) + len(last))], text
        for piece in (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987):  # boundaries all through the secret
            monkeypatch.setattr(normalize, "CHAR_PIECE", piece)
            assert _raw_findings(text) == whole, (text, piece)


def test_a_report_without_rewrite_finds_what_the_forwarded_request_does():
    g = Gen(random.Random(11))
    token, key, data = _token(), g.pem("PRIVATE KEY"), base64.b64encode(g.password().encode()).decode()
    manifest = f"apiVersion: v1\nkind: Secret\ndata:\n  password: {data}\n"  # a rule only its context lets match
    content = f"{key}\nGH={token}\nagain {token}\n{manifest}"
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": content}]}).encode()
    forwarded = inspect_request(body, "openai", "/v1/chat/completions", bundled().detector, Keyring(b"x" * 32), review=True)
    reported = inspect_request(body, "openai", "/v1/chat/completions", bundled().detector, Keyring(b"x" * 32), review=True, rewrite=False)
    assert forwarded.decision == reported.decision == "redact"
    assert {"private-key", "github-token", "kubernetes-secret-data"} <= {f.rule for f in reported.findings}
    assert reported.findings == forwarded.findings and reported.review_text == forwarded.review_text
    assert forwarded.body is not None and forwarded.restore
    assert reported.body is None and reported.restore == {}  # nothing is written back


def test_a_clean_request_is_reviewed_as_sent_without_copying_it(monkeypatch):
    def no_copy(_):
        raise AssertionError("a request without findings has nothing to redact on a copy")

    monkeypatch.setattr("llm_dlp.inspect.request.copy.deepcopy", no_copy)
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "nothing secret here é"}]}, ensure_ascii=False).encode()
    ins = inspect_request(body, "openai", "/v1/chat/completions", bundled().detector, Keyring(b"x" * 32), review=True)
    assert ins.findings == [] and ins.review_text == body.decode()
