"""Every flow to an AI endpoint ends in exactly one audit record and its metrics (mitmproxy calls
``response`` or ``error`` once per flow), plus the optional incident-review copy. The record says
how it really ended: an upstream error after the headers, a stream cut before its terminal
event, a client that went away. A catalogued upstream that cannot be connected to is audited too."""

from __future__ import annotations

import time

from mitmproxy import ctx, http

from llm_dlp.proxy.state import FlowState, Runtime, client_address, log_failure, state_of
from llm_dlp.record.outcome import StreamEnd, client_side
from llm_dlp.record.request_record import Exchange, identity_fields, request_record


class Record:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        """After Respond: watch the end of a streamed answer (rewritten or passed through)."""
        state = state_of(flow)
        if state is not None and flow.response is not None and flow.response.stream:
            state.stream_end = StreamEnd(flow.response.stream, state.protocol.name)
            flow.response.stream = state.stream_end

    def response(self, flow: http.HTTPFlow) -> None:
        self._end(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        state = state_of(flow)
        if state and flow.error:
            m = self.rt.metrics
            (m.client_disconnects if client_side(flow.error.msg) else m.upstream_errors).labels(state.endpoint.id).inc()
        self._end(flow)

    def server_connect_error(self, data) -> None:
        """A catalogued upstream refused or could not be reached (a CONNECT then gets 502 and no
        request follows, so this is the only record of the attempt)."""
        try:
            ruleset = self.rt.ruleset
            if ruleset is None or not data.server.address:
                return
            host, port = data.server.address[0], data.server.address[1]
            server_name = data.server.sni or data.client.sni
            if (endpoint := ruleset.catalog.match(server_name or host, port)) is None:
                return
            client = data.client.peername[0] if data.client.peername else None
            self.rt.metrics.upstream_errors.labels(endpoint.id).inc()
            self.rt.record(
                "upstream_unreachable",
                client=client,
                endpoint=endpoint.id,
                host=host,
                port=port,
                server_name=server_name,
                error=str(data.server.error or "connection failed"),
                **identity_fields(ruleset, client),
            )
        except Exception as exc:
            log_failure("error recording an upstream connection failure", exc)

    def _end(self, flow: http.HTTPFlow) -> None:
        self.rt.lifecycle.end(flow.id)
        state = state_of(flow)
        if state is None:
            return
        if state.streaming:
            state.streaming = False
            self.rt.metrics.active_streams.dec()
        try:
            decision = state.decision or ("allow" if flow.response else "error")
            self._count(state, decision)
            exchange = _exchange(flow, state)
            if exchange.stream_incomplete:
                self.rt.metrics.stream_anomalies.labels(state.endpoint.id, "stream_incomplete").inc()
            identity = state.grant.identity if state.grant else state.identity  # a refusal names whom it refused
            record = request_record(
                exchange,
                state.endpoint.id,
                state.endpoint.protocol,
                state.tool,
                identity,
                decision,
                state.reason,
                state.inspection,
                state.output,
                state.restored,
            )
            self.rt.record("request", **record)
            self._incident(flow, state, decision)
        except Exception as exc:
            log_failure("error recording the request", exc)

    def _count(self, state: FlowState, decision: str) -> None:
        m, endpoint, ins, out = self.rt.metrics, state.endpoint.id, state.inspection, state.output
        m.requests.labels(endpoint, state.tool, decision).inc()
        if ctx.options.llm_dlp_metrics_user_labels and state.grant:
            m.user_requests.labels(state.grant.identity.user).inc()
        if ins:
            m.inspection_seconds.labels(endpoint).observe(ins.seconds)
            m.inspected_bytes.labels(endpoint).inc(ins.bytes_inspected)
            for f in ins.findings:
                m.findings.labels(f.rule, f.action).inc()
        for o in out.findings if out else []:
            m.response_findings.labels(o.rule, o.action).inc()
        for p in out.package_findings if out else []:
            m.package_warnings.labels(p.ecosystem, p.status).inc()

    def _incident(self, flow: http.HTTPFlow, state: FlowState, decision: str) -> None:
        ins, out = state.inspection, state.output
        if not self.rt.incidents or not ins or ins.review_text is None:
            return
        self.rt.incidents.write(
            {
                "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "request_id": flow.id,
                "endpoint": state.endpoint.id,
                "user": state.grant.identity.user if state.grant else None,
                "decision": decision,
                "request": ins.review_text,
                "response": "".join(out.review) if out and out.review is not None else None,
            }
        )


def _exchange(flow: http.HTTPFlow, state: FlowState) -> Exchange:
    error = flow.error.msg if flow.error else None
    client_gone = error is not None and client_side(error)
    ended = state.stream_end
    return Exchange(
        request_id=flow.id,
        client=client_address(flow),
        host=state.host or flow.request.pretty_host,
        method=flow.request.method,
        path=flow.request.path.split("?", 1)[0],
        request_bytes=len(flow.request.raw_content or b""),
        status=flow.response.status_code if flow.response else None,
        upstream_error=None if client_gone else error,  # after the response headers too: a reset mid-stream
        duration_ms=round((time.time() - state.started) * 1000, 3),
        stream_incomplete=bool(
            ended and not client_gone and ended.incomplete and flow.response is not None and flow.response.status_code < 400
        ),
        client_disconnected=client_gone,
    )
