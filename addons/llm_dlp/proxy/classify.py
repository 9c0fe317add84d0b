"""Which flows are ours: a request to a catalogued endpoint is tagged (endpoint, protocol, client
tool) for the addons after this one; what can be refused from the headers alone is refused here.
Everything else is left to mitmproxy untouched. The destination decides which endpoint a request
is for (policy/destination.py), never its Host header."""

from __future__ import annotations

from mitmproxy import ctx, http

from llm_dlp.policy.destination import Request, connect_refusal, content_type_refusal, route
from llm_dlp.protocols.registry import REGISTRY
from llm_dlp.proxy.state import METADATA_KEY, FlowState, Runtime, client_address, log_failure


class Classify:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def http_connect(self, flow: http.HTTPFlow) -> None:
        """A CONNECT to an uninspectable service is refused before the tunnel opens, and audited."""
        if flow.response or self.rt.ruleset is None:
            return
        try:
            req = flow.request
            if refusal := connect_refusal(self.rt.rules.catalog, req.host, req.port):
                self.rt.record("refusal", client=client_address(flow), host=req.host, port=req.port, reason=refusal.reason)
                self.rt.metrics.refusals.labels(refusal.reason).inc()
                flow.response = http.Response.make(403, f"llm-dlp: {refusal.message}\n".encode(), {"content-type": "text/plain"})
        except Exception as exc:
            log_failure("error checking a CONNECT", exc)
            flow.response = http.Response.make(500, b"llm-dlp: internal error; nothing was forwarded.\n", {"content-type": "text/plain"})

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        self.rt.lifecycle.begin(flow.id)  # until response or error: what a graceful shutdown waits for
        if flow.response or flow.error or not flow.live or self.rt.ruleset is None:
            return
        try:
            self._classify(flow)
        except Exception as exc:
            log_failure("error classifying a request", exc)
            self.rt.fail_closed(flow, "internal_error", "llm-dlp could not classify this request")

    def _classify(self, flow: http.HTTPFlow) -> None:
        req = flow.request
        # req.host is where mitmproxy sends the request: the CONNECT target, the transparent
        # address, or the absolute-form URL's host
        decided = route(self.rt.rules.catalog, Request(req.host, req.port, req.scheme, req.path, req.host_header, flow.client_conn.sni))
        endpoint = decided.endpoint
        if endpoint is None:
            return
        protocol = REGISTRY.select(endpoint.protocol, req.path)
        flow.metadata[METADATA_KEY] = FlowState(endpoint, protocol, self.rt.rules.tools.classify(req.headers), host=decided.host)
        req.stream = False  # the body must be whole before it can be inspected
        # the response stream must be readable for restoration (streamed bytes are not decoded)
        req.headers["accept-encoding"] = "identity"
        if refusal := decided.refusal or content_type_refusal(req.headers.get("content-type", "")):
            self.rt.refuse(flow, refusal.status, refusal.reason, refusal.message)
            return
        limit = ctx.options.llm_dlp_max_body_bytes
        length = req.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            self.rt.refuse(flow, 413, "body_too_large", f"request body of {length} bytes exceeds the inspection limit of {limit} bytes")
