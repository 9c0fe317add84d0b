"""The tests' fake LLM WebSocket upstream: a TLS server (the real ``websockets`` library) that
records every message and answers like each API, echoing the user's text in small pieces so a
placeholder is split over several server messages."""

from __future__ import annotations

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


def _responses(ws: ServerConnection, event: dict) -> None:
    if event.get("type") != "response.create":
        return
    text = "".join(c.get("text", "") for item in event.get("input", []) for c in item.get("content", []) if isinstance(c, dict))
    ws.send(json.dumps({"type": "response.created", "response": {"id": "resp_2", "model": event.get("model")}}))
    for piece in _pieces(text):
        ws.send(json.dumps({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": piece}))
    ws.send(json.dumps({"type": "response.output_text.done", "item_id": "msg_1", "output_index": 0, "content_index": 0, "text": text}))
    ws.send(json.dumps({"type": "response.completed", "response": {"id": "resp_2", "status": "completed"}}))


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
