"""Developer-machine set-up: the PAC file, evaluated by Node, and the CA export formats."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

LLM_DLP = str(Path(sys.executable).parent / "llm-dlp")

# the two functions of the PAC runtime the script uses, as browsers define them
PAC_RUNTIME = "function dnsDomainIs(h, d) { return h.length >= d.length && h.substring(h.length - d.length) === d; }\n"


@pytest.mark.parametrize(
    "url, host, expected",
    [
        ("https://api.openai.com/v1/chat/completions", "api.openai.com", "PROXY dlp.corp:8080"),
        ("https://API.ANTHROPIC.COM/v1/messages", "API.ANTHROPIC.COM", "PROXY dlp.corp:8080"),
        ("https://myres.openai.azure.com/openai/deployments/x", "myres.openai.azure.com", "PROXY dlp.corp:8080"),
        ("https://proxy.business.githubcopilot.com/v1/engines", "proxy.business.githubcopilot.com", "PROXY dlp.corp:8080"),
        ("https://api.individual.githubcopilot.com/chat", "api.individual.githubcopilot.com", "PROXY dlp.corp:8080"),  # to be refused
        ("https://chatgpt.com/", "chatgpt.com", "PROXY dlp.corp:8080"),  # to be refused
        ("https://us-central1-aiplatform.googleapis.com/v1/projects/p", "us-central1-aiplatform.googleapis.com", "PROXY dlp.corp:8080"),
        (
            "https://bedrock-runtime.eu-west-1.amazonaws.com/model/m/converse",
            "bedrock-runtime.eu-west-1.amazonaws.com",
            "PROXY dlp.corp:8080",
        ),
        ("https://api.openai.com./v1/responses", "api.openai.com.", "PROXY dlp.corp:8080"),
        ("https://s3.eu-west-1.amazonaws.com/bucket", "s3.eu-west-1.amazonaws.com", "PROXY corp:3128"),
        ("https://openai.azure.com/", "openai.azure.com", "PROXY corp:3128"),  # the bare suffix is no catalogued host
        ("https://evilapi.openai.com.example.net/", "evilapi.openai.com.example.net", "PROXY corp:3128"),
        ("https://github.com/acme/repo", "github.com", "PROXY corp:3128"),
        ("https://pypi.org/simple/", "pypi.org", "PROXY corp:3128"),
    ],
)
def test_pac_routes_ai_endpoints_through_the_proxy(tmp_path, url, host, expected):
    node = shutil.which("node") or pytest.fail("node is needed to evaluate the PAC file")
    out = subprocess.run(
        [LLM_DLP, "pac", "--proxy", "dlp.corp:8080", "--fallback", "PROXY corp:3128"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0
    script = PAC_RUNTIME + out.stdout + f"\nprocess.stdout.write(FindProxyForURL({json.dumps(url)}, {json.dumps(host)}));\n"
    (tmp_path / "pac.js").write_text(script)
    assert subprocess.run([node, str(tmp_path / "pac.js")], capture_output=True, text=True, timeout=30).stdout == expected
    assert "DIRECT" not in out.stdout  # no DIRECT fallback anywhere: an AI host never bypasses the proxy


def test_ca_export_formats_never_include_the_key(tmp_path):
    conf = tmp_path / "conf"
    certs = {}
    for fmt in ("pem", "der", "p12"):
        out = subprocess.run(
            [LLM_DLP, "ca", "export", "--format", fmt, "--confdir", str(conf), "--out", str(tmp_path / f"ca.{fmt}")],
            capture_output=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        certs[fmt] = (tmp_path / f"ca.{fmt}").read_bytes()
    pem = x509.load_pem_x509_certificate(certs["pem"])
    assert x509.load_der_x509_certificate(certs["der"]) == pem
    key, cert, extra = pkcs12.load_key_and_certificates(certs["p12"], None)
    assert key is None and extra == [pem]
    assert b"PRIVATE KEY" not in certs["pem"]
    assert pem == x509.load_pem_x509_certificate((conf / "mitmproxy-ca-cert.pem").read_bytes())
