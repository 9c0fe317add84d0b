"""Every flow to an AI endpoint ends in exactly one audit record and its metrics (mitmproxy calls
``response`` or ``error`` once per flow), plus the optional incident-review copy."""

from __future__ import annotations

import time

from mitmproxy import ctx, http

from llm_dlp.proxy.state import FlowState, Runtime, client_address, log_failure, state_of
from llm_dlp.record.request_record import Exchange, request_record


class Record:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def response(self, flow: http.HTTPFlow) -> None:
        self._end(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        state = state_of(flow)
        if state:
            self.rt.metrics.upstream_errors.labels(state.endpoint.id).inc()
        self._end(flow)

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
            identity = state.grant.identity if state.grant else None
            record = request_record(_exchange(flow, state), state.endpoint.id, state.endpoint.protocol, state.tool, identity, decision,
                                    state.reason, state.inspection, state.output, state.restored)
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
        self.rt.incidents.write({"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "request_id": flow.id, "endpoint": state.endpoint.id,
                                 "user": state.grant.identity.user if state.grant else None, "decision": decision, "request": ins.review_text,
                                 "response": "".join(out.review) if out and out.review is not None else None})


def _exchange(flow: http.HTTPFlow, state: FlowState) -> Exchange:
    return Exchange(
        request_id=flow.id, client=client_address(flow), host=state.host or flow.request.pretty_host, method=flow.request.method,
        path=flow.request.path.split("?", 1)[0], request_bytes=len(flow.request.raw_content or b""),
        status=flow.response.status_code if flow.response else None,
        upstream_error=flow.error.msg if flow.error and not flow.response else None,
        duration_ms=round((time.time() - state.started) * 1000, 3),
    )
