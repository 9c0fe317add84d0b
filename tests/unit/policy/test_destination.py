"""The destination decides, not the Host header: routing of requests by where the proxy sends
them, 421 for a Host that names another site, and plain HTTP to catalogued hosts."""

from __future__ import annotations

import pytest

from llm_dlp.policy.catalog import Catalog, Endpoint
from llm_dlp.policy.destination import Request, connect_refusal, content_type_refusal, route
from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import load_ruleset


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_ruleset(bundled_rules_dir()).catalog


def tls(host, host_header, path="/v1/responses", port=443, sni=None):
    return Request(host=host, port=port, scheme="https", path=path, host_header=host_header, sni=sni)


def plain(host, host_header, path="/v1/chat/completions", port=80):
    return Request(host=host, port=port, scheme="http", path=path, host_header=host_header)


@pytest.mark.parametrize(
    "host_header", ["api.openai.com", "API.OpenAI.com", "api.openai.com.", "api.openai.com:443", "api.openai.com:8443"]
)
def test_host_naming_the_destination_is_routed_by_the_destination(catalog, host_header):
    r = route(catalog, tls("api.openai.com", host_header))
    assert r.endpoint.id == "openai" and r.refusal is None


@pytest.mark.parametrize("host_header", ["evil.example", "203.0.113.7", "[2001:db8::1]:443", "api.anthropic.com", "", "bad host:x"])
def test_host_naming_another_site_in_a_catalogued_tunnel_is_misdirected(catalog, host_header):
    r = route(catalog, tls("api.openai.com", host_header))
    assert r.endpoint.id == "openai" and (r.refusal.status, r.refusal.reason) == (421, "misdirected_request")
    assert "api.openai.com" in r.refusal.message  # the header itself is not echoed back
    assert not host_header or host_header not in r.refusal.message.replace("api.openai.com", "")


def test_trailing_dot_connect_target_is_the_catalogued_host(catalog):
    assert route(catalog, tls("api.openai.com.", "api.openai.com", sni="api.openai.com.")).endpoint.id == "openai"


def test_transparent_tls_is_named_by_its_sni(catalog):
    assert route(catalog, tls("162.159.140.245", "api.openai.com", sni="api.openai.com")).endpoint.id == "openai"
    r = route(catalog, tls("162.159.140.245", "evil.example", sni="api.openai.com"))
    assert r.refusal.status == 421


def test_a_catalogued_sni_on_an_uncatalogued_connect_is_inspected_either_way(catalog):
    # the proxy decrypted it because of the SNI; inspecting costs nothing, trusting the Host would
    assert route(catalog, tls("evil.example", "evil.example", sni="api.openai.com")).endpoint.id == "openai"
    assert route(catalog, tls("evil.example", "api.openai.com", sni="api.openai.com")).endpoint.id == "openai"


def test_uncatalogued_destination_is_not_ai_traffic_whatever_the_host_says(catalog):
    r = route(catalog, plain("evil.example", "api.openai.com"))
    assert r.endpoint is None and r.refusal is None


def test_plain_http_to_a_catalogued_https_endpoint_is_refused(catalog):
    r = route(catalog, plain("api.openai.com", "api.openai.com"))
    assert (r.refusal.status, r.refusal.reason) == (403, "plain_http_refused") and "https://api.openai.com/" in r.refusal.message
    assert r.endpoint.id == "openai"  # the refusal is audited under it, in its error format


def test_plain_http_to_a_plain_http_endpoint_is_inspected(catalog):
    assert route(catalog, plain("llm.internal.example", "llm.internal.example:8000", port=8000)).endpoint.id == "self-hosted-example"
    assert (
        route(catalog, plain("ollama.internal.example", "ollama.internal.example:11434", "/api/chat", 11434)).endpoint.protocol == "ollama"
    )


def test_tls_to_an_address_is_not_named_by_its_host_header(catalog):
    catalog = Catalog((*catalog.endpoints, Endpoint("by-address", ("10.9.9.9",), (443,), "openai")))
    assert route(catalog, tls("10.9.9.9", "api.openai.com")).refusal.status == 421


def test_transparent_plain_http_is_named_by_its_host_header(catalog):
    assert route(catalog, plain("10.1.2.3", "llm.internal.example:8000", port=8000)).endpoint.id == "self-hosted-example"
    assert route(catalog, plain("10.1.2.3", "api.openai.com")).refusal.reason == "plain_http_refused"


def test_absolute_form_with_a_disagreeing_host_is_misdirected(catalog):
    assert route(catalog, plain("api.openai.com", "evil.example")).refusal.status == 421


def test_unlisted_port_of_a_catalogued_host_is_refused(catalog):
    r = route(catalog, tls("api.openai.com", "api.openai.com:8443", port=8443))
    assert (r.refusal.status, r.refusal.reason) == (403, "port_not_catalogued")


def test_request_without_host_header_is_routed_by_the_destination(catalog):
    assert route(catalog, Request("api.anthropic.com", 443, "https", "/v1/messages")).endpoint.id == "anthropic"


def test_class_refusals(catalog):
    web = route(catalog, tls("chatgpt.com", "chatgpt.com", "/backend-api/conversation"))
    assert web.endpoint.id == "chatgpt-web" and web.refusal.reason == "endpoint_unapproved"
    codex = route(catalog, tls("chatgpt.com", "chatgpt.com", "/backend-api/codex/responses"))
    assert codex.endpoint.id == "codex-chatgpt" and codex.refusal is None
    cursor = route(catalog, tls("api2.cursor.sh", "api2.cursor.sh", "/aiserver.v1.ChatService/StreamUnifiedChatWithTools"))
    assert cursor.refusal.reason == "endpoint_uninspectable" and "cannot inspect" in cursor.refusal.message


def test_shared_host_paths(catalog):
    other = route(catalog, tls("api.github.com", "api.github.com", "/repos/o/r"))
    assert other.endpoint is None and other.refusal is None
    assert route(catalog, tls("api.github.com", "api.github.com", "/copilot_internal/v2/token")).endpoint.id == "copilot-token"
    assert route(catalog, tls("api.github.com", "evil.example", "/repos/o/r")).refusal.status == 421


def test_connect_to_an_uninspectable_service_is_refused_before_the_tunnel(catalog):
    assert connect_refusal(catalog, "api2.cursor.sh", 443).reason == "endpoint_uninspectable"
    assert connect_refusal(catalog, "SERVER.codeium.com.", 443).reason == "endpoint_uninspectable"
    assert connect_refusal(catalog, "api.openai.com", 443) is None and connect_refusal(catalog, "example.org", 443) is None


@pytest.mark.parametrize(
    "ctype",
    [
        "application/grpc",
        "application/grpc+proto",
        "Application/GRPC-web",
        "application/grpc-web-text",
        "application/connect+proto",
        "application/connect+json",
        "application/proto",
        "application/x-protobuf; messageType=x",
    ],
)
def test_binary_rpc_bodies_are_refused(ctype):
    refusal = content_type_refusal(ctype)
    assert (refusal.status, refusal.reason) == (415, "uninspectable_protocol") and "REST" in refusal.message


@pytest.mark.parametrize(
    "ctype",
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "",
        "application/x-amz-json-1.0",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
    ],
)
def test_json_and_text_bodies_are_not_refused_for_their_type(ctype):
    assert content_type_refusal(ctype) is None
