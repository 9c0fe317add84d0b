"""The endpoint catalog: which hosts are LLM endpoints, which protocol they speak, and whether
they are approved. Only catalogued hosts are decrypted; everything else is tunnelled untouched."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from llm_dlp.rules.files import Located, RuleError


@dataclass(frozen=True)
class Endpoint:
    id: str
    hosts: tuple[str, ...]
    ports: tuple[int, ...]
    protocol: str
    klass: str = "approved"
    path_prefixes: tuple[str, ...] = ()
    plain_http: bool = False
    description: str = ""
    websocket: str = "inspect"  # WebSocket upgrades: "inspect" every message, or "refuse" the upgrade

    @cached_property
    def host_regex(self) -> str:
        return "|".join(_host_regex(h) for h in self.hosts)

    @cached_property
    def _host_matcher(self) -> re.Pattern[str]:
        return re.compile(self.host_regex)

    def matches(self, host: str, port: int) -> bool:
        return port in self.ports and self._host_matcher.fullmatch(host.lower().rstrip(".")) is not None

    def matches_path(self, path: str) -> bool:
        return not self.path_prefixes or any(path.startswith(p) for p in self.path_prefixes)


def _host_regex(pattern: str) -> str:
    pattern = pattern.lower()
    if pattern.startswith("*."):
        return r"(?:[a-z0-9-]+\.)+" + re.escape(pattern[2:])
    return re.escape(pattern.strip("[]"))


@dataclass(frozen=True)
class Catalog:
    endpoints: tuple[Endpoint, ...] = ()

    def match(self, host: str, port: int, path: str = "/") -> Endpoint | None:
        """The endpoint for a request; on a catalogued host, one whose path prefixes fit, else the first."""
        on_host = [e for e in self.endpoints if e.matches(host, port)]
        for endpoint in on_host:
            if endpoint.matches_path(path):
                return endpoint
        return on_host[0] if on_host else None

    def allow_hosts(self) -> list[str]:
        """Anchored ``host:port`` regexes for mitmproxy's allow_hosts: what is decrypted."""
        return [
            rf"^(?:{e.host_regex}):(?:{'|'.join(map(str, e.ports))})$" for e in self.endpoints if not e.plain_http
        ]


def compile_endpoints(entries: list[Located], errors: list[RuleError]) -> Catalog:
    endpoints: list[Endpoint] = []
    seen: set[str] = set()
    for entry in entries:
        d = entry.data
        if d["id"] in seen:
            errors.append(entry.error("id", "duplicate endpoint id"))
            continue
        seen.add(d["id"])
        endpoints.append(
            Endpoint(
                id=d["id"],
                hosts=tuple(d["hosts"]),
                ports=tuple(d.get("ports", [80] if d.get("plain_http") else [443])),
                protocol=d["protocol"],
                klass=d.get("class", "approved"),
                path_prefixes=tuple(d.get("path_prefixes", ())),
                plain_http=d.get("plain_http", False),
                description=d.get("description", ""),
                websocket=d.get("websocket", "inspect"),
            )
        )
    return Catalog(tuple(endpoints))
