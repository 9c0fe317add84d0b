"""``llm-dlp doctor``: checks a developer machine's set-up from that machine.

The proxy answers one diagnostic path itself, on any catalogued endpoint (never forwarded):
reaching that answer over HTTPS proves the client went through this proxy, trusted its CA and
was inspected, and the answer says who the proxy took the client for. The same request is made
the way each family of tools makes it (Python's ssl defaults, httpx, requests, Node, curl),
because each has its own trust store and its own CA variables."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

DIAGNOSTIC_PATH = "/.well-known/llm-dlp/doctor"
USER_AGENT = "llm-dlp-doctor"
TIMEOUT = 10


def diagnosis(version: str, instance: str | None, client: str | None, endpoint: str, tool: str, identity, refusal) -> dict:
    """The proxy's answer: about the asking client only."""
    return {
        "llm_dlp": version,
        "instance": instance,
        "inspected": True,
        "endpoint": endpoint,
        "client": client,
        "tool": tool,
        "identity": {"user": identity.user, "groups": list(identity.groups), "source": identity.source} if identity else None,
        "access": "allowed" if refusal is None else {"refused": refusal.reason, "message": refusal.message},
    }


@dataclass
class Check:
    name: str
    status: str  # ok, fail, skip
    detail: str
    hint: str = ""


def run_checks(proxy: str | None, url: str) -> list[Check]:
    target = url.rstrip("/") + DIAGNOSTIC_PATH
    checks = [_proxy_check(proxy)]
    if checks[0].status == "fail":
        return checks
    bypassed = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # public, missing from typeshed
    if proxy and bypassed(urlsplit(url).hostname or ""):
        checks.append(
            Check(
                "no-proxy",
                "fail",
                f"NO_PROXY covers {urlsplit(url).hostname}: tools that honour it go around the proxy",
                "remove the AI endpoints from NO_PROXY / no_proxy",
            )
        )
        proxy = None  # what those tools would do
    answers: list[dict] = []
    for name, fetch in (
        ("python", _python_ssl),
        ("python-httpx", _python_httpx),
        ("python-requests", _python_requests),
        ("node", _node),
        ("curl", _curl),
    ):
        check, answer = _client_check(name, fetch, proxy, target)
        checks.append(check)
        if answer:
            answers.append(answer)
    checks += _answer_checks(answers[0] if answers else None)
    return checks


def _proxy_parts(proxy: str):
    return urlsplit(proxy if "://" in proxy else f"http://{proxy}")


def proxy_without_credentials(proxy: str) -> str:
    parts = _proxy_parts(proxy)
    return f"{parts.scheme}://{parts.hostname}:{parts.port}" if parts.port else f"{parts.scheme}://{parts.hostname}"


def _proxy_check(proxy: str | None) -> Check:
    if not proxy:
        return Check("proxy", "skip", "no proxy configured (HTTPS_PROXY, --proxy): checking direct, as in a transparent pilot segment")
    parts = _proxy_parts(proxy)
    try:
        socket.create_connection((parts.hostname, parts.port or 8080), timeout=TIMEOUT).close()
    except OSError as exc:
        return Check(
            "proxy",
            "fail",
            f"{parts.hostname}:{parts.port or 8080} is not reachable ({exc.strerror or type(exc).__name__})",
            "check the proxy address, and that llm-dlp is running there",
        )
    return Check("proxy", "ok", f"{parts.hostname}:{parts.port or 8080} accepts connections")


def _client_check(name: str, fetch, proxy: str | None, target: str) -> tuple[Check, dict | None]:
    try:
        result = fetch(proxy, target)
    except FileNotFoundError as exc:
        return Check(name, "skip", f"{exc.filename} not found"), None
    if "error" in result:
        return Check(name, "fail", result["error"], _hint(name, result["error"])), None
    status, body = result["status"], result.get("body", "")
    if status == 407:
        return Check(
            name,
            "fail",
            "the proxy asks for credentials (407)",
            "put them in the proxy URL: HTTPS_PROXY=http://USER@host:port (docs/clients.md)",
        ), None
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if status != 200 or not isinstance(answer, dict) or not answer.get("inspected"):
        return Check(
            name,
            "fail",
            f"answered {status} by something other than llm-dlp",
            "the endpoint is not in the proxy's catalog, or this traffic does not go through llm-dlp",
        ), None
    return Check(name, "ok", "reached llm-dlp, and its CA is trusted"), answer


def _hint(name: str, error: str) -> str:
    if "certif" not in error.lower() and "verify" not in error.lower() and "issuer" not in error.lower():
        return ""
    variable = {
        "python": "SSL_CERT_FILE",
        "python-httpx": "SSL_CERT_FILE",
        "python-requests": "REQUESTS_CA_BUNDLE",
        "node": "NODE_EXTRA_CA_CERTS",
        "curl": "CURL_CA_BUNDLE (or the system trust store)",
    }[name]
    return f"the proxy's CA is not trusted here: export it (llm-dlp ca export) and set {variable}; see docs/clients.md"


def _answer_checks(answer: dict | None) -> list[Check]:
    if answer is None:
        return [Check("inspected", "fail", "no client reached llm-dlp's diagnostic answer", "fix the checks above first")]
    checks = [
        Check(
            "inspected",
            "ok",
            f"llm-dlp {answer['llm_dlp']} ({answer.get('instance')}) inspected a request to endpoint "
            f"{answer['endpoint']} from {answer.get('client')}",
        )
    ]
    who = answer.get("identity")
    seen = (
        f"{who['user']} (groups: {', '.join(who['groups']) or 'none'}; from {who['source']})" if who else "nobody in particular (anonymous)"
    )
    access = answer.get("access") or {}
    if access == "allowed":
        checks.append(Check("identity", "ok", f"the proxy sees you as {seen}; AI requests are allowed"))
    else:
        checks.append(
            Check(
                "identity", "fail", f"the proxy sees you as {seen}; it refuses AI requests: {access['refused']}", access.get("message", "")
            )
        )
    return checks


