"""The audit record of one request to an AI endpoint, built from plain data (no mitmproxy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llm_dlp.identity.resolve import resolve
from llm_dlp.identity.sources import Identity
from llm_dlp.inspect.output import OutputInspector
from llm_dlp.inspect.request import Inspection
from llm_dlp.rules.ruleset import RuleSet


@dataclass(frozen=True)
class Exchange:
    """What the proxy saw of one request and its answer (mitmproxy's flow, reduced)."""

    request_id: str
    client: str | None
    host: str
    method: str
    path: str
    request_bytes: int
    status: int | None
    upstream_error: str | None  # the upstream failed (also after the response headers)
    duration_ms: float
    stream_incomplete: bool = False  # a streamed answer ended before its protocol's terminal event
    client_disconnected: bool = False


def request_record(
    exchange: Exchange,
    endpoint: str,
    protocol: str,
    tool: str,
    identity: Identity | None,
    decision: str,
    reason: str | None,
    inspection: Inspection | None,
    output: OutputInspector | None,
    restored: int,
) -> dict[str, Any]:
    ins, out = inspection, output
    return {
        "request_id": exchange.request_id,
        "client": exchange.client,
        **_identity(identity),
        "tool": tool,
        "endpoint": endpoint,
        "protocol": protocol,
        "host": exchange.host,
        "method": exchange.method,
        "path": exchange.path,
        "model": ins.model if ins else None,
        "served_model": out.served_model if out else None,
        "decision": decision,
        "reason": reason,
        "findings": [f.to_dict() for f in ins.findings] if ins else [],
        "response_findings": [f.to_dict() for f in out.findings] if out else [],
        "packages": [p.to_dict() for p in out.package_findings] if out else [],
        "generated": [g.to_dict() for g in out.lineage.generations] if out and out.lineage else [],
        "request_bytes": ins.bytes_inspected if ins else exchange.request_bytes,
        "inspection_ms": round(ins.seconds * 1000, 3) if ins else None,
        "status": exchange.status,
        "upstream_error": exchange.upstream_error,
        "stream_incomplete": exchange.stream_incomplete,
        "client_disconnected": exchange.client_disconnected,
        "restored_placeholders": restored,
        "duration_ms": exchange.duration_ms,
    }


def _identity(identity: Identity | None) -> dict[str, Any]:
    return {
        "user": identity.user if identity else None,
        "groups": list(identity.groups) if identity else [],
        "identity_source": identity.source if identity else None,
    }


def identity_fields(ruleset: RuleSet, client: str | None) -> dict[str, Any]:
    """Who a connection-level record is about, as far as the address tells (no request yet: no
    credentials or certificate checked)."""
    return _identity(resolve(ruleset.policy, [], None, client))
