"""Request bodies checked the way the real APIs check them, with the providers' own SDK types:
openai's and anthropic's request params (pydantic TypeAdapters over their TypedDicts),
google-genai's models (which forbid unknown fields) and botocore's service model of Bedrock
Converse (the JSON shapes AWS publishes; InvokeModel's Claude bodies are Anthropic Messages). ``validate`` raises on a body the API
would answer with 400; tests call it on every body the proxy rewrote."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import TypeAdapter

CODE_ASSIST_FIELDS = {"model", "project", "user_prompt_id", "request", "session_id"}


@cache
def _types() -> tuple[dict, dict]:
    """The SDKs' request types, imported on first use: the SDKs take seconds to import."""
    from anthropic.types.message_create_params import MessageCreateParamsNonStreaming, MessageCreateParamsStreaming
    from google.genai import types as genai
    from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming, CompletionCreateParamsStreaming
    from openai.types.completion_create_params import CompletionCreateParamsNonStreaming as LegacyNonStreaming
    from openai.types.completion_create_params import CompletionCreateParamsStreaming as LegacyStreaming
    from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming, ResponseCreateParamsStreaming

    params = {  # protocol -> (non-streaming, streaming) request types
        "openai-chat": (CompletionCreateParamsNonStreaming, CompletionCreateParamsStreaming),
        "openai-responses": (ResponseCreateParamsNonStreaming, ResponseCreateParamsStreaming),
        "openai-completions": (LegacyNonStreaming, LegacyStreaming),
        "anthropic-messages": (MessageCreateParamsNonStreaming, MessageCreateParamsStreaming),
    }
    gemini = {
        "contents": list[genai.Content],
        "systemInstruction": genai.Content,
        "system_instruction": genai.Content,
        "tools": list[genai.Tool],
        "toolConfig": genai.ToolConfig,
        "generationConfig": genai.GenerationConfig,
        "safetySettings": list[genai.SafetySetting],
        "cachedContent": str,
        "labels": dict[str, str],
    }
    return params, gemini


class InvalidRequest(ValueError):
    """The API would refuse this body (400)."""


@cache
def _adapter(kind: Any) -> TypeAdapter:
    return TypeAdapter(kind)


def _force(value: Any) -> Any:
    """pydantic validates Iterable fields lazily: walk the result so every item is checked."""
    if isinstance(value, dict):
        return {k: _force(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, bytes, int, float, bool)):
        return value
    try:
        return [_force(v) for v in value]
    except TypeError:
        return value


def validate(protocol: str, doc: Any) -> None:
    try:
        params = _types()[0]
        if protocol in params:
            kind = params[protocol][1 if isinstance(doc, dict) and doc.get("stream") else 0]
            _force(_adapter(kind).validate_python(doc))
        elif protocol == "gemini":
            _validate_gemini(doc)
        elif protocol == "bedrock-converse":
            _validate_converse(doc)
        elif protocol == "bedrock-invoke" and isinstance(doc, dict) and "anthropic_version" in doc:
            body = {k: v for k, v in doc.items() if k != "anthropic_version"}
            _force(_adapter(params["anthropic-messages"][0]).validate_python({**body, "model": "claude-on-bedrock"}))
        elif not isinstance(doc, (dict, list)):
            raise InvalidRequest("not a JSON object")
    except InvalidRequest:
        raise
    except Exception as exc:  # pydantic's ValidationError, and the SDKs' own checks
        raise InvalidRequest(str(exc)) from None


def _validate_gemini(doc: Any) -> None:
    if not isinstance(doc, dict):
        raise InvalidRequest("not a JSON object")
    if "request" in doc:  # the Code Assist wrapper
        if unknown := set(doc) - CODE_ASSIST_FIELDS:
            raise InvalidRequest(f"unknown fields {sorted(unknown)}")
        doc = doc["request"]
    fields = _types()[1]
    if unknown := set(doc) - set(fields):
        raise InvalidRequest(f"unknown fields {sorted(unknown)}")
    for key, value in doc.items():
        _adapter(fields[key]).validate_python(value)


@cache
def _converse_input():
    import botocore.session

    return botocore.session.get_session().get_service_model("bedrock-runtime").operation_model("ConverseStream").input_shape


def _validate_converse(doc: Any) -> None:
    from botocore.validate import ParamValidator

    if not isinstance(doc, dict):
        raise InvalidRequest("not a JSON object")
    report = ParamValidator().validate({**doc, "modelId": "model-in-the-path"}, _converse_input())  # the path carries the model
    if report.has_errors():
        raise InvalidRequest(report.generate_report())