# ---- the same request, the way each kind of client makes it ----------------------------------
def _urllib(proxy: str | None, target: str, context: ssl.SSLContext) -> dict:
    handlers = [urllib.request.ProxyHandler({"https": proxy} if proxy else {}), urllib.request.HTTPSHandler(context=context)]
    request = urllib.request.Request(target, headers={"User-Agent": f"{USER_AGENT}-python"})
    try:
        with urllib.request.build_opener(*handlers).open(request, timeout=TIMEOUT) as r:
            return {"status": r.status, "body": r.read().decode(errors="replace")}
    except urllib.error.HTTPError as exc:
        return {"status": exc.code, "body": exc.read().decode(errors="replace")}
    except OSError as exc:  # URLError, ssl errors, timeouts, proxy tunnel errors
        reason = str(getattr(exc, "reason", exc))
        return {"status": 407} if "407" in reason else {"error": reason}


def _python_ssl(proxy: str | None, target: str) -> dict:
    """Python's defaults: the system trust store, or SSL_CERT_FILE / SSL_CERT_DIR."""
    return _urllib(proxy, target, ssl.create_default_context())


def _python_httpx(proxy: str | None, target: str) -> dict:
    """What httpx trusts (the OpenAI and Anthropic SDKs, LiteLLM): SSL_CERT_FILE, else certifi's bundle."""
    import certifi

    return _urllib(proxy, target, ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE") or certifi.where()))


def _python_requests(proxy: str | None, target: str) -> dict:
    """What requests trusts: REQUESTS_CA_BUNDLE, then CURL_CA_BUNDLE, else certifi's bundle."""
    import certifi

    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
    return _urllib(proxy, target, ssl.create_default_context(cafile=bundle))


_NODE_SCRIPT = r"""
const http = require('http'), tls = require('tls'), net = require('net');
const [proxy, target, agent] = process.argv.slice(1);
const t = new URL(target);
const port = Number(t.port) || 443;
const done = (o) => { process.stdout.write(JSON.stringify(o)); process.exit(0); };
function get(socket) {
  const options = { socket, host: t.hostname, port };
  if (!net.isIP(t.hostname)) options.servername = t.hostname;
  const s = tls.connect(options, () => s.write(`GET ${t.pathname} HTTP/1.1\r\nHost: ${t.host}\r\nUser-Agent: ${agent}\r\nConnection: close\r\n\r\n`));
  let data = '';
  s.on('data', (d) => { data += d; });
  s.on('end', () => {
    const [head, ...rest] = data.split('\r\n\r\n');
    done({ status: Number(head.split(' ')[1]), body: rest.join('\r\n\r\n') });
  });
  s.on('error', (e) => done({ error: `${e.code || ''} ${e.message}`.trim() }));
}
if (!proxy) get(undefined);
else {
  const p = new URL(proxy);
  const headers = p.username ? { 'Proxy-Authorization': 'Basic ' + Buffer.from(decodeURIComponent(p.username) + ':' + decodeURIComponent(p.password)).toString('base64') } : {};
  const req = http.request({ host: p.hostname, port: Number(p.port) || 8080, method: 'CONNECT', path: `${t.hostname}:${port}`, headers });
  req.on('connect', (res, socket) => res.statusCode === 200 ? get(socket) : done({ status: res.statusCode }));
  req.on('error', (e) => done({ error: `${e.code || ''} ${e.message}`.trim() }));
  req.setTimeout(10000, () => done({ error: 'timed out' }));
  req.end();
}
"""


def _node(proxy: str | None, target: str) -> dict:
    """Node's bundled CAs plus NODE_EXTRA_CA_CERTS, as Claude Code, Codex and Gemini CLI use."""
    node = shutil.which("node")
    if node is None:
        raise FileNotFoundError(2, "not found", "node")
    out = subprocess.run(
        [node, "-e", _NODE_SCRIPT, proxy or "", target, f"{USER_AGENT}-node"], capture_output=True, text=True, timeout=TIMEOUT + 5
    )
    try:
        return json.loads(out.stdout)
    except ValueError:
        return {"error": f"node failed: {out.stderr.strip()[-300:]}"}


def _curl(proxy: str | None, target: str) -> dict:
    """curl's own CA bundle (or CURL_CA_BUNDLE)."""
    curl = shutil.which("curl")
    if curl is None:
        raise FileNotFoundError(2, "not found", "curl")
    cmd = [curl, "-sS", "--max-time", str(TIMEOUT), "-A", f"{USER_AGENT}-curl", "-w", "\n%{http_code}", target]
    cmd += ["--proxy", proxy] if proxy else ["--noproxy", "*"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT + 5)
    body, _, status = out.stdout.rpartition("\n")
    if out.returncode != 0:
        if "407" in out.stderr:
            return {"status": 407}
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[0].removeprefix("curl: ")}
    return {"status": int(status), "body": body}


def report(checks: list[Check]) -> str:
    marks = {"ok": "ok  ", "fail": "FAIL", "skip": "skip"}
    lines = []
    for c in checks:
        lines.append(f"  {marks[c.status]}  {c.name:<15} {c.detail}")
        if c.hint and c.status == "fail":
            lines.append(f"        {'':<15} -> {c.hint}")
    return "\n".join(lines)


def as_json(checks: list[Check]) -> str:
    return json.dumps([asdict(c) for c in checks], indent=2)
