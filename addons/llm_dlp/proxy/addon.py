"""The mitmproxy addon: the only module that touches mitmproxy's types.

Flow: requestheaders (catalog match, early refusals) -> request (inspect off the event loop,
then redact, block or forward) -> responseheaders (stream and restore) -> response / error
(one audit record, metrics). Every hook catches its own errors: mitmproxy would log an
exception and let the flow go on, which for a DLP proxy means forwarding uninspected data."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
import traceback
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from mitmproxy import connection, ctx, exceptions, http

from llm_dlp import __version__
from llm_dlp.act.placeholders import Keyring, load_key
from llm_dlp.act.restore import Restorer
from llm_dlp.commands.doctor import DIAGNOSTIC_PATH, diagnosis
from llm_dlp.identity.sources import Identity, parse_basic
from llm_dlp.inspect.output import OutputInspector
from llm_dlp.inspect.request import BLOCK, REDACT, Inspection, inspect_request
from llm_dlp.inspect.stream import StreamRewriter, framing_for
from llm_dlp.policy.catalog import Endpoint
from llm_dlp.policy.pilot import Grant, Refusal
from llm_dlp.protocols.errors import error_body, refusal_page
from llm_dlp.proxy.lifecycle import Lifecycle, serve
from llm_dlp.record.audit import AuditLog
from llm_dlp.record.incidents import IncidentLog
from llm_dlp.record.lineage import Fingerprinter, LineageRecorder
from llm_dlp.record.metrics import Metrics
from llm_dlp.rules.files import RuleFileError, bundled_rules_dir
from llm_dlp.rules.ruleset import RuleSet, directory_digest, load_ruleset

log = logging.getLogger("llm_dlp")

METADATA_KEY = "llm_dlp"
NEVER_MATCHES = r"(?!)"  # an empty allow_hosts list would mean "decrypt everything"
STREAMING_TYPES = ("text/event-stream", "application/x-ndjson", "application/jsonl", "application/json-seq", "application/vnd.amazon.eventstream")


@dataclass
class FlowState:
    """What the addon knows about one flow to a catalogued endpoint (kept in flow.metadata)."""

    endpoint: Endpoint
    tool: str
    grant: Grant | None = None
    started: float = field(default_factory=time.time)
    decision: str | None = None
    reason: str | None = None
    inspection: Inspection | None = None
    output: OutputInspector | None = None
    restored: int = 0
    streaming: bool = False


class LlmDlp:
    def __init__(self) -> None:
        self.ruleset: RuleSet | None = None
        self.metrics = Metrics()
        self.audit: AuditLog | None = None
        self.keyring: Keyring | None = None
        self.incidents: IncidentLog | None = None
        self.lifecycle = Lifecycle()
        self._tasks: set[asyncio.Task] = set()
        self._reload_task: asyncio.Task | None = None
        self._metrics_port: int | None = None
        # users authenticated on a CONNECT, for the flows inside that tunnel (no passwords kept)
        self._connection_users: weakref.WeakKeyDictionary[connection.Client, Identity] = weakref.WeakKeyDictionary()

    # ---- options and configuration -------------------------------------------------------
    def load(self, loader) -> None:
        loader.add_option("llm_dlp_rules", str, str(bundled_rules_dir()), "Directory (or file) of llm-dlp rule files.")
        loader.add_option("llm_dlp_audit_log", str, "llm-dlp-audit.jsonl", "Audit log path, or '-' for stdout.")
        loader.add_option("llm_dlp_audit_max_bytes", int, 100 * 1024 * 1024, "Rotate the audit log when it reaches this size; 0: never.")
        loader.add_option("llm_dlp_audit_rotate_seconds", int, 86400, "Rotate the audit log when it is this old; 0: never.")
        loader.add_option("llm_dlp_incident_dir", str, "", "Directory for the optional incident-review store of redacted prompts and responses; empty: off.")
        loader.add_option("llm_dlp_incident_retention_days", int, 30, "Days the incident-review files are kept.")
        loader.add_option("llm_dlp_metrics_listen", str, "127.0.0.1:9464", "HOST:PORT for Prometheus /metrics; empty to disable.")
        loader.add_option("llm_dlp_metrics_user_labels", bool, False, "Also count requests per user name in metrics (high cardinality; off by default).")
        loader.add_option("llm_dlp_max_body_bytes", int, 32 * 1024 * 1024, "Larger request bodies to LLM endpoints are blocked.")
        loader.add_option("llm_dlp_key_file", str, "", "Placeholder key file (default: generated in confdir; env LLM_DLP_PLACEHOLDER_KEY wins).")
        loader.add_option("llm_dlp_reload_seconds", int, 2, "How often rule files are checked for changes; 0 disables.")
        loader.add_option("llm_dlp_wait_for_rules", bool, False,
                          "Start even when the rules are invalid: refuse every connection and report not ready on /readyz until valid rules appear.")
        loader.add_option("llm_dlp_shutdown_grace_seconds", int, 30,
                          "On SIGTERM or SIGINT, stop taking connections and let requests and streams in flight finish for up to this long.")

    def configure(self, updated: set[str]) -> None:
        if "llm_dlp_rules" in updated:
            try:
                self._install(load_ruleset(Path(ctx.options.llm_dlp_rules)))
            except RuleFileError as exc:
                if self.ruleset is not None or not ctx.options.llm_dlp_wait_for_rules:
                    raise exceptions.OptionsError(f"llm-dlp rules are invalid:\n{exc}") from None
                # a warning: mitmproxy exits on any error logged during start-up
                log.warning(f"llm-dlp: rules are invalid; refusing all connections until they are fixed:\n{exc}")
                self.lifecycle.rules_invalid = True
        if "llm_dlp_key_file" in updated or "confdir" in updated:
            try:
                self.keyring = Keyring(load_key(ctx.options.llm_dlp_key_file or None, ctx.options.confdir))
            except (OSError, ValueError) as exc:
                raise exceptions.OptionsError(f"llm-dlp placeholder key: {exc}") from None
        if updated & {"llm_dlp_audit_log", "llm_dlp_audit_max_bytes", "llm_dlp_audit_rotate_seconds", "llm_dlp_key_file", "confdir"}:
            if self.audit:
                self.audit.close()
            self.audit = AuditLog(ctx.options.llm_dlp_audit_log, self.keyring.chain_key,
                                  ctx.options.llm_dlp_audit_max_bytes, ctx.options.llm_dlp_audit_rotate_seconds)
        if updated & {"llm_dlp_incident_dir", "llm_dlp_incident_retention_days"}:
            directory = ctx.options.llm_dlp_incident_dir
            self.incidents = IncidentLog(directory, ctx.options.llm_dlp_incident_retention_days) if directory else None
        if "llm_dlp_metrics_listen" in updated and ctx.options.llm_dlp_metrics_listen and self._metrics_port is None:
            host, _, port = ctx.options.llm_dlp_metrics_listen.rpartition(":")
            self._metrics_port = serve(host.strip("[]") or "127.0.0.1", int(port), self.metrics.registry, self.lifecycle)
            log.info(f"llm-dlp metrics at http://{host}:{self._metrics_port}/metrics (and /healthz, /readyz)")

    def _install(self, ruleset: RuleSet) -> None:
        """Make ``ruleset`` live, and decrypt exactly its catalogued hosts."""
        self.ruleset = ruleset
        self.lifecycle.rules_invalid = False
        self.metrics.rules_loaded.set(len(ruleset.rules))
        ctx.options.update(allow_hosts=ruleset.catalog.allow_hosts() or [NEVER_MATCHES])
        # known only where mitmproxy's TLS addon is loaded (not in unit-test contexts)
        ctx.options.update_known(request_client_cert=ruleset.policy.client_cert is not None)
        if ruleset.policy.strict:  # connect only once the TLS SNI is known, so destinations are checked by name
            ctx.options.update_known(connection_strategy="lazy")

    def running(self) -> None:
        self._audit("start", rules=self.ruleset.source if self.ruleset else None, rule_count=len(self.ruleset.rules) if self.ruleset else 0)
        if ctx.options.llm_dlp_reload_seconds > 0 and self._reload_task is None:
            self._reload_task = asyncio.get_running_loop().create_task(self._watch_rules())
        self._handle_signals()
        self.lifecycle.started = True

    def _handle_signals(self) -> None:
        """SIGHUP reloads the rules now; SIGTERM and SIGINT drain, then stop (a second one stops
        at once). Replaces mitmproxy's own handlers, which stop immediately."""
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, lambda: self._spawn(self.reload_now()))
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._stop)
        except (NotImplementedError, RuntimeError, ValueError):
            log.info("llm-dlp: not in the main thread; signals keep their default handling")

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)

    def _stop(self) -> None:
        if self.lifecycle.draining:
            ctx.master.shutdown()
            return
        self._spawn(self._drain_and_stop())

    async def _drain_and_stop(self) -> None:
        grace = ctx.options.llm_dlp_shutdown_grace_seconds
        log.info(f"llm-dlp: shutting down; waiting up to {grace} s for {self.lifecycle.inflight} request(s) in flight")
        left = await self.lifecycle.drain(grace)
        if left:
            log.warning(f"llm-dlp: grace period over, {left} request(s) still in flight are cut off")
        ctx.master.shutdown()

    # mitmproxy hook: while the rules are invalid or the proxy is draining, no new connections
    def client_connected(self, client: connection.Client) -> None:
        if not self.lifecycle.accepts_connections():
            client.error = "llm-dlp is not ready: " + (self.lifecycle.readiness() or "")
            self.metrics.refusals.labels("not_ready").inc()

    def done(self) -> None:
        if self._reload_task:
            self._reload_task.cancel()
        self._audit("stop")

    async def _watch_rules(self) -> None:
        last_failed = None
        while True:
            await asyncio.sleep(ctx.options.llm_dlp_reload_seconds)
            source = Path(ctx.options.llm_dlp_rules)
            digest = await _digest(source)
            if digest in (self.ruleset.digest if self.ruleset else None, last_failed):
                continue
            last_failed = await self.reload(source, digest)

    async def reload_now(self) -> None:
        source = Path(ctx.options.llm_dlp_rules)
        await self.reload(source, await _digest(source))

    async def reload(self, source: Path, digest: str) -> str | None:
        """Load ``source`` and swap it in; on failure keep the live rules. Return the failed digest."""
        try:
            ruleset = await asyncio.to_thread(load_ruleset, source)
        except RuleFileError as exc:
            self.metrics.reloads.labels("failure").inc()
            log.error(f"llm-dlp: rule reload failed, previous rules stay live:\n{exc}")
            self._audit("reload_failed", errors=[str(e) for e in exc.errors][:50])
            return digest
        self._install(ruleset)
        self.metrics.reloads.labels("success").inc()
        log.info(f"llm-dlp: rules reloaded from {source} ({len(ruleset.rules)} secret rules)")
        self._audit("reload", rules=str(source), rule_count=len(ruleset.rules))
        return None

    # ---- identity and policy ------------------------------------------------------------------
    def server_connect(self, data) -> None:
        """Strict segment mode, for connections that had no CONNECT to refuse (transparent mode):
        an uncatalogued destination is never connected to, TLS passthrough included."""
        try:
            if self.ruleset is None or not self.ruleset.policy.strict or not data.server.address:
                return
            host, port = data.server.address[0], data.server.address[1]
            names = [n for n in (host, data.server.sni, data.client.sni) if n]  # transparent mode: an address, and the TLS SNI
            if any(self.ruleset.catalog.match(n, port) for n in names):
                return
            self._audit("refusal", client=data.client.peername[0] if data.client.peername else None, host=names[-1],
                        port=port, reason="strict_segment")
            self.metrics.refusals.labels("strict_segment").inc()
            data.server.error = "llm-dlp: only approved AI endpoints are reachable from this network segment"
        except Exception as exc:
            log_failure("error in server_connect", exc)
            data.server.error = "llm-dlp: internal error while checking the destination"

    async def http_connect(self, flow: http.HTTPFlow) -> None:
        """Strict segment mode refuses uncatalogued destinations; proxy credentials on a CONNECT
        to an AI endpoint are checked here, once for the whole tunnel."""
        if self.ruleset is None or flow.response:
            return
        try:
            policy = self.ruleset.policy
            endpoint = self.ruleset.catalog.match(flow.request.host, flow.request.port)
            if endpoint is None:
                if policy.strict:
                    self._audit("refusal", client=_client(flow), host=flow.request.host, port=flow.request.port, reason="strict_segment")
                    self.metrics.refusals.labels("strict_segment").inc()
                    flow.response = http.Response.make(403, b"llm-dlp: only approved AI endpoints are reachable from this network segment.\n",
                                                       {"content-type": "text/plain"})
                return
            if policy.htpasswd:
                login = await self._proxy_login(flow)
                if login is False or (login is None and not self._other_identity_possible(flow)):
                    self._challenge(flow, b"llm-dlp: proxy authentication is required for AI services.\n")
        except Exception as exc:
            log_failure("error in http_connect", exc)
            flow.response = http.Response.make(500, b"llm-dlp: internal error; nothing was forwarded.\n", {"content-type": "text/plain"})

    async def _proxy_login(self, flow: http.HTTPFlow) -> bool | None:
        """Check Proxy-Authorization (off the event loop: bcrypt is slow) and remember the user
        for this client connection. The header is removed: it is never forwarded or logged.
        None: no credentials were given (and none are remembered for this connection)."""
        header = flow.request.headers.pop("proxy-authorization", None)
        credentials = parse_basic(header) if header else None
        if header and credentials is None:
            return False
        if credentials is None:
            return True if flow.client_conn in self._connection_users else None
        htpasswd = self.ruleset.policy.htpasswd
        if await asyncio.to_thread(htpasswd.verify, *credentials):
            self._connection_users[flow.client_conn] = self.ruleset.policy.with_groups(credentials[0], "proxy_auth")
            return True
        self._connection_users.pop(flow.client_conn, None)
        return False

    def _other_identity_possible(self, flow: http.HTTPFlow) -> bool:
        policy = self.ruleset.policy
        return policy.client_cert is not None or (policy.source_map is not None and policy.source_map.user(_client(flow) or "") is not None)

    def _challenge(self, flow: http.HTTPFlow, body: bytes) -> None:
        realm = self.ruleset.policy.realm.replace('"', "")
        flow.response = http.Response.make(407, body, {"content-type": "text/plain", "proxy-authenticate": f'Basic realm="{realm}"'})

    def _identify(self, flow: http.HTTPFlow) -> Identity | None:
        policy = self.ruleset.policy
        if policy.client_cert and flow.client_conn.certificate_list:
            user = policy.client_cert.user([c.to_cryptography() for c in flow.client_conn.certificate_list])
            if user:
                return policy.with_groups(user, "client_cert")
        if flow.client_conn in self._connection_users:
            return self._connection_users[flow.client_conn]
        if policy.source_map and (user := policy.source_map.user(_client(flow) or "")):
            return policy.with_groups(user, "source_address")
        return None

    # ---- request side -----------------------------------------------------------------------
    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        self.lifecycle.begin(flow.id)  # until response or error: what a graceful shutdown waits for
        if flow.response or flow.error or not flow.live or self.ruleset is None:
            return
        try:
            if self._classify(flow) and self.ruleset.policy.htpasswd and flow.request.headers.get("proxy-authorization"):
                await self._proxy_login(flow)  # a plain-HTTP request through the proxy carries its own credentials
            if (state := flow.metadata.get(METADATA_KEY)) and not flow.response:
                if flow.request.path.split("?")[0] == DIAGNOSTIC_PATH:
                    self._diagnose(flow, state)
                else:
                    self._authorize(flow, state)
        except Exception as exc:
            log_failure("error in requestheaders", exc)
            self._fail_closed(flow, "internal_error", "llm-dlp could not classify this request")

    def _classify(self, flow: http.HTTPFlow) -> bool:
        """Tag a flow to a catalogued endpoint; refuse what can be refused from the headers."""
        req = flow.request
        endpoint = self.ruleset.catalog.match(req.pretty_host, req.port, req.path)
        if endpoint is None or (endpoint.plain_http != (req.scheme == "http")):
            if self.ruleset.policy.strict and endpoint is None and flow.request.scheme == "http":
                flow.response = http.Response.make(403, b"llm-dlp: only approved AI endpoints are reachable from this network segment.\n")
            return False
        state = FlowState(endpoint, self.ruleset.tools.classify(req.headers))
        flow.metadata[METADATA_KEY] = state
        req.stream = False  # the body must be whole before it can be inspected
        # the response stream must be readable for restoration (streamed bytes are not decoded)
        req.headers["accept-encoding"] = "identity"
        if endpoint.klass != "approved":
            self._refuse(flow, 403, "endpoint_unapproved", f"{endpoint.id} is not an approved AI service for this organisation. Use an approved endpoint instead.")
            return True
        limit = ctx.options.llm_dlp_max_body_bytes
        length = req.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            self._refuse(flow, 413, "body_too_large", f"request body of {length} bytes exceeds the inspection limit of {limit} bytes")
        return True

    def _authorize(self, flow: http.HTTPFlow, state: FlowState) -> None:
        policy = self.ruleset.policy
        result = policy.authorize(self._identify(flow), state.endpoint.id, state.tool)
        if isinstance(result, Refusal):
            self._refuse(flow, result.status, result.reason, result.message)
            if result.status == 407:
                flow.response.headers["proxy-authenticate"] = f'Basic realm="{policy.realm}"'
            return
        state.grant = result
        if not policy.key_allowed(state.endpoint.id, self._key_hash(flow)):
            self._refuse(flow, 403, "api_key_not_allowed", "This API key is not an approved organisation key. Personal or free-tier keys cannot be used.")
            return
        for name, value in policy.headers_for(state.endpoint.id).items():
            flow.request.headers[name] = value  # replaces every copy the client sent

    def _diagnose(self, flow: http.HTTPFlow, state: FlowState) -> None:
        """``llm-dlp doctor``'s request: answered here, never forwarded. It proves the client
        reached this proxy, trusted its CA and was inspected, and says who the proxy took it for."""
        identity = self._identify(flow)
        result = self.ruleset.policy.authorize(identity, state.endpoint.id, state.tool)
        state.decision = "diagnostic"
        body = diagnosis(__version__, self.audit.instance if self.audit else None, _client(flow), state.endpoint.id, state.tool,
                         identity, None if isinstance(result, Grant) else result)
        flow.response = http.Response.make(200, json.dumps(body).encode(), {"content-type": "application/json", "cache-control": "no-store"})

    def _key_hash(self, flow: http.HTTPFlow) -> str | None:
        h = flow.request.headers
        key = h.get("x-api-key") or h.get("api-key") or h.get("x-goog-api-key") or flow.request.query.get("key")
        auth = h.get("authorization", "")
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        return self.keyring.fingerprint(key) if key else None

    async def request(self, flow: http.HTTPFlow) -> None:
        state: FlowState | None = flow.metadata.get(METADATA_KEY)
        if state is None or flow.response or flow.error or not flow.live:
            return
        started = time.perf_counter()
        try:
            await self._inspect(flow, state)
            self.metrics.added_latency.labels(state.endpoint.id).observe(time.perf_counter() - started)
        except Exception as exc:
            log_failure(f"inspection failed for {state.endpoint.id}", exc)
            self._fail_closed(flow, type(exc).__name__, "llm-dlp could not inspect this request")

    async def _inspect(self, flow: http.HTTPFlow, state: FlowState) -> None:
        req = flow.request
        if req.raw_content is None:
            self._fail_closed(flow, "body_streamed", "the request body was streamed and could not be inspected")
            return
        limit = ctx.options.llm_dlp_max_body_bytes
        if len(req.raw_content) > limit:
            self._refuse(flow, 413, "body_too_large", f"request body exceeds the inspection limit of {limit} bytes")
            return
        try:
            raw = req.get_content(strict=True)
        except ValueError:
            encoding = req.headers.get("content-encoding", "?")
            self._fail_closed(flow, "undecodable_body", f"the request body could not be decoded (Content-Encoding: {encoding})", 400)
            return
        ruleset, keyring = self.ruleset, self.keyring
        overrides = state.grant.access.actions if state.grant else {}
        groups = state.grant.identity.groups if state.grant else ()
        inspection = await asyncio.to_thread(inspect_request, raw, state.endpoint.protocol, req.path, ruleset.detector, keyring, overrides,
                                             self.incidents is not None, ruleset.paths, groups, ruleset.fingerprints)
        state.inspection = inspection
        state.decision = inspection.decision
        if state.grant and (refusal := ruleset.policy.check_model(state.grant, inspection.model)):
            self._refuse(flow, refusal.status, refusal.reason, refusal.message)
        elif inspection.decision == BLOCK:
            self._respond(flow, 403, "llm_dlp_blocked", inspection.block_message())
        elif inspection.decision == REDACT:
            req.content = inspection.body  # re-encoded with the request's Content-Encoding

    def _refuse(self, flow: http.HTTPFlow, status: int, reason: str, message: str) -> None:
        state: FlowState = flow.metadata[METADATA_KEY]
        state.decision, state.reason = "refuse", reason
        self.metrics.refusals.labels(reason).inc()
        self._respond(flow, status, f"llm_dlp_{reason}", f"Request refused by llm-dlp: {message}")

    def _fail_closed(self, flow: http.HTTPFlow, reason: str, message: str, status: int = 500) -> None:
        state: FlowState | None = flow.metadata.get(METADATA_KEY)
        endpoint = state.endpoint.id if state else "unknown"
        self.metrics.inspection_errors.labels(endpoint, reason).inc()
        if state:
            state.decision, state.reason = "error", reason
        self._respond(flow, status, "llm_dlp_inspection_error",
                      f"Request blocked by llm-dlp: {message}. Nothing was sent to the AI service.")

    def _respond(self, flow: http.HTTPFlow, status: int, code: str, message: str) -> None:
        state: FlowState | None = flow.metadata.get(METADATA_KEY)
        if "text/html" in flow.request.headers.get("accept", ""):  # a browser: a page, not JSON
            flow.response = http.Response.make(status, refusal_page(message), {"content-type": "text/html; charset=utf-8", "x-llm-dlp": code})
            return
        protocol = state.endpoint.protocol if state else "generic"
        flow.response = http.Response.make(status, error_body(protocol, status, code, message), {"content-type": "application/json", "x-llm-dlp": code})

    # ---- response side ----------------------------------------------------------------------
    def responseheaders(self, flow: http.HTTPFlow) -> None:
        state: FlowState | None = flow.metadata.get(METADATA_KEY)
        if state is None or flow.response is None or flow.response.headers.get("x-llm-dlp"):
            return
        try:
            path = flow.request.path.split("?")[0]
            lineage = LineageRecorder(Fingerprinter(self.keyring.lineage_key), state.inspection.texts if state.inspection else [],
                                      whole_is_code=path.endswith("/completions") and not path.endswith("/chat/completions"))
            state.output = OutputInspector(self.ruleset.detector, self.keyring, self._restorer(state), self.ruleset.packages, lineage)
            if self.incidents:
                state.output.review = []
            ctype = flow.response.headers.get("content-type", "").lower()
            framing = framing_for(ctype, flow.request.path)
            if framing:
                rewriter = StreamRewriter(framing, state.output.process, on_anomaly=lambda kind: self._anomaly(state, kind),
                                          on_channel_end=state.output.end_channel, on_event=state.output.observe)
                flow.response.stream = SafeStream(rewriter, lambda: self._anomaly(state, "rewriter_error"),
                                                  self.metrics.response_bytes.labels(state.endpoint.id))
                state.streaming = True
                self.metrics.active_streams.inc()
            elif any(t in ctype for t in STREAMING_TYPES):
                flow.response.stream = True  # a stream we cannot read: passed through as it comes
        except Exception as exc:
            log_failure("error in responseheaders", exc)

    def response(self, flow: http.HTTPFlow) -> None:
        self.lifecycle.end(flow.id)
        state: FlowState | None = flow.metadata.get(METADATA_KEY)
        if state is None:
            return
        try:
            resp = flow.response
            if state.output and not resp.stream and resp.raw_content:
                content = resp.get_content(strict=False)
                rewritten = state.output.rewrite_body(content)
                if rewritten != content:
                    resp.content = rewritten
            if not resp.stream:
                self.metrics.response_bytes.labels(state.endpoint.id).inc(len(resp.raw_content or b""))
        except Exception as exc:
            log_failure("error inspecting a response", exc)
        self._finish(flow, state)

    def error(self, flow: http.HTTPFlow) -> None:
        self.lifecycle.end(flow.id)
        state: FlowState | None = flow.metadata.get(METADATA_KEY)
        if state is None:
            return
        self.metrics.upstream_errors.labels(state.endpoint.id).inc()
        self._finish(flow, state)

    def _restorer(self, state: FlowState) -> Restorer:
        def counted(n: int) -> None:
            state.restored += n
            self.metrics.restorations.labels(state.endpoint.id).inc(n)

        return Restorer(state.inspection.restore if state.inspection else {}, on_restore=counted)

    def _anomaly(self, state: FlowState, kind: str) -> None:
        self.metrics.stream_anomalies.labels(state.endpoint.id, kind).inc()

    # ---- audit and metrics ------------------------------------------------------------------
    def _finish(self, flow: http.HTTPFlow, state: FlowState) -> None:
        if state.streaming:
            state.streaming = False
            self.metrics.active_streams.dec()
        try:
            decision = state.decision or ("allow" if flow.response else "error")
            ins = state.inspection
            endpoint = state.endpoint.id
            self.metrics.requests.labels(endpoint, state.tool, decision).inc()
            if ctx.options.llm_dlp_metrics_user_labels and state.grant:
                self.metrics.user_requests.labels(state.grant.identity.user).inc()
            if ins:
                self.metrics.inspection_seconds.labels(endpoint).observe(ins.seconds)
                self.metrics.inspected_bytes.labels(endpoint).inc(ins.bytes_inspected)
                for f in ins.findings:
                    self.metrics.findings.labels(f.rule, f.action).inc()
            output = state.output.findings if state.output else []
            for f in output:
                self.metrics.response_findings.labels(f.rule, f.action).inc()
            packages = state.output.package_findings if state.output else []
            for p in packages:
                self.metrics.package_warnings.labels(p.ecosystem, p.status).inc()
            self._audit(
                "request",
                request_id=flow.id,
                client=_client(flow),
                user=state.grant.identity.user if state.grant else None,
                groups=list(state.grant.identity.groups) if state.grant else [],
                identity_source=state.grant.identity.source if state.grant else None,
                tool=state.tool,
                endpoint=endpoint,
                protocol=state.endpoint.protocol,
                host=flow.request.pretty_host,
                method=flow.request.method,
                path=flow.request.path.split("?", 1)[0],
                model=ins.model if ins else None,
                served_model=state.output.served_model if state.output else None,
                decision=decision,
                reason=state.reason,
                findings=[f.to_dict() for f in ins.findings] if ins else [],
                response_findings=[f.to_dict() for f in output],
                packages=[p.to_dict() for p in packages],
                generated=[g.to_dict() for g in state.output.lineage.generations] if state.output and state.output.lineage else [],
                request_bytes=ins.bytes_inspected if ins else len(flow.request.raw_content or b""),
                inspection_ms=round(ins.seconds * 1000, 3) if ins else None,
                status=flow.response.status_code if flow.response else None,
                upstream_error=flow.error.msg if flow.error and not flow.response else None,
                restored_placeholders=state.restored,
                duration_ms=round((time.time() - state.started) * 1000, 3),
            )
            if self.incidents and ins and ins.review_text is not None:
                self.incidents.write({"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "request_id": flow.id, "endpoint": endpoint,
                                      "user": state.grant.identity.user if state.grant else None, "decision": decision,
                                      "request": ins.review_text, "response": "".join(state.output.review) if state.output and state.output.review is not None else None})
        except Exception as exc:
            log_failure("error recording the request", exc)

    def _audit(self, event: str, **fields) -> None:
        if not self.audit:
            return
        try:
            self.audit.write(event, **fields)
        except Exception as exc:  # a full disk must not take requests down; it is counted and alerted on
            self.metrics.audit_failures.inc()
            log_failure("error writing an audit record", exc)


