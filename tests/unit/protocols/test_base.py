"""Adapters: every text field found with its role and file path, edits written back validly."""

import json

from llm_dlp.protocols.registry import REGISTRY


def body(doc) -> bytes:
    return json.dumps(doc).encode()


def by_field(parsed):
    return {s.field: s for s in parsed.segments}


def test_openai_chat_roles_tool_calls_and_images_skipped():
    doc = {
        "model": "gpt-4o",
        "messages": [
            {"role": "developer", "content": "rules"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": '{"filePath": "a.py"}'}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "print(1)"},
        ],
    }
    p = REGISTRY.parse(body(doc), "openai", "/v1/chat/completions")
    f = by_field(p)
    assert p.model == "gpt-4o"
    assert f["/messages/0/content"].role == "system"
    assert f["/messages/1/content/0/text"].role == "user"
    assert "/messages/1/content/1/image_url/url" not in f
    assert f["/messages/2/tool_calls/0/function/arguments"].role == "tool_call"
    assert f["/messages/3/content"].role == "tool_result"


def test_openai_responses_and_legacy_completions_path_marker():
    p = REGISTRY.parse(
        body(
            {
                "model": "m",
                "instructions": "sys",
                "input": [
                    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "q"}]},
                    {"type": "function_call", "call_id": "x", "name": "shell", "arguments": "{}"},
                    {"type": "function_call_output", "call_id": "x", "output": "out"},
                ],
            }
        ),
        "openai",
        "/v1/responses",
    )
    f = by_field(p)
    assert f["/instructions"].role == "system" and f["/input/0/content/0/text"].role == "user"
    assert f["/input/1/arguments"].role == "tool_call" and f["/input/2/output"].role == "tool_result"
    fim = REGISTRY.parse(
        body({"prompt": "# Path: src/billing/rates.py\nimport os\n", "suffix": "\n", "nwo": "acme/app"}),
        "openai",
        "/v1/engines/x/completions",
    )
    assert by_field(fim)["/prompt"].path == "src/billing/rates.py"


def test_anthropic_tool_result_attributed_to_file_and_system_blocks():
    doc = {
        "model": "claude",
        "system": [{"type": "text", "text": "s"}],
        "messages": [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "/r/secret.py"}}]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "code"}]},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                ],
            },
        ],
    }
    f = by_field(REGISTRY.parse(body(doc), "anthropic", "/v1/messages"))
    assert f["/system/0/text"].role == "system"
    assert f["/messages/0/content/0/input/file_path"].role == "tool_call"
    seg = f["/messages/1/content/0/content/0/text"]
    assert seg.role == "tool_result" and seg.path == "/r/secret.py"
    assert "/messages/1/content/1/source/data" not in f


def test_gemini_and_code_assist_wrapper():
    inner = {
        "systemInstruction": {"parts": [{"text": "s"}]},
        "contents": [
            {"role": "user", "parts": [{"text": "q"}, {"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]},
            {"role": "model", "parts": [{"functionCall": {"name": "read", "args": {"path": "x"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "read", "response": {"content": "c"}}}]},
        ],
    }
    p = REGISTRY.parse(body(inner), "gemini", "/v1beta/models/gemini-2.5-pro:streamGenerateContent")
    f = by_field(p)
    assert p.model == "gemini-2.5-pro"
    assert f["/systemInstruction/parts/0/text"].role == "system" and f["/contents/0/parts/0/text"].role == "user"
    assert "/contents/0/parts/1/inlineData/data" not in f
    assert f["/contents/1/parts/0/functionCall/args/path"].role == "tool_call"
    assert f["/contents/2/parts/0/functionResponse/response/content"].role == "tool_result"
    wrapped = REGISTRY.parse(body({"model": "gemini-x", "project": "p", "request": inner}), "gemini", "/v1internal:streamGenerateContent")
    assert by_field(wrapped)["/request/contents/0/parts/0/text"].role == "user" and wrapped.model == "gemini-x"


def test_unknown_json_inspects_every_string_and_round_trips():
    doc = {"a": {"b": ["x", {"c": "y"}]}, "n": 1.5, "t": True}
    p = REGISTRY.parse(body(doc), "generic", "/")
    assert sorted(s.field for s in p.segments) == ["/a/b/0", "/a/b/1/c"]
    p.segments[0].text = "edited"
    assert json.loads(p.render()) == {"a": {"b": ["edited", {"c": "y"}]}, "n": 1.5, "t": True}


def test_non_json_and_invalid_utf8_round_trip():
    raw = b"plain \xff text"
    p = REGISTRY.parse(raw, "openai", "/")
    assert not p.is_json and p.segments[0].role == "raw"
    assert p.render() == raw
