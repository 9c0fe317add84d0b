"""The real coding-agent CLIs through the real proxy, against the fake model (tests/support/fake_model.py).

Each agent runs non-interactively in a project holding ``settings.py`` (generated secrets), ``.env``
(a protected path) and ``ledger.py`` (private code, in the proxy's fingerprint index; each agent's read
tool returns it its own way, Claude Code's with line numbers). The fake model asks it to read the three
files in one turn of parallel tool calls, then to write ``out.py`` with the placeholders it was given, then
answers with a final text. For each agent: it exits 0 with that text; no secret, no line of ``.env`` and no
line of ``ledger.py`` reached the model, in any encoding; every body the model got was valid for its API;
``out.py`` holds the real values of the rules that restore;
one audit record per model request, naming the agent's tool.

The agents are installed by ``deploy/bootstrap.sh test`` into ``.tools/`` at pinned versions. They run
in parallel (one fake model and one proxy each), once per session."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import sysconfig
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from llm_dlp.detect.fingerprint import build_index
from support.fake_model import FINAL_TEXT, OUT_FILE, FakeModel, leaks, serve_fake_model
from support.proxy import ROOT, Proxy, start_proxy, stop_proxy
from support.secretgen import AN, Gen

TOOLS = ROOT / ".tools"
NPM_BIN = TOOLS / "npm" / "node_modules" / ".bin"
AIDER = TOOLS / "aider-venv" / "bin" / "aider"
API_KEY = "fake-model-test-key-0000"
PROMPT = "Read settings.py and the environment file, then write out.py with the settings."
TIMEOUT = 240
PARALLEL = 3
AIDER_PROMPT = "Write out.py with the settings."  # Aider is given the files on its command line
AIDER_MODEL_SETTINGS = """- name: openai/fake-model
  edit_format: diff
  extra_params:
    extra_headers: {X-Title: Aider, HTTP-Referer: "https://aider.chat"}
"""


@dataclass
class Project:
    """The agent's working tree and what must never reach the model."""

    root: Path
    secrets: dict[str, str]  # label -> value
    protected_lines: list[str]
    restored: dict[str, str]  # label -> value that out.py must hold (rules that restore)
    protected_file: str = ".env"


# Gemini CLI refuses by itself to read a path with a ".env" segment (hasBlockedPathSegment), so it
# reads another file of the same protected-path rule (env-files: **/.env.*).
PROTECTED_FILE = {"gemini-cli": ".env.local"}


