"""A fake model for the real agent CLIs: a TLS server on loopback that checks every request as the
provider would and answers like a model, streamed (SSE) or not, for OpenAI Chat Completions, OpenAI
Responses, Anthropic Messages and Gemini generateContent / streamGenerateContent.

Requests are validated with the official SDKs' request types (openai, anthropic) through pydantic,
plus the cross-field rules the APIs enforce (every tool result answers a call of the previous turn,
by id); Gemini bodies with a strict validator written from the public REST schema (unknown fields are
refused, as the API does). An invalid body gets the provider's 400 error, so a client that a proxy
broke fails as it would against the real API.

The script, the same for every agent, is decided from the conversation the request carries (the
server keeps no state, like a real model): with no tool result yet, parallel calls reading
``settings.py`` and ``.env`` (or another protected file); after those results, a call writing ``out.py`` with every placeholder
the results held; after that, a final text answer. Requests without tools (titles, summaries,
quota checks, Aider) get text; a request for JSON output gets an object built from its schema."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import ssl
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import TypeAdapter, ValidationError

from support.pki import PKI

FINAL_TEXT = "All done: out.py now holds the settings."
PLACEHOLDER = re.compile(r"\[REDACTED:[a-z0-9][a-z0-9._-]{0,63}:[0-9a-f]{10}\]")
READ_FILES = ("settings.py", ".env")
OUT_FILE = "out.py"


@dataclass
class Exchange:
    """One request as the model received it, and what it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes  # decoded (Content-Encoding removed)
    api: str
    errors: list[str] = field(default_factory=list)
    answer: str = ""  # tool_calls:read / tool_calls:write / text / json / error

    def json(self) -> Any:
        return json.loads(self.body)


# ---- validation ---------------------------------------------------------------------------------
def _adapter(kind: str) -> TypeAdapter:
    if kind == "chat":
        from openai.types.chat import completion_create_params as p

        return TypeAdapter(p.CompletionCreateParamsBase)
    if kind == "responses":
        from openai.types.responses import response_create_params as p

        return TypeAdapter(p.ResponseCreateParamsBase)
    if kind == "anthropic-beta":
        from anthropic.types.beta import message_create_params as p

        return TypeAdapter(p.MessageCreateParamsBase)
    if kind == "anthropic":
        from anthropic.types import message_create_params as p

        return TypeAdapter(p.MessageCreateParamsBase)
    if kind == "count_tokens":
        from anthropic.types.beta import message_count_tokens_params as p

        return TypeAdapter(p.MessageCountTokensParams)
    raise KeyError(kind)


_ADAPTERS: dict[str, TypeAdapter] = {}


def _drain(value: Any, where: tuple, errors: list[str]) -> None:
    """pydantic validates ``Iterable`` fields lazily: walk everything so every item is checked."""
    if isinstance(value, dict):
        for k, v in value.items():
            _drain(v, (*where, k), errors)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _drain(v, (*where, i), errors)
    elif hasattr(value, "__next__"):
        i = 0
        while True:
            try:
                item = next(value)
            except StopIteration:
                return
            except ValidationError as exc:
                errors += _messages(exc, where)
                return
            _drain(item, (*where, i), errors)
            i += 1


def _messages(exc: ValidationError, where: tuple = ()) -> list[str]:
    def loc(parts: tuple) -> str:  # pydantic names union members in the location: keep them short
        return ".".join(re.sub(r"\[.*\]", "[…]", str(p)) for p in parts)

    return [f"{loc((*where, *e['loc']))}: {e['msg']}" for e in exc.errors()[:6]]


def sdk_errors(kind: str, doc: Any) -> list[str]:
    adapter = _ADAPTERS.get(kind) or _ADAPTERS.setdefault(kind, _adapter(kind))
    try:
        validated = adapter.validate_python(doc)
    except ValidationError as exc:
        return _messages(exc)
    errors: list[str] = []
    _drain(validated, (), errors)
    return errors


def anthropic_pairing_errors(doc: dict) -> list[str]:
    """Every tool_result answers a tool_use of the previous assistant turn, and every tool_use is answered."""
    errors = []
    messages = doc.get("messages", [])
    for i, msg in enumerate(messages):
        if msg.get("role") != "assistant" or not isinstance(msg.get("content"), list):
            continue
        uses = [b.get("id") for b in msg["content"] if isinstance(b, dict) and b.get("type") in ("tool_use", "server_tool_use")]
        if not uses or i + 1 >= len(messages):
            continue
        following = messages[i + 1].get("content")
        answered = (
            [b.get("tool_use_id") for b in following if isinstance(b, dict) and b.get("type") == "tool_result"]
            if isinstance(following, list)
            else []
        )
        if sorted(map(str, answered)) != sorted(map(str, uses)):
            errors.append(f"messages.{i + 1}: tool_use ids {uses} were not answered by tool_result blocks (got {answered})")
    return errors


