"""One realistic request and answer per registered protocol, for the conformance test: a request
whose content carries ``text`` beside a tool call and its result, an answer streamed in the
protocol's own framing whose deltas carry given fragments, and the same answer whole."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from support import eventstream


def sse(events: list[dict], done: bool = False) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + (b"data: [DONE]\n\n" if done else b"")


@dataclass(frozen=True)
class Sample:
    family: str
    path: str
    request: Callable[[str], Any]  # text -> the request document (or bytes for raw text)
    stream: Callable[[list[str]], tuple[str, bytes]]  # fragments -> (content type, streamed body)
    answer: Callable[[str], dict]  # text -> the answer, whole
    key: tuple[str, str]  # the header a client puts its key in, and the value's form
    read: Callable[[bytes], str] = bytes.decode  # streamed bytes -> the text a client reads from them


def _chat_request(text: str) -> dict:
    return {
        "model": "gpt-x",
        "stream": True,
        "messages": [
            {"role": "system", "content": "You are a coding agent."},
            {"role": "user", "content": f"Fix this: {text}"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": json.dumps({"path": "src/app.py"})}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": f"API = '{text}'"}]},
        ],
    }


def _chat_stream(fragments: list[str]) -> tuple[str, bytes]:
    events = [
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "model": "gpt-x",
            "choices": [{"index": 0, "delta": {"content": f}, "finish_reason": None}],
        }
        for f in fragments
    ]
    return "text/event-stream", sse(events, done=True)


def _responses_request(text: str) -> dict:
    return {
        "model": "gpt-x",
        "stream": True,
        "instructions": "You are a coding agent.",
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"Fix this: {text}"}]},
            {"type": "function_call", "call_id": "call_1", "name": "shell", "arguments": json.dumps({"command": ["cat", "src/app.py"]})},
            {"type": "function_call_output", "call_id": "call_1", "output": f"API = '{text}'"},
        ],
    }


def _responses_stream(fragments: list[str]) -> tuple[str, bytes]:
    events = [
        {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": f} for f in fragments
    ]
    return "text/event-stream", sse(events)


def _completions_request(text: str) -> dict:
    return {"model": "copilot-codex", "stream": True, "prompt": f"# Path: src/app.py\nAPI = '{text}'\n", "suffix": "\n"}


def _completions_stream(fragments: list[str]) -> tuple[str, bytes]:
    return "text/event-stream", sse(
        [{"id": "c1", "object": "text_completion", "choices": [{"index": 0, "text": f}]} for f in fragments], done=True
    )


def _anthropic_request(text: str) -> dict:
    return {
        "model": "claude-x",
        "max_tokens": 1024,
        "stream": True,
        "system": [{"type": "text", "text": "You are a coding agent."}],
        "messages": [
            {"role": "user", "content": f"Fix this: {text}"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/repo/src/app.py"}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": f"API = '{text}'"}],
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            },
        ],
    }


def _anthropic_stream(fragments: list[str]) -> tuple[str, bytes]:
    events = [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f}} for f in fragments]
    return "text/event-stream", b"".join(b"event: content_block_delta\n" + sse([e]) for e in events)


def _gemini_request(text: str) -> dict:
    return {
        "systemInstruction": {"parts": [{"text": "You are a coding agent."}]},
        "contents": [
            {"role": "user", "parts": [{"text": f"Fix this: {text}"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "read_file", "args": {"file_path": "src/app.py"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "read_file", "response": {"output": f"API = '{text}'"}}}]},
        ],
    }


def _gemini_stream(fragments: list[str]) -> tuple[str, bytes]:
    events = [
        {"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": f}]}}], "modelVersion": "gemini-x"} for f in fragments
    ]
    return "text/event-stream", sse(events)


def _ollama_request(text: str) -> dict:
    return {
        "model": "qwen",
        "messages": [{"role": "system", "content": "You are a coding agent."}, {"role": "user", "content": f"Fix this: {text}"}],
    }


def _ollama_stream(fragments: list[str]) -> tuple[str, bytes]:
    lines = [json.dumps({"model": "qwen", "message": {"role": "assistant", "content": f}, "done": False}) for f in fragments]
    return "application/x-ndjson", ("\n".join([*lines, json.dumps({"model": "qwen", "done": True})]) + "\n").encode()


def _converse_request(text: str) -> dict:
    return {
        "system": [{"text": "You are a coding agent."}],
        "inferenceConfig": {"maxTokens": 512},
        "messages": [
            {"role": "user", "content": [{"text": f"Fix this: {text}"}]},
            {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": "read_file", "input": {"path": "src/app.py"}}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "toolResult": {
                            "toolUseId": "tooluse_1",
                            "status": "success",
                            "content": [{"text": f"API = '{text}'"}, {"json": {"value": text}}],
                        }
                    }
                ],
            },
        ],
    }


def _converse_stream(fragments: list[str]) -> tuple[str, bytes]:
    frames = [eventstream.event("messageStart", {"role": "assistant", "p": "abc"})]
    frames += [eventstream.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": f}, "p": "abcdef"}) for f in fragments]
    frames += [
        eventstream.event("contentBlockStop", {"contentBlockIndex": 0}),
        eventstream.event("messageStop", {"stopReason": "end_turn"}),
    ]
    return eventstream.CONTENT_TYPE, b"".join(frames)


def _invoke_request(text: str) -> dict:
    doc = _anthropic_request(text)
    del doc["model"], doc["stream"]
    return {"anthropic_version": "bedrock-2023-05-31", **doc}


def _invoke_stream(fragments: list[str]) -> tuple[str, bytes]:
    events = [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f}} for f in fragments]
    return eventstream.CONTENT_TYPE, b"".join(eventstream.chunk(e) for e in [*events, {"type": "message_stop"}])


def _q_request(text: str) -> dict:
    return {
        "profileArn": "arn:aws:codewhisperer:us-east-1:123456789012:profile/EXAMPLE",
        "conversationState": {
            "conversationId": "conv-1",
            "chatTriggerType": "MANUAL",
            "history": [
                {"userInputMessage": {"content": f"Fix this: {text}", "origin": "CLI"}},
                {
                    "assistantResponseMessage": {
                        "messageId": "m1",
                        "content": "Reading it.",
                        "toolUses": [{"toolUseId": "tooluse_1", "name": "fs_read", "input": {"path": "src/app.py"}}],
                    }
                },
            ],
            "currentMessage": {
                "userInputMessage": {
                    "content": "",
                    "modelId": "claude-x",
                    "origin": "CLI",
                    "userInputMessageContext": {
                        "editorState": {
                            "document": {
                                "relativeFilePath": "src/app.py",
                                "programmingLanguage": {"languageName": "python"},
                                "text": f"API = '{text}'",
                            }
                        },
                        "toolResults": [{"toolUseId": "tooluse_1", "status": "success", "content": [{"text": f"API = '{text}'"}]}],
                    },
                }
            },
        },
    }


def _q_stream(fragments: list[str]) -> tuple[str, bytes]:
    frames = [eventstream.event("messageMetadataEvent", {"conversationId": "conv-1"})]
    frames += [eventstream.event("assistantResponseEvent", {"content": f}) for f in fragments]
    return eventstream.CONTENT_TYPE, b"".join(frames)


def _chat_answer(text: str) -> dict:
    return {
        "id": "c1",
        "object": "chat.completion",
        "model": "gpt-x",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
    }


def _mcp_request(text: str) -> dict:
    return {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {
            "name": "create_issue",
            "arguments": {"repo": "corp/app", "title": "Deploy fails", "body": f"Our config has {text} in it"},
        },
    }


def _mcp_answer(text: str) -> dict:
    return {"jsonrpc": "2.0", "id": 7, "result": {"content": [{"type": "text", "text": text}], "isError": False}}


def _mcp_stream(fragments: list[str]) -> tuple[str, bytes]:
    """MCP answers are whole messages: the fragments arrive as one JSON-RPC result event."""
    return "text/event-stream", b"event: message\n" + sse([_mcp_answer("".join(fragments))])


SAMPLES: dict[str, Sample] = {
    "openai-chat": Sample("openai", "/v1/chat/completions", _chat_request, _chat_stream, _chat_answer, ("authorization", "Bearer {}")),
    "openai-responses": Sample(
        "openai",
        "/v1/responses",
        _responses_request,
        _responses_stream,
        lambda t: {
            "id": "r1",
            "object": "response",
            "model": "gpt-x",
            "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": t}]}],
        },
        ("authorization", "Bearer {}"),
    ),
    "openai-completions": Sample(
        "openai",
        "/v1/engines/copilot-codex/completions",
        _completions_request,
        _completions_stream,
        lambda t: {"id": "c1", "object": "text_completion", "choices": [{"index": 0, "text": t}]},
        ("authorization", "Bearer {}"),
    ),
    "anthropic-messages": Sample(
        "anthropic",
        "/v1/messages",
        _anthropic_request,
        _anthropic_stream,
        lambda t: {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "content": [{"type": "text", "text": t}]},
        ("x-api-key", "{}"),
    ),
    "gemini": Sample(
        "gemini",
        "/v1beta/models/gemini-x:streamGenerateContent",
        _gemini_request,
        _gemini_stream,
        lambda t: {"candidates": [{"content": {"role": "model", "parts": [{"text": t}]}}], "modelVersion": "gemini-x"},
        ("x-goog-api-key", "{}"),
    ),
    "ollama": Sample(
        "ollama",
        "/api/chat",
        _ollama_request,
        _ollama_stream,
        lambda t: {"model": "qwen", "message": {"role": "assistant", "content": t}, "done": True},
        ("authorization", "Bearer {}"),
    ),
    "mcp": Sample("mcp", "/mcp", _mcp_request, _mcp_stream, _mcp_answer, ("authorization", "Bearer {}")),
    "bedrock-converse": Sample(
        "bedrock",
        "/model/us.anthropic.claude-x-v1:0/converse-stream",
        _converse_request,
        _converse_stream,
        lambda t: {"output": {"message": {"role": "assistant", "content": [{"text": t}]}}, "stopReason": "end_turn"},
        ("authorization", "Bearer {}"),
        eventstream.client_text,
    ),
    "bedrock-invoke": Sample(
        "bedrock",
        "/model/anthropic.claude-x-v1:0/invoke-with-response-stream",
        _invoke_request,
        _invoke_stream,
        lambda t: {"id": "msg_1", "type": "message", "role": "assistant", "content": [{"type": "text", "text": t}]},
        ("authorization", "Bearer {}"),
        eventstream.client_text,
    ),
    "amazon-q": Sample(
        "amazon-q",
        "/",
        _q_request,
        _q_stream,
        lambda t: {"completions": [{"content": t}]},
        ("authorization", "Bearer {}"),
        eventstream.client_text,
    ),
    "generic": Sample("generic", "/v1/anything", _chat_request, _chat_stream, _chat_answer, ("x-api-key", "{}")),
    "text": Sample("text", "/", lambda t: f"Fix this: {t}\n".encode(), _chat_stream, _chat_answer, ("authorization", "Bearer {}")),
}
