"""A remote MCP server the organisation names (Streamable HTTP): the agent's data in tools/call
arguments is redacted before it leaves, the server's SSE answer is restored, and the request is
audited. An MCP server nobody catalogued follows the policy for uncatalogued hosts (tunnelled
undecrypted, or refused in strict segment mode), like any other uncatalogued host."""

from __future__ import annotations

import json
import random
import ssl
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from support.proxy import start_proxy, stop_proxy
from support.secretgen import Gen, provider_tokens
from support.upstream import serve

MCP_RULES = """
endpoints:
  - id: corp-mcp
    description: The organisation's issue-tracker MCP server.
    hosts: [localhost]
    ports: [{port}]
    protocol: mcp
"""


class McpServer(BaseHTTPRequestHandler):
    """Answers every JSON-RPC request with an SSE result quoting its arguments back."""

    protocol_version = "HTTP/1.1"
    received: list[bytes] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append(body)
        message = json.loads(body)
        text = "created issue: " + message["params"]["arguments"]["body"]
        event = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": {"content": [{"type": "text", "text": text}]}})
        payload = f"event: message\ndata: {event}\n\n".encode()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def mcp_server(pki):
    server = serve(McpServer, pki)
    yield server.server_address[1]
    server.shutdown()


def test_tools_call_arguments_are_redacted_and_the_answer_restored(tmp_path, pki, upstream, mcp_server):
    token = dict(provider_tokens(Gen(random.Random())))["github-pat"]
    proxy = start_proxy(tmp_path, pki, upstream.port, files={"mcp.yaml": MCP_RULES.format(port=mcp_server)})
    try:
        call = {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "create_issue", "arguments": {"repo": "corp/app", "body": f"CI fails with {token}"}},
        }
        with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=20) as c:
            r = c.post(f"https://localhost:{mcp_server}/mcp", json=call, headers={"accept": "application/json, text/event-stream"})
        sent = json.loads(McpServer.received[-1])
        assert token not in McpServer.received[-1].decode() and "[REDACTED:github-token:" in sent["params"]["arguments"]["body"]
        assert sent["params"]["name"] == "create_issue" and sent["id"] == 3 and sent["method"] == "tools/call"  # structure intact
        assert r.status_code == 200 and f"created issue: CI fails with {token}" in r.text  # restored for the agent
        record = proxy.wait_for_record(1)
        assert (record["endpoint"], record["protocol"], record["decision"]) == ("corp-mcp", "mcp", "redact")
        assert record["findings"][0]["role"] == "tool_call" and token not in json.dumps(record)
    finally:
        stop_proxy(proxy)
