"""Signals and graceful shutdown: SIGHUP reloads the rules now; SIGTERM and SIGINT drain (readiness
fails, new connections are closed, requests in flight finish within the grace period), then stop;
a second signal stops at once. While the rules are invalid or the proxy drains, no new connections."""

from __future__ import annotations

import asyncio
import signal

from mitmproxy import connection, ctx

from llm_dlp.proxy.reload import Reloader
from llm_dlp.proxy.state import Runtime, log


class Shutdown:
    def __init__(self, runtime: Runtime, reloader: Reloader) -> None:
        self.rt = runtime
        self._reloader = reloader
        self._tasks: set[asyncio.Task] = set()

    def load(self, loader) -> None:
        loader.add_option(
            "llm_dlp_shutdown_grace_seconds",
            int,
            30,
            "On SIGTERM or SIGINT, stop taking connections and let requests and streams in flight finish for up to this long.",
        )

    def running(self) -> None:
        """Replaces mitmproxy's own handlers, which stop immediately."""
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, lambda: self._spawn(self._reloader.reload_now()))
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._stop)
        except (NotImplementedError, RuntimeError, ValueError):
            log.info("llm-dlp: not in the main thread; signals keep their default handling")

    def client_connected(self, client: connection.Client) -> None:
        if not self.rt.lifecycle.accepts_connections():
            client.error = "llm-dlp is not ready: " + (self.rt.lifecycle.readiness() or "")
            self.rt.metrics.refusals.labels("not_ready").inc()

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)

    def _stop(self) -> None:
        if self.rt.lifecycle.draining:
            ctx.master.shutdown()
            return
        self._spawn(self._drain_and_stop())

    async def _drain_and_stop(self) -> None:
        grace = ctx.options.llm_dlp_shutdown_grace_seconds
        log.info(f"llm-dlp: shutting down; waiting up to {grace} s for {self.rt.lifecycle.inflight} request(s) in flight")
        left = await self.rt.lifecycle.drain(grace)
        if left:
            log.warning(f"llm-dlp: grace period over, {left} request(s) still in flight are cut off")
        ctx.master.shutdown()