def chat_pairing_errors(doc: dict) -> list[str]:
    errors = []
    messages = doc.get("messages", [])
    for i, msg in enumerate(messages):
        if msg.get("role") != "assistant" or not msg.get("tool_calls"):
            continue
        ids = [c.get("id") for c in msg["tool_calls"]]
        answered = []
        for follow in messages[i + 1 :]:
            if follow.get("role") != "tool":
                break
            answered.append(follow.get("tool_call_id"))
        if sorted(map(str, answered)) != sorted(map(str, ids)):
            errors.append(f"messages.{i}: tool_calls {ids} must be followed by tool messages answering each (got {answered})")
    return errors


def responses_pairing_errors(doc: dict) -> list[str]:
    items = doc.get("input") if isinstance(doc.get("input"), list) else []
    calls = {
        it.get("call_id")
        for it in items
        if isinstance(it, dict) and it.get("type") in ("function_call", "custom_tool_call", "local_shell_call")
    }
    outputs = [
        it
        for it in items
        if isinstance(it, dict) and it.get("type") in ("function_call_output", "custom_tool_call_output", "local_shell_call_output")
    ]
    if doc.get("previous_response_id"):
        return []
    return [
        f"input: no tool call found for {it.get('type')} with call_id {it.get('call_id')!r}"
        for it in outputs
        if it.get("call_id") not in calls
    ]


# Gemini: the public REST schema of GenerateContentRequest (v1beta), strict about field names.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$")
_GEMINI_PART_DATA = {"text", "inlineData", "functionCall", "functionResponse", "fileData", "executableCode", "codeExecutionResult"}
_GEMINI_PART_META = {"thought", "thoughtSignature", "partMetadata", "videoMetadata", "mediaResolution"}
_GEMINI_TOP = {
    "contents",
    "tools",
    "toolConfig",
    "safetySettings",
    "systemInstruction",
    "generationConfig",
    "cachedContent",
    "labels",
    "model",
}
_GEMINI_TOOL = {
    "functionDeclarations",
    "googleSearch",
    "googleSearchRetrieval",
    "codeExecution",
    "urlContext",
    "retrieval",
    "computerUse",
    "fileSearch",
    "googleMaps",
}
_GEMINI_DECL = {"name", "description", "parameters", "parametersJsonSchema", "response", "responseJsonSchema", "behavior"}


