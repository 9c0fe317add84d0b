"""WebSocket connections to catalogued endpoints: every client message is inspected before it
goes upstream, every server message is restored and inspected on its way back, and the whole
connection is written as one audit record when it ends. The logic is in llm_dlp.inspect.websocket;
this addon moves mitmproxy's messages in and out of it.

mitmproxy reassembles fragmented messages and undoes permessage-deflate (wsproto, with the
parameters the server chose) before ``websocket_message``, and compresses again on the way out;
other extensions are not offered upstream, so nothing is negotiated that mitmproxy cannot read.
A hook that raises would let the message through: every hook catches its own errors."""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import time
from collections import Counter
from dataclasses import dataclass, field

from mitmproxy import ctx, http
from mitmproxy.proxy.layer import Layer
from mitmproxy.proxy.layers.websocket import WebsocketLayer

from llm_dlp.act.actions import ALLOW, BLOCK, strongest
from llm_dlp.act.restore import Restorer
from llm_dlp.inspect.output import OutputInspector
from llm_dlp.inspect.request import Inspection, inspect_request
from llm_dlp.inspect.websocket import (
    CLOSE_POLICY_VIOLATION,
    REFUSE,
    ClientOutcome,
    ServerStream,
    ToolCalls,
    WsApi,
    api_for,
    inspect_client_message,
    refusal,
)
from llm_dlp.proxy.state import AUDIT_UNAVAILABLE, METADATA_KEY, FlowState, Runtime, client_address, log_failure, state_of

log = logging.getLogger("llm_dlp")

CONNECTION_KEY = "llm_dlp_websocket"
MAX_RECORDED_MESSAGES = 500  # per connection: an audit record stays bounded on an hour-long connection
_UNINSPECTABLE = {"binary_message", "unparseable_message", "internal_error"}  # counted as inspection errors, not policy refusals


@dataclass
class Connection:
    """What the addon knows about one WebSocket connection (kept in flow.metadata)."""

    api: WsApi
    state: FlowState
    output: OutputInspector
    server: ServerStream
    restore: dict[str, str]  # placeholder -> value, from every client message so far
    started: float = field(default_factory=time.time)
    client_messages: int = 0
    server_messages: int = 0
    client_bytes: int = 0
    restored: int = 0
    decisions: Counter = field(default_factory=Counter)
    recorded: list[dict] = field(default_factory=list)  # client messages with findings or not forwarded as sent
    omitted: int = 0
    model: str | None = None
    pending: int = 0  # messages injected towards the client that have not gone out yet
    closed_by_proxy: bool = False
    calls: ToolCalls = field(default_factory=ToolCalls)  # tool calls so far, for outputs that come without theirs


