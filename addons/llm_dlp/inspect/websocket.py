"""WebSocket messages of LLM APIs, without any proxy: each client message is inspected like an
HTTP request, each server message is rewritten like one streamed (SSE) event.

Client -> server: a text message is one JSON event. Its request part is laid out as the API's
HTTP request body (a *view*) and run through the request pipeline (``inspect_request`` with the
API's protocol), so rules, path rules, roles and placeholders are those of HTTP; a redaction is
written back into the event, whose structure is never touched. The rest of the event rides along
in the view under ``"event"``, so no string of it goes uninspected. Media fields (base64 audio,
images) are left out, as the HTTP adapters skip them. Binary and unparseable messages are refused.

Server -> client: each text message (or binary message holding JSON) is one event for the SSE
``StreamRewriter``: placeholders are restored (also when split over several events), secrets the
model emits are redacted, and text held back at a message's end goes out in a small event of the
same shape.

The per-API knowledge is in the ``_responses_*``, ``_realtime_*`` and ``_gemini_live_*`` functions;
each :class:`WsApi` names the registry protocol that reads its views and its server's events
(Realtime's conversation items are Responses items; Gemini Live's model turns are candidates)."""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from llm_dlp.act.actions import BLOCK, REDACT
from llm_dlp.detect.findings import FindingReport
from llm_dlp.inspect.output import OutputInspector
from llm_dlp.inspect.request import Inspection
from llm_dlp.inspect.stream import StreamRewriter
from llm_dlp.protocols.api import Protocol
from llm_dlp.protocols.base import Pointer, as_list, compact_json, get_at, json_pointer, set_at
from llm_dlp.protocols.framing import Framing
from llm_dlp.protocols.openai_responses import CALL_ITEMS, call_result_path
from llm_dlp.protocols.registry import REGISTRY

REFUSE = "refuse"  # the message could not be inspected (binary, not JSON) or policy refuses it
ENVELOPE = "event"  # where the rest of the event sits in a view
CLOSE_POLICY_VIOLATION = 1008
MAX_CLOSE_REASON = 123  # bytes: a close frame's payload is at most 125, 2 of them the code

Inspect = Callable[[bytes, str, str], Inspection]  # (body, protocol, path) -> the request pipeline's verdict


@dataclass(frozen=True)
class View:
    """Where the request parts of one client event go in an HTTP-shaped request body."""

    body: dict  # the body's skeleton; each place's value is copied into it
    places: tuple[tuple[Pointer, Pointer], ...] = ()  # (pointer in the event, pointer in the body)
    media: tuple[Pointer, ...] = ()  # event fields holding media data: not inspected, kept as they are


@dataclass(frozen=True)
class WsApi:
    """One API spoken over WebSocket: how its client events map to its HTTP request body, how it
    reports an error to the client, and which server events carry model text."""

    name: str
    protocol: str  # the registry protocol that reads the views and the server's events
    view: Callable[[dict], View | None]  # None: the event itself is the HTTP request body
    error_event: Callable[[dict, int, str, str], dict | None]  # (event, status, code, message); None: close with 1008
    server_view: Callable[[dict], dict | None] | None = None  # a server event as the SSE rewriter reads it (None: pass it as is)
    server_unview: Callable[[dict], dict] | None = None  # and back

    @property
    def http(self) -> Protocol:
        return REGISTRY.get(self.protocol)


# ---- OpenAI Responses over WebSocket (Codex's default transport, Copilot's ws:/responses) ----------
def _responses_view(event: dict) -> View | None:
    """``response.create`` is a Responses request body plus ``type`` (only new items, with
    ``previous_response_id``); ``response.processed`` and any other event are inspected whole."""
    return None


def _responses_error(event: dict, status: int, code: str, message: str) -> dict:
    """The API's wrapped error event; Codex maps a non-2xx ``status`` to an HTTP error and shows it."""
    kind = "llm_dlp_policy" if status == 403 else "llm_dlp_error"
    return {"type": "error", "status": status, "error": {"type": kind, "code": code, "message": message, "param": None}}


# ---- OpenAI Realtime client events (/v1/realtime) --------------------------------------------------
def _realtime_view(event: dict) -> View | None:
    kind = event.get("type")
    if kind == "session.update" and isinstance(session := event.get("session"), dict) and "instructions" in session:
        return View({}, ((("session", "instructions"), ("instructions",)),))
    if kind == "conversation.item.create" and isinstance(item := event.get("item"), dict):
        return View({"input": [None]}, ((("item",), ("input", 0)),), _realtime_item_media(item, ("item",)))
    if kind == "response.create" and isinstance(response := event.get("response"), dict):
        places: list[tuple[Pointer, Pointer]] = []
        media: list[Pointer] = []
        if "instructions" in response:
            places.append((("response", "instructions"), ("instructions",)))
        if isinstance(response.get("input"), list):
            places.append((("response", "input"), ("input",)))
            for i, item in enumerate(response["input"]):
                media += _realtime_item_media(item, ("response", "input", i))
        return View({}, tuple(places), tuple(media))
    if kind == "input_audio_buffer.append" and isinstance(event.get("audio"), str):
        return View({}, (), (("audio",),))
    return View({})