def gemini_errors(doc: Any) -> list[str]:
    errors: list[str] = []

    def unknown(obj: dict, allowed: set[str], where: str) -> None:
        for key in obj:
            if key not in allowed:
                errors.append(f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field.")

    def content(c: Any, where: str, role_required: bool) -> None:
        if not isinstance(c, dict):
            errors.append(f"{where}: must be an object")
            return
        unknown(c, {"role", "parts"}, where)
        if "role" in c and c["role"] not in ("user", "model", "function", "system"):
            errors.append(f"{where}.role: Please use a valid role: user, model.")
        if role_required and "role" not in c:
            errors.append(f"{where}.role: required")
        parts = c.get("parts")
        if not isinstance(parts, list) or not parts:
            errors.append(f"{where}.parts: must contain at least one part")
            return
        for j, p in enumerate(parts):
            part(p, f"{where}.parts[{j}]")

    def part(p: Any, where: str) -> None:
        if not isinstance(p, dict):
            errors.append(f"{where}: must be an object")
            return
        unknown(p, _GEMINI_PART_DATA | _GEMINI_PART_META, where)
        data = [k for k in p if k in _GEMINI_PART_DATA]
        if len(data) != 1 and not (not data and "thoughtSignature" in p):
            errors.append(f"{where}: a part holds exactly one of {sorted(_GEMINI_PART_DATA)} (got {data})")
        if "text" in p and not isinstance(p["text"], str):
            errors.append(f"{where}.text: must be a string")
        for key in ("thought",):
            if key in p and not isinstance(p[key], bool):
                errors.append(f"{where}.{key}: must be a boolean")
        if "functionCall" in p:
            call = p["functionCall"]
            unknown(call, {"id", "name", "args"}, where + ".functionCall")
            if not isinstance(call.get("name"), str) or not _NAME.match(call["name"]):
                errors.append(f"{where}.functionCall.name: invalid function name {call.get('name')!r}")
            if "args" in call and not isinstance(call["args"], dict):
                errors.append(f"{where}.functionCall.args: must be an object")
        if "functionResponse" in p:
            resp = p["functionResponse"]
            unknown(resp, {"id", "name", "response", "parts", "willContinue", "scheduling"}, where + ".functionResponse")
            if not isinstance(resp.get("name"), str) or not _NAME.match(resp["name"]):
                errors.append(f"{where}.functionResponse.name: invalid function name {resp.get('name')!r}")
            if not isinstance(resp.get("response"), dict):
                errors.append(f"{where}.functionResponse.response: must be an object")
        if "inlineData" in p:
            unknown(p["inlineData"], {"mimeType", "data"}, where + ".inlineData")

    if not isinstance(doc, dict):
        return ["request: must be an object"]
    unknown(doc, _GEMINI_TOP, "request")
    contents = doc.get("contents")
    if not isinstance(contents, list) or not contents:
        errors.append("contents: must not be empty")
        contents = []
    for i, c in enumerate(contents):
        content(c, f"contents[{i}]", role_required=False)
    if "systemInstruction" in doc:
        content(doc["systemInstruction"], "systemInstruction", role_required=False)
    for i, tool in enumerate(doc.get("tools", [])):
        unknown(tool, _GEMINI_TOOL, f"tools[{i}]")
        for j, decl in enumerate(tool.get("functionDeclarations", [])):
            unknown(decl, _GEMINI_DECL, f"tools[{i}].functionDeclarations[{j}]")
            if not _NAME.match(str(decl.get("name", ""))):
                errors.append(f"tools[{i}].functionDeclarations[{j}].name: invalid function name")
    errors += _gemini_pairing_errors(contents)
    return errors


def _gemini_pairing_errors(contents: list) -> list[str]:
    """A model turn of N function calls is followed by a turn of N function responses, matching by
    id where the calls carry ids, else by name in order."""
    errors = []
    for i, c in enumerate(contents[:-1]):
        calls = [p["functionCall"] for p in c.get("parts", []) if isinstance(p, dict) and "functionCall" in p]
        if not calls:
            continue
        responses = [p["functionResponse"] for p in contents[i + 1].get("parts", []) if isinstance(p, dict) and "functionResponse" in p]
        if len(responses) != len(calls):
            errors.append(
                f"contents[{i + 1}]: Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn ({len(responses)} != {len(calls)})"
            )
        elif any(c.get("id") for c in calls):
            if sorted(str(c.get("id")) for c in calls) != sorted(str(r.get("id")) for r in responses):
                errors.append(f"contents[{i + 1}]: function response ids do not match the function call ids")
        elif [c.get("name") for c in calls] != [r.get("name") for r in responses]:
            errors.append(f"contents[{i + 1}]: function response names do not match the function call names")
    return errors


def api_of(path: str, headers: dict[str, str]) -> str:
    p = path.split("?")[0]
    if p.endswith("/messages/count_tokens"):
        return "count_tokens"
    if p.endswith("/messages"):
        return "anthropic-beta" if "beta=true" in path or headers.get("anthropic-beta") else "anthropic"
    if p.endswith("/responses"):
        return "responses"
    if p.endswith("/chat/completions"):
        return "chat"
    if ":generateContent" in p or ":streamGenerateContent" in p:
        return "gemini"
    if ":countTokens" in p:
        return "gemini-count"
    return "other"


def validate(api: str, doc: Any) -> list[str]:
    if api == "gemini":
        return gemini_errors(doc)
    if api == "gemini-count":
        return gemini_errors({"contents": doc.get("contents") or doc.get("generateContentRequest", {}).get("contents", [])})
    if api not in ("chat", "responses", "anthropic", "anthropic-beta", "count_tokens"):
        return []
    errors = sdk_errors(api, doc)
    if api.startswith("anthropic") or api == "count_tokens":
        errors += anthropic_pairing_errors(doc)
    elif api == "chat":
        errors += chat_pairing_errors(doc)
    else:
        errors += responses_pairing_errors(doc)
    return errors


# ---- the conversation -----------------------------------------------------------------------------
@dataclass
class Tool:
    name: str
    params: dict  # JSON Schema properties
    kind: str = "function"  # function, custom (freeform input), local_shell


@dataclass
class Call:
    name: str
    args: dict | str  # str: a custom tool's freeform input


@dataclass
class Conversation:
    """What the script needs from a request, whatever the API."""

    tools: list[Tool]
    results: list[str]  # tool-result texts, in order
    rounds: int  # assistant turns that called tools
    text: str  # all user-visible text of the request (system, user)
    json_schema: dict | None = None


def _schema_props(schema: Any) -> dict:
    return (schema or {}).get("properties", {}) if isinstance(schema, dict) else {}


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_text_of(v) for v in value)
    if isinstance(value, dict):
        for key in ("text", "content", "output", "response", "result"):
            if key in value:
                return _text_of(value[key])
        return json.dumps(value)
    return ""


