"""The WebSocket addon in-process with mitmproxy's test helpers: what is offered upstream, what
is refused at the upgrade, and that a message the addon cannot handle is never relayed."""

import json

from mitmproxy.test import taddons, tflow

from llm_dlp.proxy.addon import LlmDlp
from llm_dlp.proxy.websocket import CONNECTION_KEY, WebSocketInspection
from support.addon import configured
from support.hooks import hook


def upgrade(path="/v1/responses", extensions="permessage-deflate; client_max_window_bits"):
    f = tflow.tflow()
    f.request.host, f.request.port, f.request.scheme, f.request.method, f.request.path = "api.openai.com", 443, "https", "GET", path
    f.request.headers.update(
        {"upgrade": "websocket", "connection": "Upgrade", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="}
    )
    if extensions:
        f.request.headers["sec-websocket-extensions"] = extensions
    return f


async def test_only_permessage_deflate_is_offered_upstream(tmp_path):
    addon = LlmDlp()
    with taddons.context(addon) as tctx:
        configured(tctx, addon, tmp_path)
        f = upgrade(extensions="x-webkit-deflate-frame, permessage-deflate; client_max_window_bits, x-unknown; a=1")
        await hook(tctx, "requestheaders", f)
        assert f.response is None and f.request.headers["sec-websocket-extensions"] == "permessage-deflate; client_max_window_bits"
        f = upgrade(extensions="x-unknown")
        await hook(tctx, "requestheaders", f)
        assert "sec-websocket-extensions" not in f.request.headers


async def test_upgrade_to_a_path_without_a_known_websocket_api_refused(tmp_path):
    addon = LlmDlp()
    with taddons.context(addon) as tctx:
        configured(tctx, addon, tmp_path)
        f = upgrade("/v1/chat/completions")
        await hook(tctx, "requestheaders", f)
        assert f.response.status_code == 403
        assert json.loads(f.response.content)["error"]["code"] == "llm_dlp_websocket_unknown_api"
        assert addon.runtime.metrics.refusals.labels("websocket_unknown_api")._value.get() == 1


async def test_message_on_a_connection_that_was_not_set_up_is_dropped(tmp_path):
    addon = LlmDlp()
    ws = next(a for a in addon.addons if isinstance(a, WebSocketInspection))
    with taddons.context(addon) as tctx:
        configured(tctx, addon, tmp_path)
        f = tflow.twebsocketflow()
        f.request.host, f.request.port, f.request.scheme, f.request.path = "api.openai.com", 443, "https", "/v1/responses"
        answered, f.response = f.response, None
        await hook(tctx, "requestheaders", f)  # classified, with no websocket_start after
        f.response = answered
        assert "llm_dlp" in f.metadata and CONNECTION_KEY not in f.metadata
        await ws.websocket_message(f)
        assert f.websocket.messages[-1].dropped


async def test_a_client_message_is_refused_while_the_audit_trail_cannot_be_written(tmp_path, monkeypatch):
    addon = LlmDlp()
    ws = next(a for a in addon.addons if isinstance(a, WebSocketInspection))
    with taddons.context(addon) as tctx:
        configured(tctx, addon, tmp_path)
        f = tflow.twebsocketflow()
        f.request.host, f.request.port, f.request.scheme, f.request.path = "api.openai.com", 443, "https", "/v1/responses"
        answered, f.response = f.response, None
        await hook(tctx, "requestheaders", f)
        f.response = answered
        ws.websocket_start(f)
        monkeypatch.setattr(addon.runtime.audit, "admit", lambda: False)  # a full disk, say
        replies = []
        monkeypatch.setattr(ws, "_inject", lambda flow, conn, data, is_text: replies.append(json.loads(data)))
        create = {"type": "response.create", "model": "m", "input": [{"type": "message", "role": "user", "content": "hello"}]}
        f.websocket.messages[-1].content = json.dumps(create).encode()
        f.websocket.messages[-1].from_client = True
        await ws.websocket_message(f)
        assert f.websocket.messages[-1].dropped
        assert replies[0]["type"] == "error" and "audit unavailable" in json.dumps(replies[0])
        assert addon.runtime.metrics.refusals.labels("audit_unavailable")._value.get() == 1
