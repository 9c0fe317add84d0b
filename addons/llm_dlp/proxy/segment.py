"""Strict segment mode (the pilot segment's gateway): only catalogued AI endpoints are reachable.
Uncatalogued destinations are refused on CONNECT, for plain HTTP, and, for connections that had
no CONNECT to refuse (transparent mode), before connecting — TLS passthrough included."""

from __future__ import annotations

import contextlib
import weakref

from mitmproxy import connection, http
from mitmproxy.proxy.layers.tls import parse_client_hello

from llm_dlp.proxy.state import Runtime, client_address, log_failure
from llm_dlp.record.request_record import identity_fields

REFUSAL = "llm-dlp: only approved AI endpoints are reachable from this network segment"


class StrictSegment:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        # the TLS server name of connections that are not decrypted, for their refusal records only:
        # a name the client merely claims never makes a destination reachable
        self._claimed_names: weakref.WeakKeyDictionary[connection.Client, str] = weakref.WeakKeyDictionary()

    def next_layer(self, nextlayer) -> None:
        """mitmproxy reads the ClientHello to decide what to decrypt, but only a TLS layer keeps its
        server name on the connection: read it here for a passthrough connection's refusal."""
        client = nextlayer.context.client
        if not self._strict() or client.sni or client in self._claimed_names:
            return
        with contextlib.suppress(ValueError):
            if (hello := parse_client_hello(nextlayer.data_client())) and hello.sni:
                self._claimed_names[client] = hello.sni

    def _strict(self) -> bool:
        return self.rt.ruleset is not None and self.rt.rules.policy.strict

    def server_connect(self, data) -> None:
        try:
            if not self._strict() or not data.server.address:
                return
            host, port = data.server.address[0], data.server.address[1]
            server_name = data.server.sni or data.client.sni  # transparent mode: an address, and the TLS SNI
            names = [n for n in (host, server_name) if n]
            if any(self.rt.rules.catalog.match(n, port) for n in names):
                return
            self._refused(
                data.client.peername[0] if data.client.peername else None,
                names[-1],
                port,
                host,
                server_name or self._claimed_names.get(data.client),
            )
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
            server_name = req.pretty_host if req.method != "CONNECT" else None  # a CONNECT names its target, the TLS SNI comes later
            self._refused(client_address(flow), req.host, req.port, req.host, server_name)
            flow.response = http.Response.make(403, (REFUSAL + ".\n").encode(), {"content-type": "text/plain"})

    def _refused(self, client: str | None, host: str, port: int, address: str, server_name: str | None) -> None:
        """Audited with the address and the name the client asked for, and whom the address identifies."""
        self.rt.record(
            "refusal",
            client=client,
            host=host,
            port=port,
            address=address,
            server_name=server_name,
            reason="strict_segment",
            **identity_fields(self.rt.rules, client),
        )
        self.rt.metrics.refusals.labels("strict_segment").inc()