def make_project(root: Path, rng: random.Random, protected_file: str = ".env") -> Project:
    g = Gen(rng)
    root.mkdir(parents=True)
    secrets = {
        "github-token": "ghp_" + g.s(AN, 36),
        "stripe-key": "sk_live_" + g.s(AN, 40),
        "aws-access-key-id": "AKIA" + g.s("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
        "slack-token": f"xoxb-{g.s('0123456789', 12)}-{g.s('0123456789', 13)}-{g.s(AN, 24)}",
    }
    (root / "settings.py").write_text(
        '"""Application settings."""\n\n'
        f'GITHUB_TOKEN = "{secrets["github-token"]}"\n'
        f'STRIPE_API_KEY = "{secrets["stripe-key"]}"\n'
        f'AWS_ACCESS_KEY_ID = "{secrets["aws-access-key-id"]}"\n'
        f'SLACK_BOT_TOKEN = "{secrets["slack-token"]}"\n'
        "DEBUG = False\n"
    )
    protected = [f"APP_REGION=region-{g.s(AN, 12)}", f"FEATURE_SET=features-{g.s(AN, 14)}", f"TEAM_CHANNEL=channel-{g.s(AN, 10)}"]
    (root / protected_file).write_text("\n".join(protected) + "\n")
    (root / PRIVATE_FILE).write_text(PRIVATE_CODE)
    return Project(root, secrets, protected, dict(secrets), protected_file)


# The organisation's private code: 45 lines of an installed library's connection class.
PRIVATE_FILE = "ledger.py"  # indexed: no line of it may reach the model
PRIVATE_CODE = (
    "class Ledger:\n"
    + "\n".join((Path(sysconfig.get_paths()["purelib"]) / "h11" / "_connection.py").read_text().split("\n")[254:299])
    + "\n"
)
FINGERPRINT_RULES = "fingerprints:\n  - id: private-ledger\n    index: private.fpidx\n    action: redact\n"


def private_index(into: Path) -> bytes:
    """The fingerprint index of the project's private code, as the proxy's rules ship it."""
    repo = into / "acme"
    repo.mkdir(parents=True)
    (repo / PRIVATE_FILE).write_text(PRIVATE_CODE)
    build_index([repo], into / "private.fpidx")
    return (into / "private.fpidx").read_bytes()


def private_lines() -> dict[str, str]:
    """The lines of the private code that tell it apart (a bare `return` is anyone's)."""
    lines = [line.strip() for line in PRIVATE_CODE.split("\n") if len(line.strip()) > 24]
    return {f"{PRIVATE_FILE} line {i}": line for i, line in enumerate(lines)}


# ---- the agents ---------------------------------------------------------------------------------
@dataclass
class Agent:
    name: str
    tool_ids: set[str]  # what the audit may name: the main request's tool and its auxiliary requests
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # relative to HOME
    uses_tools: bool = True  # False: the files travel in the prompt and the edit in the answer (Aider)


def agent(name: str, model: FakeModel, proxy: Proxy, project: Project, home: Path) -> Agent:
    base = model.url
    ca = str(proxy.ca)
    node_env = {"NODE_EXTRA_CA_CERTS": ca}
    if name == "claude-code":
        return Agent(
            name,
            {"claude-code"},
            [
                str(NPM_BIN / "claude"),
                "-p",
                PROMPT,
                "--model",
                "claude-sonnet-4-5",
                "--allowedTools",
                "Read,Write",
                "--permission-mode",
                "acceptEdits",
                "--output-format",
                "text",
            ],
            {
                **node_env,
                "ANTHROPIC_BASE_URL": base,
                "ANTHROPIC_API_KEY": API_KEY,
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                "DISABLE_AUTOUPDATER": "1",
                "DISABLE_TELEMETRY": "1",
                "DISABLE_ERROR_REPORTING": "1",
            },
        )
    if name in ("codex", "codex-websocket"):
        provider = (
            f'{{name="fake",base_url="{base}/v1",env_key="FAKE_MODEL_KEY",wire_api="responses",'
            f"supports_websockets={'true' if name == 'codex-websocket' else 'false'}}}"
        )
        return Agent(
            name,
            {"codex-cli"},
            [
                str(NPM_BIN / "codex"),
                "exec",
                "--skip-git-repo-check",
                "--dangerously-bypass-approvals-and-sandbox",
                "-c",
                'model_provider="fake"',
                "-c",
                f"model_providers.fake={provider}",
                "-m",
                "gpt-5-codex",
                PROMPT,
            ],
            {"CODEX_HOME": str(home / ".codex"), "SSL_CERT_FILE": ca, "CODEX_CA_CERTIFICATE": ca, "FAKE_MODEL_KEY": API_KEY},
            {".codex/config.toml": ""},
        )
    if name == "gemini-cli":
        settings = {
            "security": {"auth": {"selectedType": "gemini-api-key"}},
            "privacy": {"usageStatisticsEnabled": False},
            "telemetry": {"enabled": False},
            "general": {"disableAutoUpdate": True},
        }
        return Agent(
            name,
            {"gemini-cli"},
            [str(NPM_BIN / "gemini"), "-p", PROMPT, "--yolo", "-m", "gemini-2.5-flash"],
            {
                **node_env,
                "GEMINI_API_KEY": API_KEY,
                "GOOGLE_GEMINI_BASE_URL": base,
                "GEMINI_CLI_NO_RELAUNCH": "true",
                "GEMINI_CLI_TRUST_WORKSPACE": "true",
            },
            {".gemini/settings.json": json.dumps(settings)},
        )
    if name == "qwen-code":
        settings = {
            "security": {"auth": {"selectedType": "openai"}},
            "privacy": {"usageStatisticsEnabled": False},
            "telemetry": {"enabled": False},
        }
        return Agent(
            name,
            {"qwen-code"},
            [str(NPM_BIN / "qwen"), "-p", PROMPT, "--yolo", "-m", "fake-model"],
            {**node_env, "OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": f"{base}/v1", "OPENAI_MODEL": "fake-model"},
            {".qwen/settings.json": json.dumps(settings)},
        )
    if name == "aider":
        return Agent(
            name,
            {"aider"},
            [
                str(AIDER),
                "--message",
                AIDER_PROMPT,
                "--yes-always",
                "--no-git",
                "--no-check-update",
                "--no-show-model-warnings",
                "--analytics-disable",
                "--no-show-release-notes",
                "--no-pretty",
                "--no-fancy-input",
                "--edit-format",
                "diff",
                "--model",
                "openai/fake-model",
                "--openai-api-base",
                f"{base}/v1",
                "--openai-api-key",
                API_KEY,
                "--map-tokens",
                "0",
                "settings.py",
                "--read",
                ".env",
                "--read",
                PRIVATE_FILE,
            ],
            {"SSL_CERT_FILE": ca, "REQUESTS_CA_BUNDLE": ca, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
            # the header that names Aider (docs/clients.md), and a fresh model-price cache so that
            # Aider does not try to download litellm's price list
            {".aider.model.settings.yml": AIDER_MODEL_SETTINGS, ".aider/caches/model_prices_and_context_window.json": "{}"},
            uses_tools=False,
        )
    raise KeyError(name)


@dataclass
class Run:
    agent: Agent
    project: Project
    model: FakeModel
    proxy: Proxy
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    records: list[dict]  # "request" audit records
    socket_records: list[dict]  # "websocket" audit records: one per connection


def run_agent(name: str, tmp: Path, pki) -> Run:
    project = make_project(tmp / "project", random.Random(f"{name}-{time.time_ns()}"), PROTECTED_FILE.get(name, ".env"))
    server, model = serve_fake_model(pki, str(project.root), ("settings.py", project.protected_file, PRIVATE_FILE))
    proxy = start_proxy(
        tmp / "proxy",
        pki,
        model.port,
        files={"fingerprints.yaml": FINGERPRINT_RULES, "private.fpidx": private_index(tmp / "index")},
    )
    home = tmp / "home"
    home.mkdir()
    try:
        spec = agent(name, model, proxy, project, home)
        for rel, text in spec.files.items():
            (home / rel).parent.mkdir(parents=True, exist_ok=True)
            (home / rel).write_text(text)
        env = {
            k: v
            for k, v in os.environ.items()
            if k.lower() not in ("https_proxy", "http_proxy", "all_proxy", "no_proxy")
            and not k.startswith(("OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "CODEX_", "CLAUDE"))
        }
        env.update(
            HOME=str(home),
            HTTPS_PROXY=proxy.url,
            https_proxy=proxy.url,
            HTTP_PROXY=proxy.url,
            NO_PROXY="",
            no_proxy="",
            PATH=f"{NPM_BIN}:{env.get('PATH', '')}",
            CI="true",
            TERM="dumb",
            NO_COLOR="1",
            **spec.env,
        )
        started = time.monotonic()
        try:
            proc = subprocess.run(
                spec.argv, cwd=project.root, env=env, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL
            )
            returncode, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            returncode, stdout, stderr = -1, _text(exc.stdout), _text(exc.stderr) + f"\n(timed out after {TIMEOUT} s)"
        seconds = time.monotonic() - started
        time.sleep(0.5)  # the last audit record is written after the response
        return Run(spec, project, model, proxy, returncode, stdout, stderr, seconds, proxy.records(), proxy.records("websocket"))
    finally:
        stop_proxy(proxy)
        server.shutdown()


def _text(data) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


AGENTS = ["claude-code", "codex", "gemini-cli", "qwen-code", "aider"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, pki) -> dict[str, Run]:
    missing = [str(p) for p in (NPM_BIN / "claude", NPM_BIN / "codex", NPM_BIN / "gemini", NPM_BIN / "qwen", AIDER) if not p.exists()]
    assert not missing, f"agent CLIs not installed (run deploy/bootstrap.sh test): {missing}"
    names = [*AGENTS, "codex-websocket"]
    # three at a time: each run starts a proxy (rules compiled: CPU-bound) and a Node or Python CLI
    with ThreadPoolExecutor(PARALLEL) as pool:
        futures = {n: pool.submit(run_agent, n, tmp_path_factory.mktemp(n), pki) for n in names}
        return {n: _outcome(f) for n, f in futures.items()}


def _outcome(future) -> Run | BaseException:
    """A run, or why it could not be made: one agent's broken setup does not hide the others' results."""
    try:
        return future.result()
    except Exception as exc:
        return exc


def _run(runs: dict, name: str) -> Run:
    run = runs[name]
    if isinstance(run, BaseException):
        raise run
    return run


def explain(run: Run) -> str:
    lines = [
        f"{run.agent.name}: exit {run.returncode} after {run.seconds:.0f} s",
        "stdout: " + run.stdout[-2000:],
        "stderr: " + run.stderr[-3000:],
    ]
    for e in run.model.exchanges:
        lines.append(f"  {e.method} {e.path} api={e.api} answer={e.answer} ua={e.headers.get('user-agent', '')[:60]} errors={e.errors[:3]}")
    lines.append("proxy log: " + run.proxy.log.read_text(errors="replace")[-3000:])
    return "\n".join(lines)


def check_agent(run: Run) -> None:
    why = explain(run)
    requests = run.model.model_requests()
    assert run.returncode == 0, why
    assert FINAL_TEXT in run.stdout, why
    script = ["read", "write", "text"] if run.agent.uses_tools else ["text"]
    assert [e.answer for e in requests if e.answer in ("read", "write", "text")][-len(script) :] == script, why
    assert any("withheld by policy env-files" in e.body.decode() for e in requests), why  # the file was read, and withheld
    assert any("withheld by policy private-ledger" in e.body.decode() for e in requests), why
    assert not run.model.invalid(), why
    assert not leaks(run.model.exchanges, run.project.secrets), why
    assert not leaks(run.model.exchanges, {f"env line {i}": line for i, line in enumerate(run.project.protected_lines)}), why
    assert not leaks(run.model.exchanges, private_lines()), why
    out = (run.project.root / OUT_FILE).read_text()
    for label, value in run.project.restored.items():
        assert value in out, f"{label} not restored in {OUT_FILE}:\n{out}\n{why}"
    # one record per HTTP request; a WebSocket connection is its upgrade's record plus one record
    # counting the messages it carried
    posts = [e for e in run.model.exchanges if e.method == "POST"]
    messages = [e for e in run.model.exchanges if e.method == "WS"]
    assert len([r for r in run.records if r["status"] != 101]) == len(posts), why
    assert sum(r["client_messages"] for r in run.socket_records) == len(messages), why
    tools = {r["tool"] for r in run.records + run.socket_records}
    assert tools <= run.agent.tool_ids, (tools, why)


@pytest.mark.parametrize("name", AGENTS)
def test_agent_completes_without_leaking(runs, name):
    check_agent(_run(runs, name))


def test_codex_websocket_transport(runs):
    """Codex's default transport: the Responses API over WebSocket (a prewarm, then response.create
    messages with incremental input: the outputs of cat come without their calls)."""
    run = _run(runs, "codex-websocket")
    assert [e for e in run.model.model_requests() if e.method == "WS"], "Codex did not use the WebSocket transport:\n" + explain(run)
    check_agent(run)


if __name__ == "__main__":  # one agent by hand: python tests/e2e/test_agents.py NAME
    sys.exit(pytest.main([__file__, "-k", sys.argv[1]]))
