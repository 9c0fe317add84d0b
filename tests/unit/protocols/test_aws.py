"""The AWS protocols' own rules: the API chosen by path (model ids and ARNs URL-encoded in it),
tool results attributed to the file their tool use named, Amazon Q's editor document, signed
bodies, and refusals as the AWS SDKs read them."""

from __future__ import annotations

import json

import pytest

from llm_dlp.protocols.registry import REGISTRY
from support.protocol_samples import SAMPLES

ARN = "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-sonnet-4-20250514-v1%3A0"


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (f"/model/{ARN}/converse-stream", "bedrock-converse"),
        ("/model/amazon.nova-micro-v1%3A0/converse", "bedrock-converse"),
        ("/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream", "bedrock-invoke"),
        ("/model/meta.llama3-70b-instruct-v1%3A0/invoke", "bedrock-invoke"),
    ],
)
def test_the_path_picks_the_bedrock_api_and_names_the_model(path, name):
    protocol = REGISTRY.select("bedrock", path)
    assert protocol.name == name
    parsed = protocol.parse(json.dumps({"messages": []}).encode(), path)
    assert parsed.model and "%" not in parsed.model and parsed.model.startswith(("arn:aws:bedrock:", "amazon.", "anthropic.", "meta."))


def segment(protocol_name: str, doc: dict, pointer_end: tuple):
    sample = SAMPLES[protocol_name]
    parsed = REGISTRY.get(protocol_name).parse(json.dumps(doc).encode(), sample.path)
    return next(s for s in parsed.segments if s.pointer[-len(pointer_end) :] == pointer_end)


def test_a_converse_tool_result_is_the_file_its_tool_use_read():
    doc = SAMPLES["bedrock-converse"].request("x")
    seg = segment("bedrock-converse", doc, ("toolResult", "content", 0, "text"))
    assert (seg.role, seg.path) == ("tool_result", "src/app.py")
    assert not segment("bedrock-converse", doc, ("toolUseId",)).content  # an id: structure, never edited


def test_a_converse_image_is_not_inspected_as_text():
    doc = {
        "messages": [
            {"role": "user", "content": [{"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}, {"text": "what is it"}]}
        ]
    }
    parsed = REGISTRY.get("bedrock-converse").parse(json.dumps(doc).encode(), "/model/m/converse")
    assert [s.text for s in parsed.segments if s.content] == ["what is it"]


def test_amazon_q_attributes_the_editor_document_and_tool_results_and_finds_the_model():
    doc = SAMPLES["amazon-q"].request("x")
    parsed = REGISTRY.get("amazon-q").parse(json.dumps(doc).encode(), "/")
    by_end = {s.pointer[-3:]: s for s in parsed.segments}
    assert (by_end[("editorState", "document", "text")].role, by_end[("editorState", "document", "text")].path) == ("file", "src/app.py")
    assert (by_end[("content", 0, "text")].role, by_end[("content", 0, "text")].path) == ("tool_result", "src/app.py")
    assert parsed.model == "claude-x"


@pytest.mark.parametrize(
    ("headers", "signed"),
    [
        (
            {
                "authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=ab"
            },
            True,
        ),
        (
            {
                "authorization": "AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20260101/bedrock/aws4_request, SignedHeaders=host, Signature=ab"
            },
            True,
        ),
        ({"authorization": "AWS4-HMAC-SHA256 Credential=x, Signature=ab", "x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, False),
        ({"authorization": "Bearer bedrock-api-key"}, False),
        ({}, False),
    ],
)
def test_a_sigv4_signature_covers_the_body_a_bearer_key_does_not(headers, signed):
    for name in ("bedrock-converse", "amazon-q", "generic"):
        assert REGISTRY.get(name).body_is_signed(headers) is signed


def test_refusals_carry_the_error_type_aws_sdks_read():
    converse = REGISTRY.get("bedrock-converse")
    assert converse.error_headers(429, "x") == {"x-amzn-errortype": "ThrottlingException"}
    assert converse.error_headers(418, "x") == {"x-amzn-errortype": "AccessDeniedException"}
    assert REGISTRY.get("openai-chat").error_headers(403, "x") == {}


@pytest.mark.parametrize(
    ("event", "path"),
    [
        ({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "T"}}, ("delta", "text")),  # Claude
        ({"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "T"}}}, ("contentBlockDelta", "delta", "text")),  # Nova
        ({"generation": "T", "generation_token_count": 1, "stop_reason": None}, ("generation",)),  # Llama
        ({"outputText": "T", "index": 0}, ("outputText",)),  # Titan
        ({"outputs": [{"text": "T", "stop_reason": None}]}, ("outputs", 0, "text")),  # Mistral
        ({"text": "T", "is_finished": False}, ("text",)),  # Cohere
    ],
)
def test_invoke_streams_find_each_model_familys_text(event, path):
    assert [d.path for d in REGISTRY.get("bedrock-invoke").deltas(event)] == [path]


def test_an_amazon_q_tool_input_is_complete_in_the_event_that_stops_it():
    """Tool input JSON has no spaces to cut at: without the stop flag it would all be held back and
    sent after the client had already parsed the (empty) input."""
    from llm_dlp.inspect.stream import StreamRewriter
    from support import eventstream

    protocol = REGISTRY.get("amazon-q")
    pieces = ['{"path":', '"src/app.py"', "}"]
    frames = [
        eventstream.event("toolUseEvent", {"toolUseId": "t1", "name": "fs_read", "input": p, **({"stop": True} if i == 2 else {})})
        for i, p in enumerate(pieces)
    ]
    rewriter = StreamRewriter(protocol.framing(eventstream.CONTENT_TYPE, "/"), protocol.deltas, lambda text, context, is_json: text)
    out = b"".join(rewriter(f) for f in frames) + rewriter(b"")
    events = eventstream.payloads(out)
    stop_at = next(i for i, e in enumerate(events) if e.get("stop"))
    assert "".join(e["input"] for e in events[: stop_at + 1]) == '{"path":"src/app.py"}' and stop_at == len(events) - 1