class WebSocketInspection:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    # ---- the upgrade -----------------------------------------------------------------------
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        """Runs after classify and authorise."""
        state = state_of(flow)
        if state is None or flow.response or flow.request.headers.get("upgrade", "").lower() != "websocket":
            return
        try:
            if state.endpoint.websocket == "refuse":
                self.rt.refuse(
                    flow,
                    403,
                    "websocket_refused",
                    f"WebSocket connections to {state.endpoint.id} are not allowed here. "
                    "Use HTTPS requests instead (Codex switches to them by itself after a few retries).",
                )
            elif api_for(flow.request.path) is None:
                self.rt.refuse(
                    flow,
                    403,
                    "websocket_unknown_api",
                    f"no WebSocket API that llm-dlp can inspect is known at this path of {state.endpoint.id}.",
                )
            else:
                _offer_deflate_only(flow.request.headers)
        except Exception as exc:
            log_failure("error in websocket requestheaders", exc)
            self.rt.fail_closed(flow, "internal_error", "llm-dlp could not check this WebSocket upgrade")

    def websocket_start(self, flow: http.HTTPFlow) -> None:
        state = state_of(flow)
        if state is None:
            return
        try:
            api = api_for(flow.request.path)
            if api is None:  # refused in requestheaders already; without a connection nothing is relayed
                return
            ruleset, metrics, endpoint = self.rt.rules, self.rt.metrics, state.endpoint.id
            restore: dict[str, str] = {}

            def counted(n: int) -> None:
                conn.restored += n
                metrics.restorations.labels(endpoint).inc(n)

            output = OutputInspector(
                ruleset.detector, self.rt.keys, Restorer(restore, on_restore=counted), ruleset.packages, served_model=api.http.served_model
            )
            server = ServerStream(api, output, on_anomaly=lambda kind: metrics.stream_anomalies.labels(endpoint, kind).inc())
            conn = Connection(api, state, output, server, restore)
            flow.metadata[CONNECTION_KEY] = conn
            metrics.active_websockets.inc()
        except Exception as exc:  # without a connection nothing is relayed
            log_failure("error in websocket_start", exc)

    # ---- messages --------------------------------------------------------------------------
    async def websocket_message(self, flow: http.HTTPFlow) -> None:
        if METADATA_KEY not in flow.metadata or flow.websocket is None:
            return
        message = flow.websocket.messages[-1]
        conn: Connection | None = flow.metadata.get(CONNECTION_KEY)
        if conn is None:  # the connection could not be set up: nothing is relayed, and the client is told
            message.drop()
            self._close(flow, "llm-dlp could not inspect this connection")
            return
        if conn.closed_by_proxy:  # closing with 1008: not one more message either way
            message.drop()
            return
        if message.injected and not message.from_client:  # ours (an error event, a rewritten message): already done
            conn.pending = max(0, conn.pending - 1)
            return
        try:
            if message.from_client:
                await self._from_client(flow, conn, message)
            else:
                self._from_server(flow, conn, message)
        except Exception as exc:
            log_failure("error inspecting a WebSocket message", exc)
            if message.from_client:
                message.drop()
                outcome = refusal(conn.api, None, 500, "internal_error", "llm-dlp could not inspect this message")
                try:
                    self._note_client(conn, outcome, len(message.content))
                    self._answer(flow, conn, outcome)
                except Exception as again:  # the message stays dropped
                    log_failure("error answering a WebSocket message", again)
            else:  # as for a stream: the model's answer passes unchanged rather than breaking the session
                self.rt.metrics.stream_anomalies.labels(conn.state.endpoint.id, "rewriter_error").inc()

    async def _from_client(self, flow: http.HTTPFlow, conn: Connection, message) -> None:
        ruleset, keyring, grant = self.rt.rules, self.rt.keys, conn.state.grant

        def pipeline(raw: bytes, protocol: str, path: str) -> Inspection:
            return inspect_request(
                raw,
                protocol,
                path,
                ruleset.detector,
                keyring,
                grant.access.actions if grant else {},
                False,
                ruleset.paths,
                grant.identity.groups if grant else (),
                ruleset.fingerprints,
            )

        outcome = await asyncio.to_thread(
            inspect_client_message, conn.api, message.content, message.is_text, flow.request.path, pipeline, conn.calls
        )
        model = (outcome.inspection.model if outcome.inspection else None) or flow.request.query.get("model")
        conn.model = model or conn.model
        if outcome.forward is not None and grant and (refused := ruleset.policy.check_model(grant, model)):
            inspection = outcome.inspection
            outcome = refusal(conn.api, outcome.event, refused.status, refused.reason, refused.message)
            outcome.inspection = inspection
        if outcome.forward is not None and self.rt.audit is not None and not self.rt.audit.admit():
            # as for HTTP: nothing goes to the AI service while its audit record cannot be written
            inspection = outcome.inspection
            outcome = refusal(conn.api, outcome.event, 503, "audit_unavailable", AUDIT_UNAVAILABLE)
            outcome.inspection = inspection
        self._note_client(conn, outcome, len(message.content))
        if outcome.forward is None:
            message.drop()
            self._answer(flow, conn, outcome)
        elif outcome.forward != message.content:
            message.content = outcome.forward

    def _from_server(self, flow: http.HTTPFlow, conn: Connection, message) -> None:
        conn.server_messages += 1
        self.rt.metrics.websocket_messages.labels(conn.state.endpoint.id, "server", ALLOW).inc()
        conn.calls.from_server(message.content)
        out = conn.server.message(message.content, message.is_text)
        if out is None:
            out = [message.content]
        if len(out) == 1 and not conn.pending:
            message.content = out[0]
            return
        # several messages (text held back from an earlier one goes first), or some still queued
        # ahead of this one: all go out through mitmproxy's injection queue, in order
        message.drop()
        for data in out:
            self._inject(flow, conn, data, message.is_text)

    def _note_client(self, conn: Connection, outcome: ClientOutcome, size: int) -> None:
        metrics, endpoint = self.rt.metrics, conn.state.endpoint.id
        index, conn.client_messages = conn.client_messages, conn.client_messages + 1
        conn.client_bytes += size
        conn.decisions[outcome.decision] += 1
        metrics.websocket_messages.labels(endpoint, "client", outcome.decision).inc()
        ins = outcome.inspection
        if ins:
            conn.restore.update(ins.restore)
            metrics.inspection_seconds.labels(endpoint).observe(ins.seconds)
            metrics.inspected_bytes.labels(endpoint).inc(ins.bytes_inspected)
            for f in ins.findings:
                metrics.findings.labels(f.rule, f.action).inc()
        if outcome.reason in _UNINSPECTABLE:
            metrics.inspection_errors.labels(endpoint, outcome.reason).inc()
        elif outcome.reason:
            metrics.refusals.labels(outcome.reason).inc()
        if outcome.decision == ALLOW and not (ins and ins.findings):
            return
        if len(conn.recorded) >= MAX_RECORDED_MESSAGES:
            conn.omitted += 1
            return
        entry: dict[str, object] = {"index": index, "type": outcome.kind, "decision": outcome.decision, "bytes": size}
        if outcome.reason:
            entry["reason"] = outcome.reason
        if ins:
            entry.update(model=ins.model, findings=[f.to_dict() for f in ins.findings])
        conn.recorded.append(entry)

    # ---- answering the client ------------------------------------------------------------------
    def _answer(self, flow: http.HTTPFlow, conn: Connection, outcome: ClientOutcome) -> None:
        if outcome.reply is not None:
            self._inject(flow, conn, outcome.reply, True)
        else:
            conn.closed_by_proxy = True
            self._close(flow, outcome.close_reason or "blocked by llm-dlp")

    def _inject(self, flow: http.HTTPFlow, conn: Connection, data: bytes, is_text: bool) -> None:
        conn.pending += 1
        ctx.master.commands.call("inject.websocket", flow, True, data, is_text)

    def _close(self, flow: http.HTTPFlow, reason: str) -> None:
        """mitmproxy has no call to close a WebSocket with a code. Called while the client's message
        is in the hook, this appends a close frame to what mitmproxy is reading from the client:
        it then closes both sides with 1008 and the reason. Callers drop every later message anyway."""
        server = ctx.master.addons.get("proxyserver")
        handler = server.connections.get(flow.client_conn.id) if server else None
        layer = _websocket_layer(handler.layer, flow) if handler else None
        if layer is None:
            log.warning("llm-dlp: could not close a WebSocket with 1008; its messages are dropped from now on")
            return
        payload = struct.pack("!H", CLOSE_POLICY_VIOLATION) + reason.encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        layer.client_ws.receive_data(bytes([0x88, 0x80 | len(payload)]) + mask + masked)  # FIN+close, masked as from a client, < 126 bytes

    # ---- the end -------------------------------------------------------------------------------
    def websocket_end(self, flow: http.HTTPFlow) -> None:
        conn: Connection | None = flow.metadata.pop(CONNECTION_KEY, None)
        if conn is None:
            return
        metrics, endpoint, state = self.rt.metrics, conn.state.endpoint.id, conn.state
        metrics.active_websockets.dec()
        try:
            conn.server.finish()
            for f in conn.output.findings:
                metrics.response_findings.labels(f.rule, f.action).inc()
            for p in conn.output.package_findings:
                metrics.package_warnings.labels(p.ecosystem, p.status).inc()
            ws = flow.websocket
            closed_by = (
                "llm-dlp"
                if conn.closed_by_proxy
                else None
                if ws is None or ws.closed_by_client is None
                else "client"
                if ws.closed_by_client
                else "server"
            )
            self.rt.record(
                "websocket",
                request_id=flow.id,
                client=client_address(flow),
                user=state.grant.identity.user if state.grant else None,
                groups=list(state.grant.identity.groups) if state.grant else [],
                identity_source=state.grant.identity.source if state.grant else None,
                tool=state.tool,
                endpoint=endpoint,
                protocol=state.endpoint.protocol,
                api=conn.api.name,
                host=state.host or flow.request.pretty_host,
                path=flow.request.path.split("?", 1)[0],
                model=conn.model,
                served_model=conn.output.served_model,
                decision=_strictest(conn.decisions),
                decisions=dict(conn.decisions),
                client_messages=conn.client_messages,
                server_messages=conn.server_messages,
                client_bytes=conn.client_bytes,
                messages=conn.recorded,
                messages_omitted=conn.omitted,
                response_findings=[f.to_dict() for f in conn.output.findings],
                packages=[p.to_dict() for p in conn.output.package_findings],
                restored_placeholders=conn.restored,
                close_code=ws.close_code if ws else None,
                closed_by=closed_by,
                duration_ms=round((time.time() - conn.started) * 1000, 3),
            )
        except Exception as exc:
            log_failure("error recording a WebSocket connection", exc)