def _realtime_item_media(item: Any, at: Pointer) -> tuple[Pointer, ...]:
    parts = item.get("content") if isinstance(item, dict) else None
    out: list[Pointer] = []
    for j, part in enumerate(parts if isinstance(parts, list) else []):
        if isinstance(part, dict):
            out += [at + ("content", j, key) for key in ("audio", "image_url") if isinstance(part.get(key), str)]
    return tuple(out)


def _realtime_error(event: dict, status: int, code: str, message: str) -> dict:
    return {
        "type": "error",
        "event_id": "event_llmdlp_" + secrets.token_hex(8),
        "error": {"type": "invalid_request_error", "code": code, "message": message, "param": None, "event_id": event.get("event_id")},
    }


# ---- Gemini Live (…BidiGenerateContent) -------------------------------------------------------------
def _either(doc: dict, camel: str, snake: str) -> tuple[str, Any]:
    """Gemini's JSON accepts both spellings of every field."""
    return (camel, doc[camel]) if camel in doc else (snake, doc.get(snake))


def _gemini_live_view(event: dict) -> View | None:
    if isinstance(setup := event.get("setup"), dict):
        key, _ = _either(setup, "systemInstruction", "system_instruction")
        setup_places: tuple[tuple[Pointer, Pointer], ...] = tuple(
            (("setup", k), (b,)) for k, b in ((key, "systemInstruction"), ("model", "model")) if k in setup
        )
        return View({}, setup_places)
    key, content = _either(event, "clientContent", "client_content")
    if isinstance(content, dict) and isinstance(content.get("turns"), list):
        return View({}, (((key, "turns"), ("contents",)),))
    key, realtime = _either(event, "realtimeInput", "realtime_input")
    if isinstance(realtime, dict):
        media: list[Pointer] = [
            (key, name, "data") for name in ("audio", "video") if isinstance(realtime.get(name), dict) and "data" in realtime[name]
        ]
        chunks_key, chunks = _either(realtime, "mediaChunks", "media_chunks")
        media += [(key, chunks_key, i, "data") for i, c in enumerate(chunks or []) if isinstance(c, dict) and "data" in c]
        if isinstance(realtime.get("text"), str):
            return View(
                {"contents": [{"role": "user", "parts": [{}]}]}, (((key, "text"), ("contents", 0, "parts", 0, "text")),), tuple(media)
            )
        return View({}, (), tuple(media))
    key, response = _either(event, "toolResponse", "tool_response")
    if isinstance(response, dict):
        calls_key, calls = _either(response, "functionResponses", "function_responses")
        calls = calls if isinstance(calls, list) else []
        call_places: tuple[tuple[Pointer, Pointer], ...] = tuple(
            ((key, calls_key, i), ("contents", 0, "parts", i, "functionResponse")) for i in range(len(calls))
        )
        return View({"contents": [{"role": "user", "parts": [{} for _ in calls]}]}, call_places)
    return View({})


def _gemini_live_error(event: dict, status: int, code: str, message: str) -> None:
    return None  # the Live API has no error message: it closes the socket with a code and a reason


def _gemini_live_server_view(doc: dict) -> dict:
    """``serverContent.modelTurn`` holds model text like a streamed response's candidate."""
    content = doc.get("serverContent")
    if not isinstance(content, dict) or not isinstance(content.get("modelTurn"), dict):
        return doc
    out = dict(doc)
    out["serverContent"] = {k: v for k, v in content.items() if k != "modelTurn"}
    out["candidates"] = [{"index": 0, "content": content["modelTurn"]}]
    return out


def _gemini_live_server_unview(doc: dict) -> dict:
    if not isinstance(doc.get("candidates"), list):
        return doc
    out = {k: v for k, v in doc.items() if k != "candidates"}
    out.setdefault("serverContent", {})["modelTurn"] = doc["candidates"][0]["content"]
    return out


def _realtime_server_view(doc: dict) -> dict | None:
    """Audio deltas are base64 audio in ``delta``: not model text."""
    kind = doc.get("type")
    return None if isinstance(kind, str) and kind.endswith("audio.delta") else doc


RESPONSES = WsApi("openai-responses", "openai-responses", _responses_view, _responses_error)
REALTIME = WsApi("openai-realtime", "openai-responses", _realtime_view, _realtime_error, _realtime_server_view)
GEMINI_LIVE = WsApi("gemini-live", "gemini", _gemini_live_view, _gemini_live_error, _gemini_live_server_view, _gemini_live_server_unview)