async def _digest(source: Path) -> str:
    """The rules directory's digest, read off the event loop ("missing" when it is gone)."""
    try:
        return await asyncio.to_thread(directory_digest, source)
    except RuleFileError:
        return "missing"


def _client(flow: http.HTTPFlow) -> str | None:
    return flow.client_conn.peername[0] if flow.client_conn.peername else None


class SafeStream:
    """Wraps a stream rewriter: if it fails, the rest of the stream passes through unchanged
    (counted) instead of breaking the developer's response."""

    def __init__(self, rewriter: StreamRewriter, on_failure, out_bytes):
        self._rewriter = rewriter
        self._on_failure = on_failure
        self._out_bytes = out_bytes  # a counter of bytes sent to the client
        self._failed = False

    def __call__(self, chunk: bytes) -> bytes:
        out = self._rewrite(chunk)
        self._out_bytes.inc(len(out))
        return out

    def _rewrite(self, chunk: bytes) -> bytes:
        if self._failed:
            return chunk
        try:
            return self._rewriter(chunk)
        except Exception as exc:
            log_failure("error rewriting a response stream; passing the rest through", exc)
            self._failed = True
            self._on_failure()
            return self._rewriter.salvage() + chunk


def log_failure(what: str, exc: BaseException) -> None:
    """Log where an exception happened, without its message: messages can quote request content."""
    log.error(f"llm-dlp: {what}: {type(exc).__name__}\n{''.join(traceback.format_tb(exc.__traceback__))}")
