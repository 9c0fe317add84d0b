"""What the proxy knows about one flow to a catalogued endpoint, kept in ``flow.metadata``, and
the shared services every proxy addon uses (rules, keys, audit, metrics, health)."""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field

from mitmproxy import http

from llm_dlp.act.placeholders import Keyring
from llm_dlp.act.refusals import refusal_page
from llm_dlp.identity.sources import Identity
from llm_dlp.inspect.output import OutputInspector
from llm_dlp.inspect.request import Inspection
from llm_dlp.policy.catalog import Endpoint
from llm_dlp.policy.pilot import Grant
from llm_dlp.protocols.api import Protocol
from llm_dlp.protocols.registry import REGISTRY
from llm_dlp.proxy.lifecycle import Lifecycle
from llm_dlp.record.audit import AuditLog
from llm_dlp.record.incidents import IncidentLog
from llm_dlp.record.metrics import Metrics
from llm_dlp.record.outcome import StreamEnd
from llm_dlp.rules.ruleset import RuleSet

log = logging.getLogger("llm_dlp")

METADATA_KEY = "llm_dlp"
AUDIT_UNAVAILABLE = "audit unavailable: the audit trail cannot be written, so nothing is sent to AI services until it can. Try again later."


@dataclass
class FlowState:
    endpoint: Endpoint
    protocol: Protocol  # chosen from the endpoint's family and the request path
    tool: str
    host: str | None = None  # the catalogued name of the destination (not the Host header)
    identity: Identity | None = None
    grant: Grant | None = None
    started: float = field(default_factory=time.time)
    decision: str | None = None
    reason: str | None = None
    inspection: Inspection | None = None
    output: OutputInspector | None = None
    restored: int = 0
    streaming: bool = False
    stream_end: StreamEnd | None = None  # watches a streamed answer for its terminal event


def state_of(flow: http.HTTPFlow) -> FlowState | None:
    return flow.metadata.get(METADATA_KEY)


def client_address(flow: http.HTTPFlow) -> str | None:
    return flow.client_conn.peername[0] if flow.client_conn.peername else None


def log_failure(what: str, exc: BaseException) -> None:
    """Log where an exception happened, without its message: messages can quote request content."""
    log.error(f"llm-dlp: {what}: {type(exc).__name__}\n{''.join(traceback.format_tb(exc.__traceback__))}")


class Runtime:
    """The services shared by the proxy's addons; configured by :class:`~llm_dlp.proxy.config.Configuration`."""

    def __init__(self) -> None:
        self.ruleset: RuleSet | None = None
        self.keyring: Keyring | None = None
        self.audit: AuditLog | None = None
        self.incidents: IncidentLog | None = None
        self.metrics = Metrics()
        self.lifecycle = Lifecycle()

    @property
    def rules(self) -> RuleSet:
        """The live rule set; hooks that need it run only once rules are loaded."""
        if self.ruleset is None:
            raise RuntimeError("no rules are loaded")
        return self.ruleset

    @property
    def keys(self) -> Keyring:
        if self.keyring is None:
            raise RuntimeError("no placeholder key is loaded")
        return self.keyring

    def record(self, event: str, **fields) -> None:
        """One audit record; a failing sink is counted and alerted on, never raised into a hook."""
        if not self.audit:
            return
        try:
            self.audit.write(event, **fields)
        except Exception as exc:
            self.metrics.audit_failures.inc()
            log_failure("error writing an audit record", exc)
        self.metrics.audit_healthy.set(self.audit.healthy)

    def audit_admits(self, flow: http.HTTPFlow) -> bool:
        """Refuse (503) a request to an AI endpoint while its audit record could not be written
        (``llm_dlp_audit_on_failure=refuse``); True when it may go on."""
        if self.audit is None or self.audit.admit():
            return True
        self.metrics.audit_healthy.set(0)
        self.refuse(
            flow,
            503,
            "audit_unavailable",
            AUDIT_UNAVAILABLE,
        )
        return False

    # ---- answering a flow ourselves ---------------------------------------------------------
    def refuse(self, flow: http.HTTPFlow, status: int, reason: str, message: str) -> None:
        state = state_of(flow)
        if state:
            state.decision, state.reason = "refuse", reason
        self.metrics.refusals.labels(reason).inc()
        self.respond(flow, status, f"llm_dlp_{reason}", f"Request refused by llm-dlp: {message}")

    def fail_closed(self, flow: http.HTTPFlow, reason: str, message: str, status: int = 500) -> None:
        state = state_of(flow)
        self.metrics.inspection_errors.labels(state.endpoint.id if state else "unknown", reason).inc()
        if state:
            state.decision, state.reason = "error", reason
        self.respond(
            flow, status, "llm_dlp_inspection_error", f"Request blocked by llm-dlp: {message}. Nothing was sent to the AI service."
        )

    def respond(self, flow: http.HTTPFlow, status: int, code: str, message: str) -> None:
        """An answer in the API's own error shape (a page for browsers)."""
        if "text/html" in flow.request.headers.get("accept", ""):
            flow.response = http.Response.make(
                status, refusal_page(message), {"content-type": "text/html; charset=utf-8", "x-llm-dlp": code}
            )
            return
        state = state_of(flow)
        protocol = state.protocol if state else REGISTRY.get("generic")
        headers = {"content-type": "application/json", "x-llm-dlp": code, **protocol.error_headers(status, code)}
        flow.response = http.Response.make(status, protocol.error_body(status, code, message), headers)