def api_for(path: str) -> WsApi | None:
    """The API a WebSocket upgrade to ``path`` speaks; None when no inspectable API is known there."""
    p = path.split("?", 1)[0].rstrip("/")
    if "BidiGenerateContent" in p:
        return GEMINI_LIVE
    if p.endswith("/realtime"):
        return REALTIME
    if p.endswith("/responses"):
        return RESPONSES
    return None


# ---- client messages ----------------------------------------------------------------------------
@dataclass
class ClientOutcome:
    """What to do with one client message."""

    decision: str  # allow, warn, redact, block, refuse
    forward: bytes | None  # the message to send upstream; None: not forwarded
    reply: bytes | None = None  # an error event for the client
    close_reason: str | None = None  # no error event in this API: close the socket with 1008 and this reason
    reason: str | None = None  # why it was refused
    kind: str | None = None  # the event's type
    inspection: Inspection | None = None
    event: dict | None = field(default=None, repr=False)


class ToolCalls:
    """The Responses tool calls of one connection, by call_id, with the files their results hold.
    Over WebSocket the input is incremental: a ``function_call_output`` comes without its call (the
    call was the model's output, on the server side), so its file is known only from here."""

    def __init__(self) -> None:
        self._paths: dict[str, str] = {}

    def note(self, items: Any) -> None:
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("call_id"), str) and (path := call_result_path(item)):
                self._paths[item["call_id"]] = path

    def from_server(self, content: bytes) -> None:
        if b"response.output_item.done" not in content:  # most server messages are deltas: not parsed twice
            return
        try:
            event = json.loads(content)
        except ValueError:
            return
        if isinstance(event, dict) and event.get("type") == "response.output_item.done":
            self.note([event.get("item")])

    def context(self, event: dict) -> list[dict]:
        """Stand-ins for the calls this event's outputs answer but does not carry: only their paths."""
        items = as_list(event.get("input")) if event.get("type") == "response.create" else []
        own = {i.get("call_id") for i in items if isinstance(i, dict) and i.get("type") in CALL_ITEMS}
        answered = {i.get("call_id") for i in items if isinstance(i, dict) and str(i.get("type", "")).endswith("_output")}
        return [
            {"type": "function_call", "call_id": call_id, "name": "earlier_call", "arguments": json.dumps({"path": self._paths[call_id]})}
            for call_id in sorted(answered - own, key=str)
            if call_id in self._paths
        ]


def _with_context(event: dict, context: list[dict], inspect: Inspect, protocol: str, path: str) -> Inspection:
    """Inspect the event with stand-in calls after its input, then take them out of the verdict."""
    count = len(event["input"])
    inspection = inspect(compact_json(dict(event, input=[*event["input"], *context])), protocol, path)
    inspection.findings = [f for f in inspection.findings if not _beyond(f.field, count)]
    if inspection.body:
        body = json.loads(inspection.body)
        body["input"] = body["input"][:count]
        inspection.body = compact_json(body)
    return inspection


def _beyond(pointer: str | None, count: int) -> bool:
    parts = (pointer or "").split("/")
    return len(parts) > 2 and parts[1] == "input" and parts[2].isdigit() and int(parts[2]) >= count


def inspect_client_message(
    api: WsApi, content: bytes, is_text: bool, path: str, inspect: Inspect, calls: ToolCalls | None = None
) -> ClientOutcome:
    if not is_text:
        return refusal(api, None, 400, "binary_message", "binary WebSocket messages to an AI service cannot be inspected")
    try:
        event = json.loads(content)
    except ValueError:
        event = None
    if not isinstance(event, dict):
        return refusal(api, None, 400, "unparseable_message", "the WebSocket message is not a JSON event and cannot be inspected")
    kind = event.get("type") if isinstance(event.get("type"), str) else next(iter(event), None)
    view = api.view(event)
    context = calls.context(event) if calls else []
    if calls:
        calls.note(event.get("input"))
    if view is None and context:
        inspection = _with_context(event, context, inspect, api.protocol, path)
    elif view is None:
        inspection = inspect(content, api.protocol, path)
    else:
        stripped = _without_media(event, view)
        inspection = inspect(compact_json(_lay_out(stripped, view)), api.protocol, path)
        inspection.findings = _relocate(inspection.findings, view)
    if inspection.decision == BLOCK:
        out = refusal(api, event, 403, "blocked", inspection.block_message(), code="llm_dlp_blocked")
        out.decision, out.reason = BLOCK, None
    elif inspection.decision == REDACT:
        body = json.loads(inspection.body or b"")
        out = ClientOutcome(REDACT, compact_json(body if view is None else _write_back(event, view, body)))
    else:
        out = ClientOutcome(inspection.decision, content)
    out.kind, out.inspection, out.event = kind if isinstance(kind, str) else None, inspection, event
    return out


