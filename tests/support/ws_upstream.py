"""The tests' fake LLM WebSocket upstream: a TLS server (the real ``websockets`` library) that
records every message and answers like each API, echoing the user's text in small pieces so a
placeholder is split over several server messages."""

from __future__ import annotations

import functools
import json
import ssl
import threading
from dataclasses import dataclass, field

from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.sync.server import ServerConnection, serve

from support.pki import PKI

PIECE = 7  # characters per echoed delta


@dataclass
class WsUpstream:
    port: int
    received: list[tuple[str, str | bytes]] = field(default_factory=list)  # (path, message)
    deflate: list[bool] = field(default_factory=list)  # per connection: permessage-deflate negotiated
    headers: list[dict] = field(default_factory=list)  # per connection: the upgrade's headers

    @property
    def url(self) -> str:
        return f"wss://127.0.0.1:{self.port}"


def _pieces(text: str) -> list[str]:
    return [text[i : i + PIECE] for i in range(0, len(text), PIECE)]


def _last_user_text(event: dict) -> str:
    users = [
        i for i in event.get("input") or [] if isinstance(i, dict) and i.get("type", "message") == "message" and i.get("role") == "user"
    ]
    return "".join(c.get("text", "") for c in users[-1].get("content", []) if isinstance(c, dict)) if users else ""


def _responses(ws: ServerConnection, event: dict) -> None:
    """The Responses stream events Codex needs for one assistant message; a request without user
    text (Codex's prewarm) gets an empty response."""
    if event.get("type") != "response.create":
        return
    text, model = _last_user_text(event), event.get("model")
    ws.send(json.dumps({"type": "response.created", "response": {"id": "resp_2", "model": model, "status": "in_progress"}}))
    output = []
    if text:
        item = {"id": "msg_1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}
        where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
        ws.send(json.dumps({"type": "response.output_item.added", "output_index": 0, "item": item}))
        ws.send(json.dumps({"type": "response.content_part.added", **where, "part": {"type": "output_text", "text": ""}}))
        for piece in _pieces(text):
            ws.send(json.dumps({"type": "response.output_text.delta", **where, "delta": piece}))
        ws.send(json.dumps({"type": "response.output_text.done", **where, "text": text}))
        output = [{**item, "status": "completed", "content": [{"type": "output_text", "text": text, "annotations": []}]}]
        ws.send(json.dumps({"type": "response.output_item.done", "output_index": 0, "item": output[0]}))
    ws.send(
        json.dumps(
            {
                "type": "response.completed",
                "response": {
                    "id": "resp_2",
                    "model": model,
                    "status": "completed",
                    "output": output,
                    "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
                },
            }
        )
    )


def _realtime(ws: ServerConnection, event: dict, items: list) -> None:
    """Realtime: the connection's ``items`` are remembered; response.create answers with the last user item's text."""
    if event.get("type") == "conversation.item.create":
        items.append(event["item"])
        ws.send(json.dumps({"type": "conversation.item.added", "item": {"id": event["item"].get("id", "item_1")}}))
    elif event.get("type") == "response.create":
        text = _last_user_text({"input": items})
        where = {"response_id": "resp_1", "item_id": "item_2", "output_index": 0, "content_index": 0}
        for piece in _pieces(text):
            ws.send(json.dumps({"type": "response.output_text.delta", "event_id": "event_1", **where, "delta": piece}))
        ws.send(json.dumps({"type": "response.output_audio.delta", **where, "delta": "AAAAAAAA"}))
        ws.send(json.dumps({"type": "response.output_text.done", **where, "text": text}))
        ws.send(
            json.dumps(
                {
                    "type": "response.done",
                    "response": {
                        "id": "resp_1",
                        "status": "completed",
                        "output": [
                            {"id": "item_2", "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}
                        ],
                    },
                }
            )
        )


def _gemini_live(ws: ServerConnection, event: dict) -> None:
    """The Live API answers in binary frames holding JSON."""
    if "setup" in event:
        ws.send(json.dumps({"setupComplete": {}}).encode())
        return
    turns = (event.get("clientContent") or {}).get("turns") or []
    text = "".join(p.get("text", "") for t in turns for p in t.get("parts", []))
    for piece in _pieces(text):
        ws.send(json.dumps({"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": piece}]}}}).encode())
    ws.send(json.dumps({"serverContent": {"turnComplete": True}}).encode())


def serve_ws_upstream(pki: PKI):
    """Start the server in a thread; returns (server, WsUpstream). ``server.shutdown()`` stops it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.cert_file, pki.key_file)
    up = WsUpstream(0)

    def handler(ws: ServerConnection) -> None:
        path = ws.request.path
        up.headers.append({k.lower(): v for k, v in ws.request.headers.raw_items()})
        up.deflate.append(any(isinstance(e, PerMessageDeflate) for e in ws.protocol.extensions))
        answer = _gemini_live if "BidiGenerateContent" in path else _responses
        if path.split("?")[0].endswith("/realtime"):
            answer = functools.partial(_realtime, items=[])
        for message in ws:
            up.received.append((path, message))
            try:
                event = json.loads(message)
            except ValueError:
                continue
            if isinstance(event, dict):
                answer(ws, event)

    server = serve(handler, "127.0.0.1", 0, ssl=ctx)
    up.port = server.socket.getsockname()[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, up