def read_conversation(api: str, doc: dict) -> Conversation:
    if api.startswith("anthropic"):
        tools = [Tool(t["name"], _schema_props(t.get("input_schema"))) for t in doc.get("tools", []) if "name" in t]
        results, rounds, texts = [], 0, [_text_of(doc.get("system", ""))]
        for msg in doc.get("messages", []):
            blocks = msg["content"] if isinstance(msg["content"], list) else [{"type": "text", "text": msg["content"]}]
            rounds += msg["role"] == "assistant" and any(b.get("type") == "tool_use" for b in blocks)
            for b in blocks:
                if b.get("type") == "tool_result":
                    results.append(_text_of(b.get("content", "")))
                elif b.get("type") == "text" and msg["role"] == "user":
                    texts.append(b["text"])
        return Conversation(tools, results, rounds, "\n".join(texts), _anthropic_schema(doc))
    if api == "chat":
        tools = [
            Tool(t["function"]["name"], _schema_props(t["function"].get("parameters")))
            for t in doc.get("tools", [])
            if t.get("type") == "function"
        ]
        results, rounds, texts = [], 0, []
        for msg in doc.get("messages", []):
            rounds += msg["role"] == "assistant" and bool(msg.get("tool_calls"))
            if msg["role"] == "tool":
                results.append(_text_of(msg.get("content")))
            elif msg["role"] in ("user", "system", "developer"):
                texts.append(_text_of(msg.get("content")))
        fmt = doc.get("response_format") or {}
        return Conversation(
            tools, results, rounds, "\n".join(texts), fmt.get("json_schema", {}).get("schema") if fmt.get("type") == "json_schema" else None
        )
    if api == "responses":
        tools = []
        for t in doc.get("tools", []):
            if t.get("type") == "function":
                tools.append(Tool(t["name"], _schema_props(t.get("parameters"))))
            elif t.get("type") == "custom":
                tools.append(Tool(t["name"], {}, "custom"))
            elif t.get("type") == "local_shell":
                tools.append(Tool("local_shell", {}, "local_shell"))
        items = (
            doc["input"] if isinstance(doc.get("input"), list) else [{"type": "message", "role": "user", "content": doc.get("input", "")}]
        )
        results, rounds, texts, last_was_call = [], 0, [_text_of(doc.get("instructions", ""))], False
        for it in items:
            kind = it.get("type", "message")
            is_call = kind in ("function_call", "custom_tool_call", "local_shell_call")
            rounds += is_call and not last_was_call  # parallel calls are consecutive items: one turn
            last_was_call = is_call
            if kind.endswith("_call_output"):
                results.append(_text_of(it.get("output")))
            elif kind == "message" and it.get("role") in ("user", "developer", "system"):
                texts.append(_text_of(it.get("content")))
        return Conversation(tools, results, rounds, "\n".join(texts))
    # gemini
    tools = [
        Tool(d["name"], _schema_props(d.get("parameters") or d.get("parametersJsonSchema")))
        for t in doc.get("tools", [])
        for d in t.get("functionDeclarations", [])
    ]
    results, rounds, texts = [], 0, [_text_of((doc.get("systemInstruction") or {}).get("parts", []))]
    for c in doc.get("contents", []):
        parts = c.get("parts", [])
        rounds += c.get("role") == "model" and any("functionCall" in p for p in parts)
        for p in parts:
            if "functionResponse" in p:
                results.append(_text_of(p["functionResponse"].get("response")))
            elif "text" in p and c.get("role") != "model":
                texts.append(p["text"])
    gen = doc.get("generationConfig") or {}
    schema = gen.get("responseJsonSchema") or gen.get("responseSchema")
    return Conversation(tools, results, rounds, "\n".join(texts), schema if gen.get("responseMimeType") == "application/json" else None)


def _anthropic_schema(doc: dict) -> dict | None:
    fmt = (doc.get("output_config") or {}).get("format") or doc.get("output_format") or {}
    return fmt.get("schema") if fmt.get("type") == "json_schema" else None


NOT_FILE_TOOLS = {"image", "many", "mcp", "resource", "memory", "notebook", "todo", "web", "url", "plan", "skill"}


def _find(tools: list[Tool], *words: str) -> Tool | None:
    """The first tool whose name has one of ``words`` as a word (read_file, Read, ReadFile), not an
    image, MCP resource or many-files variant."""
    for word in words:
        for tool in tools:
            parts = set(re.split(r"[_\W]+", re.sub(r"(?<=[a-z])(?=[A-Z])", "_", tool.name).lower()))
            if word in parts and not parts & NOT_FILE_TOOLS:
                return tool
    return None


