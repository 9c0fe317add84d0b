"""Tool signatures (rules/tools.yaml) against the headers real agents send: the ones captured from the
agents run end to end (tests/e2e/test_agents.py) and the public headers of the others."""

from __future__ import annotations

import pytest
from mitmproxy.http import Headers

from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import load_ruleset

SEEN = [  # as sent by the pinned versions of deploy/bootstrap.sh
    (
        {
            "user-agent": "claude-cli/2.1.332 (external, sdk-cli)",
            "x-app": "cli",
            "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
        },
        "claude-code",
    ),
    ({"user-agent": "claude-code/2.1.332", "x-stainless-lang": "js"}, "claude-code"),  # auxiliary requests
    ({"user-agent": "Anthropic/JS 0.128.0", "x-app": "cli", "anthropic-beta": "claude-code-20250219"}, "claude-code"),
    ({"user-agent": "codex_exec/0.171.0 (Debian 12.0.0; x86_64) dumb (codex_exec; 0.171.0)", "originator": "codex_exec"}, "codex-cli"),
    (
        {
            "user-agent": "GeminiCLI-tui/0.61.0/gemini-2.5-flash (linux; x64; terminal)",
            "x-goog-api-client": "google-genai-sdk/1.30.0 gl-node/v22.23.3",
        },
        "gemini-cli",
    ),
    ({"user-agent": "QwenCode/0.24.4 (linux; x64)", "x-stainless-lang": "js"}, "qwen-code"),
    ({"user-agent": "OpenAI/Python 2.20.0", "x-title": "Aider", "http-referer": "https://aider.chat"}, "aider"),
]
PUBLIC = [
    ({"user-agent": "opencode/1.1.53", "x-stainless-lang": "js"}, "opencode"),
    ({"user-agent": "cursor-agent/2026.01.28", "x-cursor-client-version": "cli-2026.01.28"}, "cursor-cli"),
    ({"user-agent": "connect-es/1.6.1", "x-cursor-client-version": "2.0.64"}, "cursor"),
    ({"user-agent": "Continue/1.2.0 (vscode)"}, "continue"),
    (
        {
            "user-agent": "GithubCopilot/1.380.0",
            "copilot-language-server-version": "1.380.0",
            "editor-plugin-version": "copilot.vim/1.52.0",
            "copilot-integration-id": "vscode-chat",
        },
        "copilot-language-server",
    ),
    (
        {"user-agent": "GitHubCopilotChat/0.35.0", "copilot-integration-id": "vscode-chat", "editor-plugin-version": "copilot-chat/0.35.0"},
        "copilot-chat",
    ),
    ({"user-agent": "OpenAI/Python 2.20.0"}, "openai-sdk-python"),  # Aider without its header is the SDK it uses
    ({"user-agent": "SomethingElse/1.0"}, "unknown"),
]


@pytest.mark.parametrize("headers, tool", SEEN + PUBLIC)
def test_agent_is_named(headers, tool):
    classifier = load_ruleset(bundled_rules_dir()).tools
    assert classifier.classify(Headers(**{k.replace("-", "_"): v for k, v in headers.items()})) == tool
