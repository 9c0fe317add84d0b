"""The bundled endpoint catalog against real request URLs, taken from the providers' API
references, SDK base URLs and published firewall allowlists: each must be decrypted (matched by
the allow_hosts regexes mitmproxy is given) and routed to the right endpoint and protocol."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from llm_dlp.policy.catalog import Catalog, Endpoint, normalise_host, normalise_path, split_authority
from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import load_ruleset

VERTEX = "projects/my-project/locations"
ARN_PROFILE = "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-sonnet-4-20250514-v1%3A0"

# url, endpoint id, protocol
REAL_REQUESTS = [
    ("https://api.openai.com/v1/chat/completions", "openai", "openai"),
    ("https://api.openai.com/v1/responses", "openai", "openai"),
    ("https://eu.api.openai.com/v1/responses", "openai", "openai"),
    ("https://us.api.openai.com/v1/chat/completions", "openai", "openai"),
    ("https://chatgpt.com/backend-api/codex/responses", "codex-chatgpt", "openai"),
    ("https://chatgpt.com/backend-api/conversation", "chatgpt-web", "generic"),
    ("https://my-res.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", "azure-openai", "openai"),
    ("https://my-res.openai.azure.com/openai/v1/responses", "azure-openai", "openai"),
    ("https://my-res.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview", "azure-openai", "openai"),
    ("https://my-res.services.ai.azure.com/anthropic/v1/messages", "azure-foundry-anthropic", "anthropic"),
    (
        "https://my-res.cognitiveservices.azure.com/openai/deployments/o4-mini/chat/completions?api-version=2025-01-01-preview",
        "azure-openai",
        "openai",
    ),
    ("https://api.anthropic.com/v1/messages?beta=true", "anthropic", "anthropic"),
    ("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "gemini", "gemini"),
    (
        f"https://us-central1-aiplatform.googleapis.com/v1/{VERTEX}/us-central1/publishers/google/models/gemini-2.5-pro:generateContent",
        "vertex-ai",
        "gemini",
    ),
    (
        f"https://europe-west4-aiplatform.googleapis.com/v1/{VERTEX}/europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        "vertex-ai",
        "gemini",
    ),
    (
        f"https://aiplatform.googleapis.com/v1/{VERTEX}/global/publishers/google/models/gemini-2.0-flash-001:generateContent",
        "vertex-ai",
        "gemini",
    ),
    (
        f"https://us-east5-aiplatform.googleapis.com/v1/{VERTEX}/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict",
        "vertex-ai-anthropic",
        "anthropic",
    ),
    (
        f"https://aiplatform.googleapis.com/v1/{VERTEX}/global/publishers/anthropic/models/claude-opus-4-1@20250805:rawPredict",
        "vertex-ai-anthropic",
        "anthropic",
    ),
    (
        f"https://us-central1-aiplatform.googleapis.com/v1beta1/{VERTEX}/us-central1/endpoints/openapi/chat/completions",
        "vertex-ai-openai",
        "openai",
    ),
    ("https://cloudcode-pa.googleapis.com/v1internal:streamGenerateContent?alt=sse", "gemini-code-assist", "gemini"),
    (
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke",
        "bedrock-invoke",
        "bedrock",
    ),
    (
        "https://bedrock-runtime.us-west-2.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream",
        "bedrock-invoke",
        "bedrock",
    ),
    ("https://bedrock-runtime.eu-central-1.amazonaws.com/model/amazon.nova-micro-v1%3A0/converse", "bedrock-converse", "bedrock"),
    (f"https://bedrock-runtime.us-east-1.amazonaws.com/model/{ARN_PROFILE}/converse-stream", "bedrock-converse", "bedrock"),
    ("https://bedrock-runtime.us-east-1.amazonaws.com/guardrail/gr-1/version/1/apply", "bedrock-runtime", "generic"),
    ("https://bedrock-runtime.us-west-2.amazonaws.com/openai/v1/chat/completions", "bedrock-openai", "openai"),
    ("https://codewhisperer.us-east-1.amazonaws.com/", "amazon-q", "amazon-q"),
    ("https://q.us-east-1.amazonaws.com/generateAssistantResponse", "amazon-q", "amazon-q"),
    ("https://q.eu-central-1.amazonaws.com/generateAssistantResponse", "amazon-q", "amazon-q"),
    ("https://api.githubcopilot.com/chat/completions", "copilot", "openai"),
    ("https://api.githubcopilot.com/v1/messages", "copilot-messages", "anthropic"),
    ("https://api.business.githubcopilot.com/responses", "copilot-business", "openai"),
    ("https://api.enterprise.githubcopilot.com/chat/completions", "copilot-enterprise", "openai"),
    ("https://proxy.enterprise.githubcopilot.com/v1/engines/gpt-41-copilot/completions", "copilot-enterprise", "openai"),
    ("https://copilot-proxy.githubusercontent.com/v1/engines/copilot-codex/completions", "copilot", "openai"),
    ("https://api.github.com/copilot_internal/v2/token", "copilot-token", "generic"),
    ("https://proxy.individual.githubcopilot.com/v1/engines/gpt-41-copilot/completions", "copilot-individual", "generic"),
    ("https://api.mistral.ai/v1/chat/completions", "mistral", "openai"),
    ("https://codestral.mistral.ai/v1/fim/completions", "mistral", "openai"),
    ("https://api.groq.com/openai/v1/chat/completions", "groq", "openai"),
    ("https://api.x.ai/v1/chat/completions", "xai", "openai"),
    ("https://api.x.ai/v1/messages", "xai-messages", "anthropic"),
    ("https://openrouter.ai/api/v1/chat/completions", "openrouter", "openai"),
    ("https://api.together.xyz/v1/chat/completions", "together", "openai"),
    ("https://api.fireworks.ai/inference/v1/chat/completions", "fireworks", "openai"),
    ("https://api.deepseek.com/chat/completions", "deepseek", "openai"),
    ("https://api.deepseek.com/anthropic/v1/messages", "deepseek-messages", "anthropic"),
    ("https://api.perplexity.ai/chat/completions", "perplexity", "openai"),
    ("https://api.jetbrains.ai/user/v5/llm/chat/stream/v8", "jetbrains-ai", "generic"),
    ("https://api.tabnine.com/chat/generate_chat_response", "tabnine", "generic"),
    ("http://ollama.internal.example:11434/api/chat", "ollama-example", "ollama"),
    ("http://ollama.internal.example:11434/api/generate", "ollama-example", "ollama"),
    ("http://ollama.internal.example:11434/v1/chat/completions", "ollama-example-openai", "openai"),
    ("http://llm.internal.example:8000/v1/chat/completions", "self-hosted-example", "openai"),
    ("http://llm.internal.example:8000/v1/messages", "self-hosted-example-messages", "anthropic"),
    ("https://bedrock-mantle.us-east-1.api.aws/v1/chat/completions", "bedrock-mantle", "openai"),
    ("https://claude.ai/api/organizations", "claude-web", "generic"),
    ("https://gemini.google.com/app", "gemini-web", "generic"),
    ("https://chat.mistral.ai/chat", "mistral-chat", "generic"),
    ("https://chat.deepseek.com/api/v0/chat/completion", "deepseek-chat", "generic"),
    ("https://www.perplexity.ai/rest/sse/perplexity_ask", "perplexity-web", "generic"),
    ("https://api2.cursor.sh/aiserver.v1.AiService/StreamChat", "cursor", "generic"),
    ("https://agentn.global.api5.cursor.sh/agent.v1.AgentService/Run", "cursor", "generic"),
    ("https://server.codeium.com/exa.api_server_pb.ApiServerService/GetChatMessage", "windsurf", "generic"),
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_ruleset(bundled_rules_dir()).catalog


def decrypted(catalog: Catalog, host: str, port: int) -> bool:
    """As mitmproxy's next_layer decides: any allow_hosts regex found in ``host:port``."""
    return any(re.search(rex, f"{host}:{port}", re.IGNORECASE) for rex in catalog.allow_hosts())