def _path_param(tool: Tool) -> str:
    return next((p for p in ("file_path", "absolute_path", "path", "filePath", "filename", "target_file") if p in tool.params), "file_path")


def _shell_call(tool: Tool, command: str) -> Call:
    if tool.kind == "custom":
        return Call(tool.name, command)
    if "cmd" in tool.params:
        return Call(tool.name, {"cmd": command})
    if tool.params.get("command", {}).get("type") == "array" or tool.kind == "local_shell":
        return Call(tool.name, {"command": ["bash", "-lc", command]})
    return Call(tool.name, {"command": command})


def plan(conv: Conversation, workdir: str, read_files: tuple[str, ...] = READ_FILES) -> tuple[str, list[Call] | str]:
    """("read"|"write", calls) or ("text"|"json", text)."""
    if conv.json_schema is not None:
        return "json", json.dumps(object_for(conv.json_schema))
    reader = _find(conv.tools, "read", "cat")
    writer = _find([t for t in conv.tools if "content" in t.params], "write")
    shell = _find(conv.tools, "exec", "shell", "bash")
    if not (reader or shell):
        return "text", _text_answer(conv)
    if conv.rounds == 0:
        if reader:
            return "read", [Call(reader.name, {_path_param(reader): f"{workdir}/{name}"}) for name in read_files]
        return "read", [_shell_call(shell, f"cat {name}") for name in read_files]
    if conv.rounds == 1:
        content = out_file_text(conv.results)
        if writer:
            return "write", [Call(writer.name, {_path_param(writer): f"{workdir}/{OUT_FILE}", "content": content})]
        return "write", [_shell_call(shell, f"cat > {OUT_FILE} <<'EOF'\n{content}EOF")]
    return "text", FINAL_TEXT


def out_file_text(results: list[str]) -> str:
    """The file the model writes: every placeholder it was given, one per line."""
    found = list(dict.fromkeys(PLACEHOLDER.findall("\n".join(results))))
    return "".join(f"VALUE_{i} = {p!r}\n" for i, p in enumerate(found)) or "VALUE = None\n"


def _text_answer(conv: Conversation) -> str:
    """Aider-style: no tools, files in the prompt; answer with a whole-file edit of out.py."""
    if "SEARCH" in conv.text and "REPLACE" in conv.text:
        body = out_file_text([conv.text])
        return f"{FINAL_TEXT}\n\n{OUT_FILE}\n```python\n<<<<<<< SEARCH\n=======\n{body}>>>>>>> REPLACE\n```\n"
    return FINAL_TEXT