def refusal(api: WsApi, event: dict | None, status: int, reason: str, message: str, code: str | None = None) -> ClientOutcome:
    """The message is not forwarded; the client hears why in the API's own terms. With ``code``,
    ``message`` is complete (a block's); otherwise the code is ``llm_dlp_<reason>``."""
    text = f"Request blocked by llm-dlp: {message.rstrip('.')}. Nothing was sent to the AI service." if code is None else message
    reply = api.error_event(event or {}, status, code or f"llm_dlp_{reason}", text)
    if reply is None:
        return ClientOutcome(REFUSE, None, close_reason=close_reason(text), reason=reason, event=event)
    return ClientOutcome(REFUSE, None, reply=compact_json(reply), reason=reason, event=event)


def close_reason(message: str) -> str:
    data = message.encode()
    if len(data) <= MAX_CLOSE_REASON:
        return message
    return data[: MAX_CLOSE_REASON - 3].decode("utf-8", "ignore") + "..."


def _without_media(event: dict, view: View) -> dict:
    for at in view.media:
        event = _with(event, at, "")  # empty strings are not segments
    return event


def _lay_out(event: dict, view: View) -> dict:
    body = copy.deepcopy(view.body)  # a small skeleton
    envelope = event
    for at_event, at_body in view.places:
        set_at(body, at_body, get_at(event, at_event))
        envelope = _with(envelope, at_event, None)
    body[ENVELOPE] = envelope
    return body


def _with(doc: Any, pointer: Pointer, value: Any) -> Any:
    """A copy of ``doc`` with ``value`` at ``pointer``: only the containers on the way are copied."""
    if not pointer:
        return value
    out = copy.copy(doc)
    out[pointer[0]] = _with(doc[pointer[0]], pointer[1:], value)
    return out


def _write_back(event: dict, view: View, body: dict) -> dict:
    out = body[ENVELOPE]
    for at_event, at_body in view.places:
        set_at(out, at_event, get_at(body, at_body))
    for at in view.media:
        set_at(out, at, get_at(event, at))
    return out


def _relocate(findings: list[FindingReport], view: View) -> list[FindingReport]:
    """Findings name the event's fields, not the view's."""
    prefixes = [(json_pointer(b), json_pointer(e)) for e, b in view.places] + [("/" + ENVELOPE, "")]

    def where(pointer: str) -> str:
        for body, event in prefixes:
            if pointer == body or pointer.startswith(body + "/"):
                return event + pointer[len(body) :]
        return pointer

    return [replace(f, field=where(f.field)) if f.field is not None else f for f in findings]


# ---- server messages ----------------------------------------------------------------------------
_SEPARATOR = b"\xff"  # never in UTF-8: splits the rewriter's output back into messages
_FLUSH = _SEPARATOR  # fed for a message without model text: releases what the channels hold


class _OneEvent(Framing):
    """Each WebSocket message is one event."""

    def feed(self, data: bytes) -> list[tuple[bytes, bytes | None, bytes]]:
        if not data:
            return []
        return [(b"", None if data == _FLUSH else data, _SEPARATOR)]


class ServerStream:
    """The server->client messages of one connection, rewritten like the events of one SSE stream."""

    def __init__(self, api: WsApi, output: OutputInspector, on_anomaly: Callable[[str], None] = lambda kind: None):
        self._api = api
        self._on_anomaly = on_anomaly
        self._rewriter = StreamRewriter(
            _OneEvent(), api.http.deltas, output.process, on_anomaly=on_anomaly, on_channel_end=output.end_channel, on_event=output.observe
        )

    def message(self, content: bytes, is_text: bool) -> list[bytes] | None:
        """The messages to send to the client instead (of the same type); None: pass this one as it is."""
        try:
            doc = json.loads(content)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):  # not an event: passed on, after the text held so far
            self._on_anomaly("binary_message" if not is_text else "malformed_event")
            return self._split(self._rewriter(_FLUSH)) + [content]
        if self._api.server_view:
            doc = self._api.server_view(doc)
            if doc is None:
                return None
        out = self._split(self._rewriter(compact_json(doc)))
        if self._api.server_unview:
            out = [compact_json(self._api.server_unview(json.loads(m))) for m in out]
        return out

    def finish(self) -> None:
        """The connection ended: what is still held back can no longer be sent, but is accounted for."""
        self._rewriter(b"")

    @staticmethod
    def _split(out: bytes) -> list[bytes]:
        return [m for m in out.split(_SEPARATOR) if m]