@pytest.mark.parametrize(("url", "endpoint_id", "protocol"), REAL_REQUESTS, ids=[u for u, _, _ in REAL_REQUESTS])
def test_real_request_is_decrypted_and_routed(catalog, url, endpoint_id, protocol):
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    assert decrypted(catalog, parts.hostname, port)
    endpoint = catalog.match(parts.hostname, port, path)
    assert (endpoint.id, endpoint.protocol) == (endpoint_id, protocol)
    assert endpoint.plain_http or parts.scheme == "https"


def test_every_bundled_endpoint_is_exercised_by_a_real_request(catalog):
    routed = {endpoint_id for _, endpoint_id, _ in REAL_REQUESTS}
    assert {e.id for e in catalog.endpoints} - routed == set()


@pytest.mark.parametrize(
    "host",
    [
        "example.org",
        "github.com",
        "googleapis.com",
        "storage.googleapis.com",
        "s3.us-east-1.amazonaws.com",
        "aiplatform.googleapis.com.evil.example",
        "evil-aiplatform.googleapis.com.example",
        "bedrock.us-east-1.amazonaws.com",
        "xaiplatform.googleapis.com.cn",
    ],
)
def test_other_hosts_are_not_decrypted(catalog, host):
    assert not decrypted(catalog, host, 443) and not catalog.catalogues(host)


