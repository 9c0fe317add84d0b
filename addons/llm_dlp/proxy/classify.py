"""Which flows are ours: a request to a catalogued endpoint is tagged (endpoint, protocol, client
tool) for the addons after this one; what can be refused from the headers alone is refused here.
Everything else is left to mitmproxy untouched."""

from __future__ import annotations

from mitmproxy import ctx, http

from llm_dlp.protocols.registry import REGISTRY
from llm_dlp.proxy.state import METADATA_KEY, FlowState, Runtime, log_failure


class Classify:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

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
        endpoint = self.rt.rules.catalog.match(req.pretty_host, req.port, req.path)
        if endpoint is None or (endpoint.plain_http != (req.scheme == "http")):
            return
        protocol = REGISTRY.select(endpoint.protocol, req.path)
        flow.metadata[METADATA_KEY] = FlowState(endpoint, protocol, self.rt.rules.tools.classify(req.headers))
        req.stream = False  # the body must be whole before it can be inspected
        # the response stream must be readable for restoration (streamed bytes are not decoded)
        req.headers["accept-encoding"] = "identity"
        if endpoint.klass != "approved":
            self.rt.refuse(flow, 403, "endpoint_unapproved",
                           f"{endpoint.id} is not an approved AI service for this organisation. Use an approved endpoint instead.")
            return
        limit = ctx.options.llm_dlp_max_body_bytes
        length = req.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            self.rt.refuse(flow, 413, "body_too_large", f"request body of {length} bytes exceeds the inspection limit of {limit} bytes")
