"""The endpoint catalog: which hosts are LLM endpoints, which protocol they speak, and whether
they are approved. Only catalogued hosts are decrypted; everything else is tunnelled untouched.

Host names are normalised (case, trailing dot, IPv6 brackets) before they are matched, and a
request path is matched after its dot-segments are resolved, as the server resolves them."""

from __future__ import annotations

import ipaddress
import posixpath
import re
from dataclasses import dataclass
from functools import cached_property

from llm_dlp.rules.files import Located, RuleError

# class -> what happens to a request on the endpoint
APPROVED, UNAPPROVED, UNINSPECTABLE = "approved", "unapproved", "uninspectable"
_LABEL = r"[a-z0-9-]+"


def normalise_host(host: str) -> str:
    """The form hosts are compared in: lower case, no trailing dot, IPv6 without brackets."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.rstrip(".")


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(normalise_host(host))
    except ValueError:
        return False
    return True


def split_authority(authority: str, default_port: int) -> tuple[str, int] | None:
    """``host[:port]`` (a Host header, an HTTP/2 :authority, a CONNECT target) as a normalised
    host and a port; None when it is not a well-formed authority."""
    authority = authority.strip()
    if authority.startswith("["):
        end = authority.find("]")
        host, rest = authority[1:end], authority[end + 1 :]
        if end < 0 or (rest and not rest.startswith(":")):
            return None
        port = rest[1:]
    elif authority.count(":") > 1:  # a bare IPv6 address
        host, port = authority, ""
    else:
        host, _, port = authority.partition(":")
    if not host or (port and not port.isdigit()) or (port and not 0 < int(port) < 65536):
        return None
    return normalise_host(host), int(port) if port else default_port


def normalise_path(path: str) -> str:
    """The path part of a request target with ``.``/``..`` segments (also percent-encoded ones)
    resolved and repeated slashes collapsed, so that ``/backend-api/codex/../conversation`` is
    matched as the ``/backend-api/conversation`` the server will serve. An encoded slash
    (``%2F``) stays inside its segment."""
    path = path.split("?", 1)[0].split("#", 1)[0] or "/"
    path = re.sub(r"%2e", ".", path, flags=re.IGNORECASE)
    resolved = posixpath.normpath("/" + path.lstrip("/"))
    resolved = "/" + resolved.lstrip("/")  # normpath keeps a leading '//'
    return resolved + "/" if path.endswith("/") and resolved != "/" else resolved


def _host_regex(pattern: str) -> str:
    """'*.' at the start matches one or more leading labels; any other '*' matches within one
    label (``*-aiplatform.googleapis.com``, ``bedrock-runtime.*.amazonaws.com``)."""
    pattern = normalise_host(pattern)
    prefix = ""
    if pattern.startswith("*."):
        prefix, pattern = rf"(?:{_LABEL}\.)+", pattern[2:]
    return prefix + r"[a-z0-9-]+".join(re.escape(part) for part in pattern.split("*"))


def _path_regex(prefix: str) -> str:
    """A path prefix whose '*' matches within one segment; it must end at a segment boundary
    (so ``/model/*/converse`` does not take ``/model/m/converse-stream``)."""
    body = r"[^/?]*".join(re.escape(part) for part in prefix.split("*"))
    return body if prefix.endswith("/") else body + r"(?=$|/)"


@dataclass(frozen=True)
class Endpoint:
    id: str
    hosts: tuple[str, ...]
    ports: tuple[int, ...]
    protocol: str
    klass: str = APPROVED
    path_prefixes: tuple[str, ...] = ()
    plain_http: bool = False
    shared_host: bool = False
    description: str = ""
    websocket: str = "inspect"  # WebSocket upgrades: "inspect" every message, or "refuse" the upgrade

    @cached_property
    def host_regex(self) -> str:
        return "|".join(_host_regex(h) for h in self.hosts)

    @cached_property
    def _host_matcher(self) -> re.Pattern[str]:
        return re.compile(self.host_regex)

    @cached_property
    def _path_matcher(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{_path_regex(p)})" for p in self.path_prefixes))

    def on_host(self, host: str) -> bool:
        return self.on_normalised(normalise_host(host))

    def on_normalised(self, host: str) -> bool:
        return self._host_matcher.fullmatch(host) is not None

    def matches(self, host: str, port: int) -> bool:
        return port in self.ports and self.on_host(host)

    def matches_path(self, path: str) -> bool:
        """``path`` as normalise_path gives it."""
        return not self.path_prefixes or self._path_matcher.match(path) is not None


@dataclass(frozen=True)
class Catalog:
    endpoints: tuple[Endpoint, ...] = ()

    def match(self, host: str, port: int, path: str | None = None) -> Endpoint | None:
        """The endpoint for a request to ``host:port``. Without a path: the host's default entry
        (for decisions about a whole connection). With one: the first entry whose path prefixes
        fit; else the host's default entry (one without path prefixes, or the first) — so every
        request on a catalogued host is inspected — unless the host is a shared one (also
        serving traffic that is not AI, like api.github.com): then None."""
        on_host = [e for e in self._on(host) if port in e.ports]
        if not on_host:
            return None
        if path is not None:
            normalised = normalise_path(path)
            for endpoint in on_host:
                if endpoint.path_prefixes and endpoint.matches_path(normalised):
                    return endpoint
            if all(e.shared_host for e in on_host):
                return None
        return next((e for e in on_host if not e.path_prefixes), on_host[0])

    def catalogues(self, host: str) -> bool:
        """Whether ``host`` is a catalogued AI host, on any port."""
        return self.first_on(host) is not None

    def first_on(self, host: str) -> Endpoint | None:
        """The first entry for ``host``, on any port."""
        return next(iter(self._on(host)), None)

    @cached_property
    def _by_host(self) -> dict[str, tuple[Endpoint, ...]]:
        return {}

    def _on(self, host: str) -> tuple[Endpoint, ...]:
        """The entries for ``host`` on any port, remembered per host name (a catalog is immutable;
        the memory is bounded, since the names come from clients)."""
        host = normalise_host(host)
        found = self._by_host.get(host)
        if found is None:
            if len(self._by_host) >= 4096:
                self._by_host.clear()
            found = self._by_host[host] = tuple(e for e in self.endpoints if e.on_normalised(host))
        return found

    def allow_hosts(self) -> list[str]:
        """Anchored ``host:port`` regexes for mitmproxy's allow_hosts: what is decrypted (TLS) or
        parsed as HTTP (plain connections in transparent mode). A catalogued name is taken on
        any port, with or without a trailing dot, so that plain HTTP or an unlisted port to it
        can be refused rather than tunnelled; an IP address only on its listed ports."""
        regexes = []
        for e in self.endpoints:
            names = [_host_regex(h) for h in e.hosts if not is_ip(h)]
            addresses = [_host_regex(h) for h in e.hosts if is_ip(h)]
            if names:
                regexes.append(rf"^(?:{'|'.join(names)})\.?:\d+$")
            if addresses:
                ports = "|".join(map(str, e.ports))
                regexes.append(rf"^\[?(?:{'|'.join(addresses)})\]?:(?:{ports})$")
        return regexes


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
                klass=d.get("class", APPROVED),
                path_prefixes=tuple(d.get("path_prefixes", ())),
                plain_http=d.get("plain_http", False),
                shared_host=d.get("shared_host", False),
                description=d.get("description", ""),
                websocket=d.get("websocket", "inspect"),
            )
        )
    return Catalog(tuple(endpoints))