def object_for(schema: dict) -> Any:
    """A value that satisfies a (simple) JSON Schema: what structured-output callers expect."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    kind = str(kind).lower()
    if kind == "object" or "properties" in schema:
        return {k: object_for(v) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return 0
    if kind == "boolean":
        return False
    return "user" if "speaker" in json.dumps(schema) else "done"


# ---- answers, per API ---------------------------------------------------------------------------
def _sse(event: str | None, data: Any) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


class Answer:
    """Builds the body (non-streamed) or the events (streamed) of one answer."""

    def __init__(self, api: str, model: str, kind: str, content: list[Call] | str):
        self.api, self.model, self.kind, self.content = api, model, kind, content
        self.calls = content if isinstance(content, list) else []
        self.text = content if isinstance(content, str) else ""
        self.stamp = f"{time.monotonic_ns():x}"[-10:]

    def call_id(self, i: int) -> str:
        return {"chat": "call_", "responses": "call_", "gemini": "gc_"}.get(self.api, "toolu_") + f"{self.stamp}{i}"

    # Anthropic Messages
    def anthropic(self) -> dict:
        blocks: list[dict] = [{"type": "text", "text": self.text}] if self.text else []
        blocks += [{"type": "tool_use", "id": self.call_id(i), "name": c.name, "input": c.args} for i, c in enumerate(self.calls)]
        return {
            "id": f"msg_{self.stamp}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": blocks,
            "stop_reason": "tool_use" if self.calls else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
        }

    def anthropic_events(self) -> list[bytes]:
        msg = self.anthropic()
        start = dict(msg, content=[], stop_reason=None, usage=dict(msg["usage"], output_tokens=0))
        out = [_sse("message_start", {"type": "message_start", "message": start})]
        for i, block in enumerate(msg["content"]):
            if block["type"] == "text":
                out.append(
                    _sse("content_block_start", {"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}})
                )
                out += [
                    _sse("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": piece}})
                    for piece in _pieces(block["text"])
                ]
            else:
                out.append(_sse("content_block_start", {"type": "content_block_start", "index": i, "content_block": dict(block, input={})}))
                out += [
                    _sse(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": piece}},
                    )
                    for piece in _pieces(json.dumps(block["input"]))
                ]
            out.append(_sse("content_block_stop", {"type": "content_block_stop", "index": i}))
        out.append(
            _sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
                    "usage": {"output_tokens": 5},
                },
            )
        )
        out.append(_sse("message_stop", {"type": "message_stop"}))
        return out

    # OpenAI Chat Completions
    def chat(self) -> dict:
        message: dict = {"role": "assistant", "content": self.text or None, "refusal": None}
        if self.calls:
            message["tool_calls"] = [
                {"id": self.call_id(i), "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.args)}}
                for i, c in enumerate(self.calls)
            ]
        return {
            "id": f"chatcmpl-{self.stamp}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if self.calls else "stop", "logprobs": None}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }

    def chat_events(self, include_usage: bool) -> list[bytes]:
        base = {"id": f"chatcmpl-{self.stamp}", "object": "chat.completion.chunk", "created": int(time.time()), "model": self.model}

        def chunk(delta: dict, finish: str | None = None) -> bytes:
            return _sse(None, dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]))

        out = [chunk({"role": "assistant", "content": ""})]
        out += [chunk({"content": piece}) for piece in _pieces(self.text)]
        for i, c in enumerate(self.calls):
            args = json.dumps(c.args)
            out.append(
                chunk(
                    {"tool_calls": [{"index": i, "id": self.call_id(i), "type": "function", "function": {"name": c.name, "arguments": ""}}]}
                )
            )
            out += [chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}) for piece in _pieces(args)]
        out.append(chunk({}, "tool_calls" if self.calls else "stop"))
        if include_usage:
            out.append(_sse(None, dict(base, choices=[], usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15})))
        out.append(b"data: [DONE]\n\n")
        return out

    # OpenAI Responses
    def response_items(self) -> list[dict]:
        items: list[dict] = []
        if self.text:
            items.append(
                {
                    "type": "message",
                    "id": f"msg_{self.stamp}",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": self.text, "annotations": []}],
                }
            )
        for i, c in enumerate(self.calls):
            if isinstance(c.args, str):
                items.append(
                    {
                        "type": "custom_tool_call",
                        "id": f"ctc_{self.stamp}{i}",
                        "call_id": self.call_id(i),
                        "name": c.name,
                        "input": c.args,
                        "status": "completed",
                    }
                )
            else:
                items.append(
                    {
                        "type": "function_call",
                        "id": f"fc_{self.stamp}{i}",
                        "call_id": self.call_id(i),
                        "name": c.name,
                        "arguments": json.dumps(c.args),
                        "status": "completed",
                    }
                )
        return items

    def response(self, status: str = "completed", output: list | None = None) -> dict:
        return {
            "id": f"resp_{self.stamp}",
            "object": "response",
            "created_at": int(time.time()),
            "model": self.model,
            "status": status,
            "output": self.response_items() if output is None else output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "error": None,
            "incomplete_details": None,
            "usage": {
                "input_tokens": 10,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 5,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 15,
            },
        }

    def responses_events(self) -> list[bytes]:
        seq = iter(range(10**6))

        def ev(kind: str, **fields) -> bytes:
            return _sse(kind, {"type": kind, "sequence_number": next(seq), **fields})

        out = [
            ev("response.created", response=self.response("in_progress", [])),
            ev("response.in_progress", response=self.response("in_progress", [])),
        ]
        for index, item in enumerate(self.response_items()):
            if item["type"] == "message":
                text = item["content"][0]["text"]
                out.append(ev("response.output_item.added", output_index=index, item=dict(item, status="in_progress", content=[])))
                out.append(
                    ev(
                        "response.content_part.added",
                        output_index=index,
                        item_id=item["id"],
                        content_index=0,
                        part={"type": "output_text", "text": "", "annotations": []},
                    )
                )
                out += [
                    ev("response.output_text.delta", output_index=index, item_id=item["id"], content_index=0, delta=p, logprobs=[])
                    for p in _pieces(text)
                ]
                out.append(ev("response.output_text.done", output_index=index, item_id=item["id"], content_index=0, text=text, logprobs=[]))
                out.append(
                    ev("response.content_part.done", output_index=index, item_id=item["id"], content_index=0, part=item["content"][0])
                )
            elif item["type"] == "function_call":
                out.append(ev("response.output_item.added", output_index=index, item=dict(item, status="in_progress", arguments="")))
                out += [
                    ev("response.function_call_arguments.delta", output_index=index, item_id=item["id"], delta=p)
                    for p in _pieces(item["arguments"])
                ]
                out.append(ev("response.function_call_arguments.done", output_index=index, item_id=item["id"], arguments=item["arguments"]))
            else:
                out.append(ev("response.output_item.added", output_index=index, item=dict(item, status="in_progress", input="")))
                out += [
                    ev("response.custom_tool_call_input.delta", output_index=index, item_id=item["id"], delta=p)
                    for p in _pieces(item["input"])
                ]
                out.append(ev("response.custom_tool_call_input.done", output_index=index, item_id=item["id"], input=item["input"]))
            out.append(ev("response.output_item.done", output_index=index, item=item))
        out.append(ev("response.completed", response=self.response()))
        return out

    # Gemini
    def gemini(self, parts: list[dict] | None = None, finish: bool = True) -> dict:
        if parts is None:
            parts = ([{"text": self.text}] if self.text else []) + [
                {"functionCall": {"id": self.call_id(i), "name": c.name, "args": c.args}} for i, c in enumerate(self.calls)
            ]
        candidate: dict = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            candidate["finishReason"] = "STOP"
        return {
            "candidates": [candidate],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
            "modelVersion": self.model,
            "responseId": f"r{self.stamp}",
        }

    def gemini_events(self) -> list[bytes]:
        pieces = list(_pieces(self.text))
        out = [_sse(None, self.gemini([{"text": p}], finish=False)) for p in pieces[:-1]] if self.text else []
        last = ([{"text": pieces[-1]}] if self.text else []) + [
            {"functionCall": {"id": self.call_id(i), "name": c.name, "args": c.args}} for i, c in enumerate(self.calls)
        ]
        out.append(_sse(None, self.gemini(last)))
        return out


def _pieces(text: str, size: int = 12) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def error_body(api: str, message: str) -> dict:
    if api.startswith("anthropic") or api == "count_tokens":
        return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    if api.startswith("gemini"):
        return {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}


# ---- the server ---------------------------------------------------------------------------------
@dataclass
class FakeModel:
    port: int
    workdir: str
    read_files: tuple[str, ...] = READ_FILES  # what the first turn reads, in parallel
    exchanges: list[Exchange] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"https://{self.host}"

    def model_requests(self) -> list[Exchange]:
        """Requests to the model: HTTP POSTs and WebSocket messages."""
        return [e for e in self.exchanges if e.api != "other"]

    def invalid(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.errors]


def _decode(body: bytes, encoding: str) -> bytes:
    encoding = encoding.lower().strip()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if encoding == "br":
        import brotli

        return brotli.decompress(body)
    return body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    model: FakeModel

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.headers.get("upgrade", "").lower() == "websocket":
            return self._websocket()
        self._record("GET", b"")
        if self.path.split("?")[0].rstrip("/").endswith("/models"):
            return self._json(
                200,
                {
                    "object": "list",
                    "data": [{"id": "fake-model", "object": "model", "created": 1, "owned_by": "fake"}],
                    "models": [{"name": "models/fake-model", "slug": "fake-model"}],
                },
            )
        return self._json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self):
        raw = self._read_body()
        body = _decode(raw, self.headers.get("content-encoding", ""))
        exchange = self._record("POST", body)
        api = exchange.api
        if api == "other":
            return self._json(200, {})
        try:
            doc = json.loads(body)
        except ValueError as exc:
            exchange.errors.append(f"body is not JSON: {exc}")
            return self._error(exchange)
        exchange.errors += validate(api, doc)
        if exchange.errors:
            return self._error(exchange)
        if api in ("count_tokens", "gemini-count"):
            return self._json(200, {"input_tokens": 10} if api == "count_tokens" else {"totalTokens": 10})
        kind, content = plan(read_conversation(api, doc), self.model.workdir, self.model.read_files)
        exchange.answer = kind
        model = doc.get("model") or self.path.split("/models/")[-1].split(":")[0]
        answer = Answer(api, model, kind, content)
        streamed = bool(doc.get("stream")) or ":streamGenerateContent" in self.path
        if api.startswith("anthropic"):
            return self._events(answer.anthropic_events()) if streamed else self._json(200, answer.anthropic())
        if api == "chat":
            include_usage = bool((doc.get("stream_options") or {}).get("include_usage"))
            return self._events(answer.chat_events(include_usage)) if streamed else self._json(200, answer.chat())
        if api == "responses":
            return self._events(answer.responses_events()) if streamed else self._json(200, answer.response())
        return self._events(answer.gemini_events()) if streamed else self._json(200, answer.gemini())

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if not size:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length", 0)))

    def _record(self, method: str, body: bytes) -> Exchange:
        headers = {k.lower(): v for k, v in self.headers.items()}
        exchange = Exchange(method, self.path, headers, body, api_of(self.path, headers) if method == "POST" else "other")
        with self.model.lock:
            self.model.exchanges.append(exchange)
        return exchange

    def _error(self, exchange: Exchange):
        exchange.answer = "error"
        return self._json(400, error_body(exchange.api, "; ".join(exchange.errors)))

    def _json(self, status: int, doc: Any):
        payload = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _events(self, events: list[bytes]):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for data in events:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # ---- the Responses API over WebSocket (Codex's default transport) ---------------------------
    def _websocket(self):
        """``response.create`` messages in, the same events as the SSE stream out, one text message
        each. Inputs are incremental: ``previous_response_id`` names the response whose input and
        output come before this message's input, as the API keeps them for the connection."""
        from wsproto.frame_protocol import FrameProtocol, Opcode

        key = self.headers.get("sec-websocket-key", "")
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101)
        self.send_header("upgrade", "websocket")
        self.send_header("connection", "Upgrade")
        self.send_header("sec-websocket-accept", accept)  # no extension: permessage-deflate declined
        self.end_headers()
        self.wfile.flush()
        frames = FrameProtocol(client=False, extensions=[])
        history: dict[str, list] = {}
        message = ""
        self.close_connection = True
        while data := self.connection.recv(65536):
            frames.receive_bytes(data)
            for frame in frames.received_frames():
                if frame.opcode == Opcode.CLOSE:
                    self.connection.sendall(frames.close())
                    return
                if frame.opcode == Opcode.PING:
                    self.connection.sendall(frames.pong(frame.payload))
                elif frame.opcode in (Opcode.TEXT, Opcode.CONTINUATION):
                    message += frame.payload
                    if frame.message_finished:
                        for event in self._ws_message(message, history):
                            self.connection.sendall(frames.send_data(event))
                        message = ""

    def _ws_message(self, message: str, history: dict[str, list]) -> list[str]:
        exchange = self._record("WS", message.encode())
        exchange.api = "responses"
        try:
            doc = json.loads(message)
        except ValueError as exc:
            exchange.errors.append(f"message is not JSON: {exc}")
            doc = {}
        if doc.get("type") != "response.create":
            exchange.errors.append(f"unexpected message type {doc.get('type')!r}")
        body = {k: v for k, v in doc.items() if k != "type"}
        previous = body.get("previous_response_id")
        if previous and previous not in history:
            exchange.errors.append(f"previous_response_id {previous!r} is unknown on this connection")
        full = dict(body, input=history.get(previous, []) + (body.get("input") if isinstance(body.get("input"), list) else []))
        full.pop("previous_response_id", None)
        exchange.errors += validate("responses", full)
        if exchange.errors:
            exchange.answer = "error"
            return [json.dumps({"type": "error", "status": 400, "error": error_body("responses", "; ".join(exchange.errors))["error"]})]
        if body.get("generate") is False:  # a prewarm: the input is cached, nothing is generated
            kind, content = "prewarm", ""
        else:
            kind, content = plan(read_conversation("responses", full), self.model.workdir, self.model.read_files)
        exchange.answer = kind
        answer = Answer("responses", body.get("model", ""), kind, content)
        history[f"resp_{answer.stamp}"] = full["input"] + answer.response_items()
        return [e.decode().split("data: ", 1)[1].strip() for e in answer.responses_events()]


