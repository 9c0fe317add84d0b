"""MCP over HTTP (the Streamable HTTP transport): JSON-RPC 2.0 messages POSTed to the server's
endpoint, answered with JSON or a server-sent event stream of JSON-RPC messages.

What leaves for a remote MCP server is mostly the agent's data in ``tools/call`` arguments (and
``prompts/get`` arguments, completion values, results the client returns for the server's own
requests such as ``sampling/createMessage``). Every string is inspected; identifiers (``jsonrpc``,
``method``, ``id``, tool ``name``, resource ``uri``) are structure. Answers are whole messages:
no deltas, every string of every event is restored and inspected."""

from __future__ import annotations

import json
from typing import Any

from llm_dlp.protocols.api import Protocol
from llm_dlp.protocols.base import STRUCTURE_KEYS, Annotations, Pointer, as_list

CALLS = {"tools/call": "tool_call", "prompts/get": "user", "completion/complete": "user"}


class Mcp(Protocol):
    name = "mcp"
    family = "mcp"
    structure_keys = STRUCTURE_KEYS | {"jsonrpc", "method", "protocolVersion", "progressToken", "cursor", "ref"}
    description = (
        "MCP Streamable HTTP: JSON-RPC requests (tools/call arguments, prompts/get, results returned to the server), JSON or SSE answers."
    )

    batches = True

    def annotate(self, doc: Any, path: str) -> Annotations:
        notes = Annotations()
        for at, message in [((i,), m) for i, m in enumerate(doc)] if isinstance(doc, list) else [((), doc)]:
            _message(notes, at, message)
        return notes

    def error_body(self, status: int, code: str, message: str) -> bytes:
        """A JSON-RPC error (the request's id is not known here: null, as for a parse error)."""
        return json.dumps(
            {"jsonrpc": "2.0", "id": None, "error": {"code": -32001, "message": message, "data": {"reason": code, "status": status}}}
        ).encode()


def _message(notes: Annotations, at: Pointer, message: Any) -> None:
    if not isinstance(message, dict):
        return
    if message.get("method") in CALLS:
        notes.mark((*at, "params"), CALLS[message["method"]])
    elif "result" in message:  # the client answering the server's request (sampling, elicitation, roots)
        notes.mark((*at, "result"), "assistant" if isinstance(message["result"], dict) and "model" in message["result"] else "user")
    for i, item in enumerate(as_list((message.get("params") or {}).get("messages") if isinstance(message.get("params"), dict) else None)):
        notes.mark((*at, "params", "messages", i), "user")
