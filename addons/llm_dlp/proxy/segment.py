"""Strict segment mode (the pilot segment's gateway): only catalogued AI endpoints are reachable.
Uncatalogued destinations are refused on CONNECT, for plain HTTP, and, for connections that had
no CONNECT to refuse (transparent mode), before connecting — TLS passthrough included."""

from __future__ import annotations

from mitmproxy import http

from llm_dlp.proxy.state import Runtime, client_address, log_failure

REFUSAL = "llm-dlp: only approved AI endpoints are reachable from this network segment"


class StrictSegment:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def _strict(self) -> bool:
        return self.rt.ruleset is not None and self.rt.rules.policy.strict

    def server_connect(self, data) -> None:
        try:
            if not self._strict() or not data.server.address:
                return
            host, port = data.server.address[0], data.server.address[1]
            names = [n for n in (host, data.server.sni, data.client.sni) if n]  # transparent mode: an address, and the TLS SNI
            if any(self.rt.rules.catalog.match(n, port) for n in names):
                return
            self._refused(data.client.peername[0] if data.client.peername else None, names[-1], port)
            data.server.error = REFUSAL
        except Exception as exc:
            log_failure("error in server_connect", exc)
            data.server.error = "llm-dlp: internal error while checking the destination"

    def http_connect(self, flow: http.HTTPFlow) -> None:
        self._refuse_uncatalogued(flow)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.request.scheme == "http":
            self._refuse_uncatalogued(flow)

    def _refuse_uncatalogued(self, flow: http.HTTPFlow) -> None:
        if flow.response or not self._strict():
            return
        req = flow.request
        if self.rt.rules.catalog.match(req.host, req.port) is None:
            self._refused(client_address(flow), req.host, req.port)
            flow.response = http.Response.make(403, (REFUSAL + ".\n").encode(), {"content-type": "text/plain"})

    def _refused(self, client: str | None, host: str, port: int) -> None:
        self.rt.record("refusal", client=client, host=host, port=port, reason="strict_segment")
        self.rt.metrics.refusals.labels("strict_segment").inc()