def serve_fake_model(pki: PKI, workdir: str, read_files: tuple[str, ...] = READ_FILES) -> tuple[ThreadingHTTPServer, FakeModel]:
    model = FakeModel(0, workdir, read_files)
    handler = type("Handler", (_Handler,), {"model": model})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.cert_file, pki.key_file)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    model.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, model


def encodings_of(value: str) -> dict[str, str]:
    """The forms in which a value can travel in a body: raw, JSON-escaped, URL-encoded, base64."""
    import base64
    import urllib.parse

    forms = {
        "raw": value,
        "json": json.dumps(value)[1:-1],
        "url": urllib.parse.quote(value, safe=""),
        "url-plus": urllib.parse.quote_plus(value),
        "base64": base64.b64encode(value.encode()).decode(),
    }
    return {k: v for k, v in forms.items() if len(v) >= 8}


def leaks(exchanges: list[Exchange], values: dict[str, str]) -> list[tuple[str, str]]:
    """Every (label/form, request path) where one of ``values`` reached the model."""
    found = []
    for exchange in exchanges:
        text = exchange.body.decode("utf-8", "replace") + exchange.path
        for label, value in values.items():
            for form, encoded in encodings_of(value).items():
                if encoded in text:
                    found.append((f"{label} ({form})", exchange.path))
    return found