@pytest.mark.parametrize("form", ["API.OpenAI.com", "api.openai.com.", "Api.OpenAI.Com.", " api.openai.com"])
def test_host_forms_match_after_normalisation(catalog, form):
    assert catalog.match(form, 443, "/v1/responses").id == "openai"
    assert decrypted(catalog, form.strip(), 443)  # mitmproxy matches the name as the client sent it


def test_names_are_decrypted_on_every_port_addresses_only_on_theirs():
    catalog = Catalog(
        (Endpoint("named", ("llm.corp.example",), (8443,), "openai"), Endpoint("addr", ("10.0.0.5", "[fd00::5]"), (8000,), "openai"))
    )
    assert decrypted(catalog, "llm.corp.example", 8443) and decrypted(catalog, "llm.corp.example", 80)
    assert catalog.match("llm.corp.example", 80) is None and catalog.catalogues("llm.corp.example")
    assert decrypted(catalog, "10.0.0.5", 8000) and not decrypted(catalog, "10.0.0.5", 8001)
    assert decrypted(catalog, "fd00::5", 8000) and catalog.match("[FD00::5]", 8000).id == "addr"


@pytest.mark.parametrize(
    ("authority", "expected"),
    [
        ("api.openai.com", ("api.openai.com", 443)),
        ("API.OPENAI.COM:443", ("api.openai.com", 443)),
        ("api.openai.com.:443", ("api.openai.com", 443)),
        ("llm.internal.example:8000", ("llm.internal.example", 8000)),
        ("[::1]:8443", ("::1", 8443)),
        ("[::1]", ("::1", 443)),
        ("::1", ("::1", 443)),
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("api.openai.com:http", None),
        ("api.openai.com:70000", None),
        ("[::1", None),
        (":443", None),
    ],
)
def test_split_authority(authority, expected):
    assert split_authority(authority, 443) == expected


def test_normalise_host():
    assert normalise_host("[2001:DB8::1]") == "2001:db8::1"
    assert normalise_host("Api.Anthropic.COM.") == "api.anthropic.com"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/backend-api/codex/responses", "/backend-api/codex/responses"),
        ("/backend-api/codex/../conversation", "/backend-api/conversation"),
        ("/backend-api/codex/%2E%2E/conversation?x=1", "/backend-api/conversation"),
        ("//backend-api//codex/./responses", "/backend-api/codex/responses"),
        ("/copilot_internal/", "/copilot_internal/"),
        ("/../../etc", "/etc"),
        ("", "/"),
    ],
)
def test_normalise_path(path, expected):
    assert normalise_path(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/backend-api/codex/../conversation",
        "/backend-api/codex/%2e%2e/conversation",
        "/backend-api/codex%2F..%2Fconversation",
        "/backend-api/codexfoo",
        "/backend-api/codex/./../../backend-api/conversation",
    ],
)
def test_codex_path_prefix_cannot_be_borrowed_by_chatgpt_web(catalog, path):
    assert catalog.match("chatgpt.com", 443, path).id == "chatgpt-web"


def test_shared_host_is_ai_traffic_only_on_its_paths(catalog):
    assert catalog.match("api.github.com", 443, "/repos/o/r/issues") is None
    assert catalog.match("api.github.com", 443, "/user/../copilot_internal/v2/token").id == "copilot-token"
    assert catalog.match("api.github.com", 443, "/copilot_internal/../user") is None
    assert catalog.match("api.github.com", 443).id == "copilot-token"  # the connection goes to a catalogued host


def test_path_prefix_ends_at_a_segment_boundary():
    e = Endpoint("x", ("h.example",), (443,), "openai", path_prefixes=("/model/*/converse",))
    assert e.matches_path("/model/m/converse") and e.matches_path("/model/m/converse/more")
    assert not e.matches_path("/model/m/converse-stream") and not e.matches_path("/model/a/b/converse")


def test_unmatched_path_uses_the_host_default_entry_not_the_first():
    catalog = Catalog(
        (
            Endpoint("narrow", ("h.example",), (443,), "openai", path_prefixes=("/v1/",)),
            Endpoint("default", ("h.example",), (443,), "generic", klass="unapproved"),
        )
    )
    assert catalog.match("h.example", 443, "/v1/chat").id == "narrow"
    assert catalog.match("h.example", 443, "/other").id == "default"
    assert catalog.match("h.example", 443).id == "default"


def test_uninspectable_services_are_catalogued_as_such(catalog):
    for host in ("api2.cursor.sh", "api3.cursor.sh", "us-only.gcpp.cursor.sh", "server.codeium.com", "inference.codeium.com"):
        assert catalog.match(host, 443).klass == "uninspectable"


def test_self_hosted_examples_serve_plain_http(catalog):
    plain = {e.id for e in catalog.endpoints if e.plain_http}
    assert {"self-hosted-example", "ollama-example", "ollama-example-openai"} <= plain
    assert not catalog.match("api.openai.com", 443).plain_http
