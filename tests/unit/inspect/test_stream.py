"""The stream rewriter: placeholders restored across events and chunk boundaries, secrets in
model output redacted, every event delivered, bad streams passed through."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_dlp.act.placeholders import Keyring
from llm_dlp.act.restore import Restorer
from llm_dlp.inspect.output import OutputInspector
from llm_dlp.inspect.stream import StreamRewriter
from llm_dlp.protocols.framing import JsonArrayFraming, NdjsonFraming, SseFraming
from llm_dlp.protocols.registry import REGISTRY
from support.rules import bundled
from support.secretgen import Gen, provider_tokens

KEYRING = Keyring(b"k" * 32)
SECRET = 'Pa55"w\\ord-é-9'
PH = KEYRING.placeholder("secret-assignment", SECRET)


@pytest.fixture(scope="module")
def detector():
    return bundled().detector


ANY_SHAPE = REGISTRY.get("generic").deltas  # the deltas of every known API


def rewriter(detector, framing=None, anomalies=None):
    inspector = OutputInspector(detector, KEYRING, Restorer({PH: SECRET}))
    rw = StreamRewriter(
        framing or SseFraming(),
        ANY_SHAPE,
        inspector.process,
        on_anomaly=(anomalies if anomalies is not None else []).append,
        snapshot=inspector.snapshot,
    )
    return rw, inspector


def run(rw, data: bytes, cuts=()) -> bytes:
    points = sorted(set(cuts))
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]
    return b"".join(rw(c) for c in chunks if c) + rw(b"")


def pieces(text: str, n: int = 5) -> list[str]:
    return [text[i : i + n] for i in range(0, len(text), n)]


def openai_stream(text: str, args: str, sep: str = "\n\n") -> bytes:
    events = [
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}],
        }
    ]
    events += [
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": p}}]}
        for p in pieces(text)
    ]
    events.append(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "write", "arguments": ""}}]
                    },
                }
            ],
        }
    )
    events += [
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": p}}]}}],
        }
        for p in pieces(args, 4)
    ]
    events.append(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
    )
    return "".join(f"data: {json.dumps(e)}{sep}" for e in events).encode() + f"data: [DONE]{sep}".encode()


def client_view(out: bytes) -> tuple[str, str, int]:
    """What an OpenAI client accumulates: text, tool arguments, number of events."""
    text, args, n = "", "", 0
    for block in out.replace(b"\r\n", b"\n").split(b"\n\n"):
        if not block.startswith(b"data: {"):
            continue
        n += 1
        delta = json.loads(block[6:])["choices"][0]["delta"]
        text += delta.get("content") or ""
        for call in delta.get("tool_calls") or []:
            args += call["function"].get("arguments") or ""
    return text, args, n


TEXT = f"Use é {PH} here. Also {PH}"
ARGS = json.dumps({"path": "a.py", "content": f"PASSWORD = '{PH}'\n"})
EXPECTED_ARGS = json.dumps({"path": "a.py", "content": f"PASSWORD = '{SECRET}'\n"})


@pytest.mark.parametrize("sep", ["\n\n", "\r\n\r\n"])
def test_placeholders_split_over_events_are_restored_at_every_split_point(detector, sep):
    data = openai_stream(TEXT, ARGS, sep)
    n_in = data.count(b"data: {")
    for i in range(0, len(data) + 1, 7):
        rw, inspector = rewriter(detector)
        text, args, n_out = client_view(run(rw, data, [i]))
        assert text == TEXT.replace(PH, SECRET), i
        assert json.loads(args) == json.loads(EXPECTED_ARGS), i
        assert n_out >= n_in  # no event is swallowed
        assert inspector.findings == []


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=4000), max_size=15))
def test_any_chunking_including_inside_multibyte_characters(detector, cuts):
    data = openai_stream(TEXT, ARGS)
    rw, _ = rewriter(detector)
    text, args, _ = client_view(run(rw, data, [c % (len(data) + 1) for c in cuts]))
    assert text == TEXT.replace(PH, SECRET) and json.loads(args) == json.loads(EXPECTED_ARGS)


def test_events_go_out_as_they_complete(detector):
    data = openai_stream("hello world and more", "{}")
    first_event_end = data.index(b"\n\n") + 2
    rw, _ = rewriter(detector)
    assert rw(data[:first_event_end]).startswith(b"data: {")  # not held until the end


def test_secret_emitted_by_model_is_redacted_even_when_split(detector):
    token = dict(provider_tokens(Gen(random.Random())))["github-pat"]
    rw, inspector = rewriter(detector)
    text, _, _ = client_view(run(rw, openai_stream(f"try export GITHUB_TOKEN={token} now", "{}")))
    assert token not in text and "[REDACTED:github-token:" in text
    assert [f.rule for f in inspector.findings] == ["github-token"]


@pytest.mark.parametrize("lines", [8, 50])  # 0.6 KB and 3.3 KB (a 4096-bit RSA key): longer than the usual context
def test_a_key_streamed_in_fragments_is_redacted_to_its_end_in_text_and_tool_arguments(detector, lines):
    key = Gen(random.Random(3)).pem("RSA PRIVATE KEY", lines=lines)
    rw, inspector = rewriter(detector)
    text, args, _ = client_view(run(rw, openai_stream(f"here:\n{key}\ndone", json.dumps({"path": "k.pem", "content": key}))))
    body = key.splitlines()[1:-1]
    assert not [line for line in body if line in text or line in args.replace("\\n", "\n")]
    assert text.startswith("here:\n") and text.endswith("done")  # the header may go out before the key is seen
    assert {f.rule for f in inspector.findings} == {"private-key"}


def test_anthropic_text_and_tool_json(detector):
    def ev(kind, doc):
        return f"event: {kind}\ndata: {json.dumps(doc)}\n\n"

    body = ev("message_start", {"type": "message_start", "message": {"id": "m"}})
    body += ev("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    for p in pieces(f"see {PH}", 3):
        body += ev("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}})
    body += ev("content_block_stop", {"type": "content_block_stop", "index": 0})
    for p in pieces(json.dumps({"file_path": "x", "content": PH}), 6):
        body += ev(
            "content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": p}}
        )
    body += ev("message_stop", {"type": "message_stop"})
    rw, _ = rewriter(detector)
    out = run(rw, body.encode(), [50, 333])
    text, js = "", ""
    for block in out.decode().split("\n\n"):
        if "content_block_delta" in block:
            assert block.startswith("event: content_block_delta\n")
            d = json.loads(block.split("data: ", 1)[1])["delta"]
            text += d.get("text", "")
            js += d.get("partial_json", "")
    assert text == f"see {SECRET}" and json.loads(js)["content"] == SECRET
    # the flush of block 0 comes before its content_block_stop
    assert out.decode().index(SECRET[-3:]) < out.decode().index("content_block_stop")


def test_gemini_json_array_and_ndjson(detector):
    chunks = [{"candidates": [{"content": {"role": "model", "parts": [{"text": p}]}}]} for p in pieces(f"ok {PH} done", 4)]
    data = ("[" + ",\r\n".join(json.dumps(c) for c in chunks) + "]").encode()
    rw, _ = rewriter(detector, JsonArrayFraming())
    out = run(rw, data, [3, 40, 41, 97])
    parsed = json.loads(out)
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in parsed) == f"ok {SECRET} done"
    lines = [{"message": {"role": "assistant", "content": p}, "done": False} for p in pieces(f"x {PH} y", 4)] + [{"done": True}]
    rw, _ = rewriter(detector, NdjsonFraming())
    out = run(rw, "".join(json.dumps(x) + "\n" for x in lines).encode(), [10])
    docs = [json.loads(line) for line in out.decode().splitlines()]
    assert "".join(d.get("message", {}).get("content", "") for d in docs) == f"x {SECRET} y"
    assert docs[-1] == {"done": True}


def test_bad_streams_pass_through_and_are_counted(detector):
    anomalies = []
    rw, _ = rewriter(detector, anomalies=anomalies)
    data = b'data: {not json\n\n: comment\n\ndata: [DONE]\n\ndata: {"choices": [{"delta": {"content": "cut'
    assert run(rw, data, [9]) == data
    assert anomalies == ["malformed_event", "truncated_event"]


def test_unknown_placeholder_and_literal_brackets_unchanged(detector):
    text = "a [REDACTED:github-token:0000000000] b [REDAC c [x]"
    rw, _ = rewriter(detector)
    assert client_view(run(rw, openai_stream(text, "{}")))[0] == text


def test_whole_json_body(detector):
    inspector = OutputInspector(detector, KEYRING, Restorer({PH: SECRET}))
    body = json.dumps(
        {"choices": [{"message": {"content": f"a {PH}", "tool_calls": [{"function": {"arguments": json.dumps({"v": PH})}}]}}]}
    ).encode()
    doc = json.loads(inspector.rewrite_body(body))
    msg = doc["choices"][0]["message"]
    assert msg["content"] == f"a {SECRET}" and json.loads(msg["tool_calls"][0]["function"]["arguments"]) == {"v": SECRET}
    plain = b'{"a": "nothing here"}'
    assert inspector.rewrite_body(plain) is plain


def test_placeholders_are_stable_and_keyed():
    assert KEYRING.placeholder("r", "v") == Keyring(b"k" * 32).placeholder("r", "v")
    assert KEYRING.placeholder("r", "v") != Keyring(b"j" * 32).placeholder("r", "v")
    assert KEYRING.placeholder("r", "v") != KEYRING.placeholder("s", "v")


def test_package_note_appended_to_text_not_to_tool_arguments(detector):
    from llm_dlp.inspect.packages import EcosystemPolicy, PackagePolicy

    policy = PackagePolicy({"pypi": EcosystemPolicy("pypi", ("requests",), None, True)})
    inspector = OutputInspector(detector, KEYRING, Restorer({}), policy)
    rw = StreamRewriter(SseFraming(), ANY_SHAPE, inspector.process, on_channel_end=inspector.end_channel)
    text, args, _ = client_view(
        run(rw, openai_stream("Run pip install requests fastjsonx-pro now.", json.dumps({"cmd": "pip install other-made-up"})))
    )
    assert (
        text.startswith("Run pip install requests fastjsonx-pro now.")
        and "llm-dlp: not on the approved package list: `fastjsonx-pro` (pypi" in text
    )
    assert json.loads(args) == {"cmd": "pip install other-made-up"}
    assert [f.name for f in inspector.package_findings] == ["fastjsonx-pro", "other-made-up"]


def _responses_stream(text: str) -> bytes:
    """A Responses API stream: deltas, then every full-text event the API sends."""
    part = {"type": "output_text", "text": text, "annotations": []}
    item = {"type": "message", "id": "m1", "role": "assistant", "status": "completed", "content": [part]}
    events = [("response.output_text.delta", {"item_id": "m1", "output_index": 0, "content_index": 0, "delta": p}) for p in pieces(text, 7)]
    events += [
        ("response.output_text.done", {"item_id": "m1", "output_index": 0, "content_index": 0, "text": text}),
        ("response.content_part.done", {"item_id": "m1", "output_index": 0, "content_index": 0, "part": part}),
        ("response.output_item.done", {"output_index": 0, "item": item}),
        ("response.completed", {"response": {"id": "r", "object": "response", "status": "completed", "output": [item]}}),
    ]
    return "".join(f"event: {kind}\ndata: {json.dumps({'type': kind, **body})}\n\n" for kind, body in events).encode()


def test_full_text_events_get_the_redaction_of_the_deltas(detector):
    token = dict(provider_tokens(Gen(random.Random(5))))["github-pat"]
    rw, inspector = rewriter(detector)
    out = run(rw, _responses_stream(f"here it is: {token} done"))
    assert token.encode() not in out
    events = [json.loads(line[6:]) for line in out.decode().splitlines() if line.startswith("data: ")]
    done = {e["type"]: e for e in events}
    placeholder = KEYRING.placeholder("github-token", token)
    assert done["response.output_text.done"]["text"] == f"here it is: {placeholder} done"
    assert done["response.completed"]["response"]["output"][0]["content"][0]["text"] == f"here it is: {placeholder} done"
    assert [f.rule for f in inspector.findings] == ["github-token"]  # recorded once, not once per copy


def test_a_payload_over_several_data_lines_is_joined_and_rewritten(detector):
    token = dict(provider_tokens(Gen(random.Random(6))))["github-pat"]
    doc = json.dumps({"choices": [{"index": 0, "delta": {"content": f"key {token} "}}]}, indent=1)
    event = "".join(f"data: {line}\n" for line in doc.splitlines()) + "\n"
    rw, _ = rewriter(detector)
    out = run(rw, event.encode() + b"data: [DONE]\n\n")
    assert token.encode() not in out and b"[REDACTED:github-token:" in out
    assert out.count(b"\n\n") == 2


def test_a_multi_line_payload_that_is_not_json_passes_as_it_came(detector):
    rw, _ = rewriter(detector)
    assert run(rw, b"event: note\ndata: first\ndata: second\n\n") == b"event: note\ndata: first\ndata: second\n\n"
