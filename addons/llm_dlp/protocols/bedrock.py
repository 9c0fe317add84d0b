"""Amazon Bedrock runtime: Converse / ConverseStream (Bedrock's own message format, the same for
every model) and InvokeModel / InvokeModelWithResponseStream (the model's native body: Anthropic
Messages for Claude, ``anthropic_version: bedrock-...``; any other model's JSON leaf by leaf).
Streamed answers are AWS event-stream messages; InvokeModel's carry the model's own events
base64-encoded in ``chunk`` events."""

from __future__ import annotations

import re
from typing import Any

from llm_dlp.protocols.anthropic import AnthropicMessages
from llm_dlp.protocols.aws import EVENT_STREAM, AwsProtocol, model_in_path
from llm_dlp.protocols.base import STRUCTURE_KEYS, Annotations, Delta, Pointer, as_list, path_in
from llm_dlp.protocols.framing import BedrockChunkFraming, Framing

BEDROCK_ERRORS = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    413: "ValidationException",
    421: "ValidationException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
_BINARY_BLOCKS = ("image", "document", "video")


def converse_tool_result(notes: Annotations, at: Pointer, result: dict, tool_paths: dict[str, str]) -> None:
    """A toolResult ({toolUseId, content: [{text} | {json} | {image}...]}), attributed to the file its
    toolUse named; Bedrock Converse and Amazon Q share the shape."""
    notes.mark(at, "tool_result", tool_paths.get(str(result.get("toolUseId"))))
    for k, inner in enumerate(as_list(result.get("content"))):
        for kind in _BINARY_BLOCKS:
            if isinstance(inner, dict) and isinstance(inner.get(kind), dict):
                notes.skip.add((*at, "content", k, kind, "source", "bytes"))


def converse_tool_use(notes: Annotations, at: Pointer, use: dict, tool_paths: dict[str, str]) -> None:
    file = path_in(use.get("input"))
    if file and isinstance(use.get("toolUseId"), str):
        tool_paths[use["toolUseId"]] = file
    notes.mark(at, "tool_call", file)


class BedrockConverse(AwsProtocol):
    name = "bedrock-converse"
    family = "bedrock"
    paths = re.compile(r"/model/[^/]+/converse(?:-stream)?$")
    structure_keys = STRUCTURE_KEYS | {"toolUseId", "guardrailIdentifier", "guardrailVersion"}
    error_types = BEDROCK_ERRORS
    description = (
        "Bedrock Converse: system[], messages[].content[] (text, toolUse, toolResult paired by toolUseId, image/document bytes skipped)."
    )

    def annotate(self, doc: dict[str, Any], path: str) -> Annotations:
        notes = Annotations(model=model_in_path(path))
        for i, _ in enumerate(as_list(doc.get("system"))):
            notes.mark(("system", i), "system")
        tool_paths: dict[str, str] = {}
        for i, msg in enumerate(as_list(doc.get("messages"))):
            if not isinstance(msg, dict):
                continue
            at = ("messages", i)
            notes.mark(at, "assistant" if msg.get("role") == "assistant" else "user")
            for j, block in enumerate(as_list(msg.get("content"))):
                if isinstance(block, dict):
                    self._block(notes, (*at, "content", j), block, tool_paths)
        return notes

    @staticmethod
    def _block(notes: Annotations, at: Pointer, block: dict, tool_paths: dict[str, str]) -> None:
        for kind in _BINARY_BLOCKS:
            if isinstance(block.get(kind), dict):
                notes.skip.add((*at, kind, "source", "bytes"))
        if isinstance(block.get("reasoningContent"), dict):
            notes.skip.add((*at, "reasoningContent", "redactedContent"))  # opaque bytes
        if isinstance(block.get("toolUse"), dict):
            converse_tool_use(notes, (*at, "toolUse"), block["toolUse"], tool_paths)
        elif isinstance(block.get("toolResult"), dict):
            converse_tool_result(notes, (*at, "toolResult"), block["toolResult"], tool_paths)

    def deltas(self, event: Any) -> list[Delta]:
        """ConverseStream's contentBlockDelta: {contentBlockIndex, delta: {text | toolUse.input | reasoningContent.text}}."""
        if not isinstance(event, dict) or not isinstance(event.get("delta"), dict) or "contentBlockIndex" not in event:
            return []
        delta, index = event["delta"], event["contentBlockIndex"]
        out = []
        if isinstance(delta.get("text"), str):
            out.append(Delta(("block", index, "text"), ("delta", "text"), False))
        for kind, leaf, is_json in (("toolUse", "input", True), ("reasoningContent", "text", False)):
            if isinstance(delta.get(kind), dict) and isinstance(delta[kind].get(leaf), str):
                out.append(Delta(("block", index, kind), ("delta", kind, leaf), is_json))
        return out


_ANTHROPIC = AnthropicMessages()
_CONVERSE = BedrockConverse()


class BedrockInvoke(AwsProtocol):
    name = "bedrock-invoke"
    family = "bedrock"
    paths = re.compile(r"/model/[^/]+/invoke(?:-with-response-stream)?$")
    native_bodies = True
    error_types = BEDROCK_ERRORS
    description = (
        "Bedrock InvokeModel: the model's native body (Anthropic Messages for Claude, else every string leaf); base64 chunk events."
    )

    def annotate(self, doc: dict[str, Any], path: str) -> Annotations:
        anthropic = str(doc.get("anthropic_version", "")).startswith("bedrock-")
        notes = _ANTHROPIC.annotate(doc, path) if anthropic else Annotations()
        notes.model = model_in_path(path)
        return notes

    def framing(self, content_type: str, path: str) -> Framing | None:
        return BedrockChunkFraming() if EVENT_STREAM in content_type else super().framing(content_type, path)

    def deltas(self, event: Any) -> list[Delta]:
        """A chunk's inner event is the model's own: Claude's (Anthropic Messages), OpenAI's
        (gpt-oss), Nova's, Llama's, Titan's, Mistral's or Cohere's streamed text."""
        from llm_dlp.protocols.generic import known_deltas

        return known_deltas(event) or _native_deltas(event)


def _native_deltas(event: Any) -> list[Delta]:
    if not isinstance(event, dict):
        return []
    if isinstance(event.get("contentBlockDelta"), dict):  # Nova: a Converse event inside the chunk
        inner = _CONVERSE.deltas(event["contentBlockDelta"])
        return [Delta(d.key, ("contentBlockDelta", *d.path), d.is_json) for d in inner]
    for key in ("generation", "outputText"):  # Llama, Titan
        if isinstance(event.get(key), str):
            return [Delta(("text",), (key,), False)]
    if isinstance(event.get("text"), str) and "is_finished" in event:  # Cohere
        return [Delta(("text",), ("text",), False)]
    return [
        Delta(("output", i), ("outputs", i, "text"), False)  # Mistral
        for i, out in enumerate(as_list(event.get("outputs")))
        if isinstance(out, dict) and isinstance(out.get("text"), str)
    ]
