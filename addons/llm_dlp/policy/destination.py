"""Which catalogued endpoint a request is really bound for: the destination decides, not a header.

mitmproxy sends a request to the connection's destination (the CONNECT target, the
transparent-mode address with its TLS SNI, or an absolute-form URL's host); the Host header or
HTTP/2 ``:authority`` only tells the server which site the client wants. So a request is
classified by the destination, and one whose Host names another site than the destination it is
bound for is refused with 421 Misdirected Request (RFC 9110 15.5.20: the client may retry on a
connection to the right host) — inspecting it under the Host's name, or not at all, would let the
header pick the rules. Plain HTTP to a catalogued host is inspected only when the catalog says the
endpoint serves plain HTTP, and refused otherwise."""

from __future__ import annotations

from dataclasses import dataclass

from llm_dlp.policy.catalog import APPROVED, UNINSPECTABLE, Catalog, Endpoint, is_ip, normalise_host, split_authority
from llm_dlp.policy.pilot import Refusal


@dataclass(frozen=True)
class Request:
    """What the proxy knows about where one request goes."""

    host: str  # where the proxy connects: the CONNECT target, the transparent address, the absolute URL's host
    port: int
    scheme: str  # "http" or "https"
    path: str
    host_header: str | None = None  # Host, or HTTP/2 :authority
    sni: str | None = None  # the TLS server name the client sent


@dataclass(frozen=True)
class Route:
    """No endpoint and no refusal: not AI traffic (forwarded as it is). With a refusal, the
    endpoint is the one the request was bound for."""

    endpoint: Endpoint | None = None
    refusal: Refusal | None = None
    host: str | None = None  # the catalogued name the request was classified under


def route(catalog: Catalog, req: Request) -> Route:
    names = _destination_names(req)
    catalogued = [n for n in names if catalog.catalogues(n)]
    if not catalogued:
        return Route()
    name = catalogued[0]
    endpoint = catalog.match(name, req.port, req.path)
    bound_for = endpoint or catalog.match(name, req.port) or catalog.first_on(name)  # for the audit and the error's format
    if refusal := _misdirected(req, names, name):
        return Route(bound_for, refusal, name)
    if req.scheme == "http" and not (endpoint and endpoint.plain_http):
        return Route(bound_for, _plain_http_refusal(name), name)
    if endpoint is None and catalog.match(name, req.port) is None:
        return Route(bound_for, _unlisted_port_refusal(name, req.port), name)
    return Route(endpoint, class_refusal(endpoint) if endpoint else None, name)


def class_refusal(endpoint: Endpoint) -> Refusal | None:
    """Every request to an endpoint that is not approved is refused, with the reason why."""
    if endpoint.klass == APPROVED:
        return None
    if endpoint.klass == UNINSPECTABLE:
        return Refusal(
            403,
            "endpoint_uninspectable",
            f"{endpoint.id} speaks a protocol that llm-dlp cannot inspect ({endpoint.description.rstrip('.')}), "
            "so nothing is sent to it through this proxy. Use an approved AI service instead.",
        )
    return Refusal(
        403, "endpoint_unapproved", f"{endpoint.id} is not an approved AI service for this organisation. Use an approved endpoint instead."
    )


def connect_refusal(catalog: Catalog, host: str, port: int) -> Refusal | None:
    """A CONNECT to an uninspectable service is refused before the tunnel opens: its clients
    often pin certificates or speak HTTP/2 only, so an answer inside the tunnel might never be
    read, while a refused CONNECT is shown to the developer."""
    endpoint = catalog.match(host, port)
    return class_refusal(endpoint) if endpoint and endpoint.klass == UNINSPECTABLE else None


# binary or enveloped RPC framings llm-dlp cannot parse as the provider does (gRPC and gRPC-web,
# Connect streaming with its 5-byte envelopes, protobuf); their streams may also be bidirectional,
# which an inspector that needs the whole body cannot carry
UNINSPECTABLE_PREFIXES = ("application/grpc", "application/connect+")
UNINSPECTABLE_TYPES = ("application/proto", "application/protobuf", "application/x-protobuf", "application/vnd.google.protobuf")


def content_type_refusal(content_type: str) -> Refusal | None:
    """A request body in a binary RPC framing is refused with what to use instead, rather than
    inspected as raw bytes (redaction would corrupt the framing) or held until a stream ends."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in UNINSPECTABLE_TYPES and not media.startswith(UNINSPECTABLE_PREFIXES):
        return None
    return Refusal(
        415,
        "uninspectable_protocol",
        f"request bodies of type {media} (gRPC, Connect or protobuf) cannot be inspected, so they are not forwarded. "
        "Use the service's REST/JSON API instead (for Google's Vertex AI SDK: api_transport='rest').",
    )


def _destination_names(req: Request) -> list[str]:
    """The names the connection was opened to: the destination, and the TLS SNI. Plain HTTP to
    an address (transparent mode) has no other name than its Host header, so that counts too:
    it can only add a catalogued name, never take one away, so it never skips inspection."""
    names = [normalise_host(req.host)]
    if req.sni:
        names.append(normalise_host(req.sni))
    if req.scheme == "http" and is_ip(req.host) and req.host_header and (authority := split_authority(req.host_header, req.port)):
        names.append(authority[0])
    return names


def _misdirected(req: Request, names: list[str], name: str) -> Refusal | None:
    if req.host_header is None:
        return None  # HTTP/1.0 without Host: the destination is all there is
    # the name decides which rules apply; a port the Host leaves out or gets wrong changes nothing
    authority = split_authority(req.host_header, req.port)
    if authority is not None and authority[0] in names:
        return None
    return Refusal(
        421,
        "misdirected_request",
        f"this connection goes to {name}, but the request's Host header names another site. "
        "Send each request on a connection to the host it names.",
    )


def _plain_http_refusal(name: str) -> Refusal:
    return Refusal(
        403,
        "plain_http_refused",
        f"{name} is an AI service that this proxy inspects over HTTPS only; plain HTTP to it is not forwarded. "
        f"Use https://{name}/ (or ask for the endpoint to be catalogued with plain_http: true).",
    )


def _unlisted_port_refusal(name: str, port: int) -> Refusal:
    return Refusal(
        403, "port_not_catalogued", f"{name} is an AI service, but port {port} is not one of its catalogued ports; nothing was forwarded."
    )
