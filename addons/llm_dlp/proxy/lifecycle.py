"""Readiness, liveness and graceful shutdown, and the HTTP endpoints that report them beside
/metrics: ``/healthz`` (the process answers) and ``/readyz`` (it should be sent traffic: rules
are loaded and it is not shutting down)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app


class Lifecycle:
    def __init__(self) -> None:
        self.started = False
        self.rules_invalid = False
        self.draining = False
        self._inflight: set[str] = set()

    def readiness(self) -> str | None:
        """None when ready for traffic, else why not (no rule or request content in it)."""
        if self.draining:
            return "shutting down"
        if self.rules_invalid:
            return "rules are invalid (see the log); waiting for valid rules"
        if not self.started:
            return "starting"
        return None

    def accepts_connections(self) -> bool:
        return not self.draining and not self.rules_invalid

    def begin(self, flow_id: str) -> None:
        self._inflight.add(flow_id)

    def end(self, flow_id: str) -> None:
        self._inflight.discard(flow_id)

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    async def drain(self, grace_seconds: float) -> int:
        """Stop taking new connections and wait, up to the grace period, for requests and streams
        in flight to finish. Return how many were still running."""
        self.draining = True
        deadline = time.monotonic() + grace_seconds
        while self._inflight and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return len(self._inflight)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:  # scrapes and probes every few seconds
        pass


def serve(host: str, port: int, registry: CollectorRegistry, lifecycle: Lifecycle) -> int:
    """Serve /metrics, /healthz and /readyz in a daemon thread; return the bound port."""
    metrics = make_wsgi_app(registry)

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return _text(start_response, "200 OK", "ok\n")
        if path == "/readyz":
            reason = lifecycle.readiness()
            return (
                _text(start_response, "503 Service Unavailable", f"not ready: {reason}\n")
                if reason
                else _text(start_response, "200 OK", "ready\n")
            )
        return metrics(environ, start_response)

    server_class = type("Server", (_Server,), {"address_family": socket.AF_INET6 if ":" in host else socket.AF_INET})
    server: WSGIServer = make_server(host, port, app, server_class, _QuietHandler)
    threading.Thread(target=server.serve_forever, name="llm-dlp-metrics", daemon=True).start()
    return server.server_address[1]


def _text(start_response, status: str, body: str) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
    return [body.encode()]