def _strictest(decisions: Counter) -> str:
    """A block over a refusal (of a message that could not be inspected) over the actions' own order."""
    if BLOCK in decisions or REFUSE not in decisions:
        return strongest(decisions)
    return REFUSE


def _websocket_layer(root: Layer, flow: http.HTTPFlow) -> WebsocketLayer | None:
    """The layer relaying ``flow``'s messages, found down the connection's layer tree (children
    are attributes, dict values such as an HTTP layer's streams, or a mode layer's bound handler)."""
    todo, seen = [root], set()
    while todo:
        layer = todo.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if isinstance(layer, WebsocketLayer) and layer.flow is flow:
            return layer
        for value in vars(layer).values():
            for child in value.values() if isinstance(value, dict) else (getattr(value, "__self__", value),):
                if isinstance(child, Layer):
                    todo.append(child)
    return None


def _offer_deflate_only(headers: http.Headers) -> None:
    """Offer upstream only the extension mitmproxy can undo (permessage-deflate)."""
    offers = [o.strip() for o in ",".join(headers.get_all("sec-websocket-extensions")).split(",") if o.strip()]
    kept = [o for o in offers if o.split(";", 1)[0].strip().lower() == "permessage-deflate"]
    if kept == offers:
        return
    if kept:
        headers["sec-websocket-extensions"] = ", ".join(kept)
    else:
        del headers["sec-websocket-extensions"]
