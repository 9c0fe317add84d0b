"""Prometheus metrics of the proxy process. Labels are low-cardinality: endpoint, tool, rule,
action, decision and reason come from the rule files, never from request content."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from llm_dlp import __version__
from llm_dlp.record.checkpoints import head_number

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "llm_dlp_requests", "Requests to catalogued LLM endpoints, by outcome.", ["endpoint", "tool", "decision"], registry=r
        )
        self.findings = Counter("llm_dlp_findings", "Secrets found in requests, by rule and action.", ["rule", "action"], registry=r)
        self.inspection_seconds = Histogram(
            "llm_dlp_inspection_seconds", "Time spent inspecting one request body.", ["endpoint"], buckets=_LATENCY_BUCKETS, registry=r
        )
        self.inspected_bytes = Counter("llm_dlp_inspected_bytes", "Request body bytes inspected (decoded).", ["endpoint"], registry=r)
        self.inspection_errors = Counter(
            "llm_dlp_inspection_errors", "Requests blocked because inspection failed.", ["endpoint", "reason"], registry=r
        )
        self.upstream_errors = Counter(
            "llm_dlp_upstream_errors",
            "Requests whose upstream failed (refused, unreachable, reset; also mid-stream).",
            ["endpoint"],
            registry=r,
        )
        self.client_disconnects = Counter(
            "llm_dlp_client_disconnects", "Requests the client broke off before the answer was complete.", ["endpoint"], registry=r
        )
        self.response_findings = Counter(
            "llm_dlp_response_findings", "Secrets found in model output, by rule and action.", ["rule", "action"], registry=r
        )
        self.stream_anomalies = Counter(
            "llm_dlp_stream_anomalies",
            "Response streams that were malformed, cut off or could not be rewritten.",
            ["endpoint", "kind"],
            registry=r,
        )
        self.package_warnings = Counter(
            "llm_dlp_package_warnings", "Packages suggested by the model that are not approved.", ["ecosystem", "status"], registry=r
        )
        self.refusals = Counter("llm_dlp_refusals", "Requests refused by policy, by reason.", ["reason"], registry=r)
        self.restorations = Counter(
            "llm_dlp_placeholder_restorations", "Placeholders restored to their original value in responses.", ["endpoint"], registry=r
        )
        self.added_latency = Histogram(
            "llm_dlp_added_latency_seconds",
            "Time a request spent in llm-dlp between its body arriving and it going upstream (or being answered).",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.response_bytes = Counter(
            "llm_dlp_response_bytes", "Response body bytes passed back to clients from catalogued endpoints.", ["endpoint"], registry=r
        )
        self.websocket_messages = Counter(
            "llm_dlp_websocket_messages",
            "WebSocket messages on connections to catalogued endpoints, by direction and outcome.",
            ["endpoint", "direction", "decision"],
            registry=r,
        )
        self.active_websockets = Gauge(
            "llm_dlp_active_websockets", "WebSocket connections to catalogued endpoints that are open.", registry=r
        )
        self.active_streams = Gauge("llm_dlp_active_streams", "Streamed responses in flight.", registry=r)
        self.audit_failures = Counter("llm_dlp_audit_write_failures", "Audit records that could not be written.", registry=r)
        self.audit_healthy = Gauge(
            "llm_dlp_audit_healthy", "1 while audit records can be written, 0 while the audit sink fails.", registry=r
        )
        self.audit_checkpoint_seq = Gauge(
            "llm_dlp_audit_checkpoint_seq", "Sequence number of the last signed audit checkpoint.", registry=r
        )
        self.audit_checkpoint_head = Gauge(
            "llm_dlp_audit_checkpoint_head", "The last checkpoint's chain head (its first 52 bits as a number).", registry=r
        )
        self.audit_checkpoint_trail = Gauge(
            "llm_dlp_audit_checkpoint_trail", "The last checkpoint's trail id (its first 52 bits as a number).", registry=r
        )
        self.audit_checkpoint_failures = Counter(
            "llm_dlp_audit_checkpoint_failures", "Checkpoints a witness sink could not take.", registry=r
        )
        self.reloads = Counter("llm_dlp_rule_reloads", "Rule reload attempts, by result.", ["result"], registry=r)
        self.rules_loaded = Gauge("llm_dlp_rules_loaded", "Secret rules in the live rule set.", registry=r)
        self.user_requests = Counter(
            "llm_dlp_user_requests", "Requests per user (only with llm_dlp_metrics_user_labels; high cardinality).", ["user"], registry=r
        )
        self.audit_healthy.set(1)
        self.build = Info("llm_dlp_build", "Version of the running proxy.", registry=r)
        self.build.info({"version": __version__})

    def witnessed(self, checkpoint: dict) -> None:
        """A checkpoint sink: Prometheus scrapes the head, an independent copy of it."""
        self.audit_checkpoint_seq.set(checkpoint["seq"])
        self.audit_checkpoint_head.set(head_number(checkpoint["head"]))
        self.audit_checkpoint_trail.set(head_number(checkpoint["trail"]))
