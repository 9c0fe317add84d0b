"""The files a shell command prints (protocols/shell.py): what makes ``cat .env`` a read of .env."""

from __future__ import annotations

import pytest

from llm_dlp.protocols.shell import files_printed, split_commands


@pytest.mark.parametrize(
    "command, files",
    [
        ("cat .env", [".env"]),
        ("cat settings.py .env", ["settings.py", ".env"]),
        ("cat -n ./config/.env", ["config/.env"]),
        ("/bin/cat .env", [".env"]),
        ("tac .env", [".env"]),
        ("nl -ba settings.py", ["settings.py"]),
        ("head -n 20 .env", [".env"]),
        ("head -20 .env", [".env"]),
        ("head --lines=5 .env", [".env"]),
        ("tail -c 100 secrets/.env.local", ["secrets/.env.local"]),
        ("tail -f -n 5 log.txt", ["log.txt"]),
        ("sed -n '1,40p' .env", [".env"]),
        ("sed -n -e 1,5p .env", [".env"]),
        ("awk -F= '{print $1}' .env", [".env"]),
        ("less .env", [".env"]),
        ("more .env", [".env"]),
        ("bat --style=plain --line-range 1:10 .env", [".env"]),
        ("batcat .env", [".env"]),
        ("grep -n PASSWORD .env", [".env"]),
        ("grep -rn -e TOKEN -e KEY .env settings.py", [".env", "settings.py"]),
        ("grep -A 3 DATABASE .env", [".env"]),
        ("rg -n secret .env", [".env"]),
        ("rg -g '*.py' secret src/app.py", ["src/app.py"]),
        ("jq .auths ~/.docker/config.json", ["~/.docker/config.json"]),
        ("cut -d= -f2 .env", [".env"]),
        ("sort -u .env", [".env"]),
        ("wc -l .env", [".env"]),
        ("base64 id_rsa", ["id_rsa"]),
        ("xxd -l 64 key.pem", ["key.pem"]),
        ("strings app.key", ["app.key"]),
        ("diff .env .env.example", [".env", ".env.example"]),
        ("git show HEAD:.env", [".env"]),
        ("git show main~2:config/.env.production", ["config/.env.production"]),
        ("git --no-pager show HEAD:./.env", [".env"]),
        ("git -C repo cat-file -p HEAD:.env", [".env"]),
        ("git blame -L 1,5 .env", [".env"]),
        ("git diff HEAD~1 -- .env", [".env"]),
        ("type .env", [".env"]),
        ("Get-Content .env", [".env"]),
        ("Get-Content -Path .env -TotalCount 5", [".env"]),
        ("gc -LiteralPath 'C:\\repo\\.env'", ["C:\\repo\\.env"]),
        ("Select-String -Pattern KEY -Path .env", [".env"]),
        ('cat "my settings.py"', ["my settings.py"]),
        ("cat 'a b'/c.txt", ["a b/c.txt"]),
        ("cat .env | grep KEY", [".env"]),
        ("cat .env | head -5 | sort", [".env"]),
        ("ls && cat .env", [".env"]),
        ("cd app; cat .env", [".env"]),
        ("test -f .env || cat .env.example", [".env.example"]),
        ("cat settings.py && cat .env", ["settings.py", ".env"]),
        ("cat .env\necho done", [".env"]),
        ("(cat .env)", [".env"]),
        ("bash -lc 'cat .env'", [".env"]),
        ('bash -c "head -n 3 .env && nl settings.py"', [".env", "settings.py"]),
        ("sh -c 'cat .env | grep KEY'", [".env"]),
        ("pwsh -Command Get-Content .env", [".env"]),
        ("cmd /c type .env", [".env"]),
        ("sudo cat /etc/shadow", ["/etc/shadow"]),
        ("sudo -u app cat .env", [".env"]),
        ("env -i FOO=1 cat .env", [".env"]),
        ("FOO=1 cat .env", [".env"]),
        ("timeout 5 cat .env", [".env"]),
        ("xargs cat < list.txt", ["list.txt"]),
        ("wc -l < .env", [".env"]),
        ("python app.py < .env", [".env"]),
        ("cat -- -weird-name", ["-weird-name"]),
        ("cat .env > copy.txt", [".env"]),
        ("cat .env 2>/dev/null", [".env"]),
        ("cat .env # show it", [".env"]),
    ],
)
def test_files_printed(command, files):
    reads = files_printed(command)
    assert reads.files == files
    assert not reads.opaque


@pytest.mark.parametrize(
    "command",
    [
        "ls -la",
        "echo hello",
        "pwd",
        "git status",
        "git log --oneline -5",
        "python -m pytest",
        "npm test",
        "echo secret > .env",
        "touch .env",
        "rm .env",
        "cp .env .env.bak",
        "mv a b",
        "cat > out.py <<'EOF'\nx = 1\nEOF",
        "grep -r TODO",
        "head",
        "git diff",
        "cat",
    ],
)
def test_commands_that_print_no_file(command):
    reads = files_printed(command)
    assert reads.files == []
    assert not reads.opaque


@pytest.mark.parametrize(
    "command",
    [
        "cat $HOME/.env",
        "cat *.env",
        "cat ${FILE}",
        "cat $(ls .env*)",
        "cat `echo .env`",
        "bash script.sh",
        "source .env",
        ". .env",
        'eval "$CMD"',
        "find . -name '.env' -exec cat {} \\;",
        "cat .env?",
    ],
)
def test_output_without_a_known_source_is_opaque(command):
    assert files_printed(command).opaque


def test_argv_as_tools_send_it():
    """Codex's ``shell`` tool sends argv: ["bash", "-lc", "cat .env"]."""
    assert files_printed(["bash", "-lc", "cat .env && head settings.py"]).files == [".env", "settings.py"]
    assert files_printed(["cat", ".env"]).files == [".env"]
    assert files_printed([]).files == []


def test_a_pattern_is_not_a_file():
    assert files_printed("grep .env settings.py").files == ["settings.py"]
    assert files_printed("sed s/a/b/ .env").files == [".env"]


def test_unterminated_quote_keeps_what_was_read():
    assert files_printed("cat .env 'unterminated").files[:1] == [".env"]


def test_split_commands_on_every_separator():
    assert split_commands("a 1 | b 2 && c; d || e & f\ng") == [["a", "1"], ["b", "2"], ["c"], ["d"], ["e"], ["f"], ["g"]]


def test_nested_shells_are_bounded():
    deep = "cat .env"
    for _ in range(10):
        deep = f"bash -c {deep!r}"
    files_printed(deep)  # returns: nesting past the bound is not followed


# ---- wired into the protocols: a shell tool's result is the file its command printed ----------------
import functools  # noqa: E402
import json  # noqa: E402

from llm_dlp.act.placeholders import Keyring  # noqa: E402
from llm_dlp.inspect.request import inspect_request  # noqa: E402
from llm_dlp.protocols.registry import REGISTRY  # noqa: E402
from llm_dlp.rules.files import bundled_rules_dir  # noqa: E402
from llm_dlp.rules.ruleset import load_ruleset  # noqa: E402

ENV = "APP_REGION=region-x7Q2mZk4\nFEATURE_SET=features-p9Lw3"
SHELL_CALLS = {  # (family, path, body) of one API carrying "cat .env" and its output, as the agents send them
    "codex exec_command (Responses)": (
        "openai",
        "/v1/responses",
        {
            "model": "m",
            "input": [
                {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": json.dumps({"cmd": "cat .env"})},
                {"type": "function_call", "call_id": "c2", "name": "exec_command", "arguments": json.dumps({"cmd": "ls"})},
                {"type": "function_call_output", "call_id": "c1", "output": ENV},
                {"type": "function_call_output", "call_id": "c2", "output": "README.md"},
            ],
        },
    ),
    "codex local_shell (Responses)": (
        "openai",
        "/v1/responses",
        {
            "model": "m",
            "input": [
                {
                    "type": "local_shell_call",
                    "call_id": "c1",
                    "status": "completed",
                    "action": {"type": "exec", "command": ["bash", "-lc", "head -5 .env"]},
                },
                {"type": "local_shell_call_output", "call_id": "c1", "output": ENV},
            ],
        },
    ),
    "claude Bash (Messages)": (
        "anthropic",
        "/v1/messages",
        {
            "model": "m",
            "max_tokens": 5,
            "messages": [
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "cd app && cat .env | grep -v '^#'"}}
                    ],
                },
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": ENV}]},
            ],
        },
    ),
    "qwen run_shell_command (Chat)": (
        "openai",
        "/v1/chat/completions",
        {
            "model": "m",
            "messages": [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "k1",
                            "type": "function",
                            "function": {"name": "run_shell_command", "arguments": json.dumps({"command": "sed -n 1,5p .env"})},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "k1", "content": ENV},
            ],
        },
    ),
    "gemini run_shell_command": (
        "gemini",
        "/v1beta/models/g:generateContent",
        {
            "contents": [
                {
                    "role": "model",
                    "parts": [{"functionCall": {"id": "g1", "name": "run_shell_command", "args": {"command": "git show HEAD:.env"}}}],
                },
                {"role": "user", "parts": [{"functionResponse": {"id": "g1", "name": "run_shell_command", "response": {"output": ENV}}}]},
            ]
        },
    ),
}


@pytest.mark.parametrize("case", sorted(SHELL_CALLS))
def test_shell_output_is_attributed_and_withheld(case):
    family, path, doc = SHELL_CALLS[case]
    raw = json.dumps(doc).encode()
    parsed = REGISTRY.parse(raw, family, path)
    assert [s.path for s in parsed.segments if s.text == ENV] == [".env"]
    ruleset = _ruleset()
    ins = inspect_request(raw, family, path, ruleset.detector, Keyring(b"k" * 32), path_rules=ruleset.paths)
    sent = ins.body.decode()
    assert "region-x7Q2mZk4" not in sent and "features-p9Lw3" not in sent
    assert "withheld by policy env-files" in sent
    assert ("README.md" in sent) == ("README.md" in raw.decode())  # another command's output is untouched
    after = json.loads(sent)
    assert _structure(after) == _structure(doc)  # ids, types, names, commands unchanged


@functools.cache
def _ruleset():
    return load_ruleset(bundled_rules_dir())


def _structure(doc):
    """Everything but the tool outputs, which are content."""
    if isinstance(doc, dict):
        return {k: _structure(v) for k, v in doc.items() if k not in ("output", "content") or not isinstance(v, str)}
    if isinstance(doc, list):
        return [_structure(v) for v in doc]
    return doc


def test_apply_patch_on_a_protected_file_withholds_its_old_content():
    patch = "*** Begin Patch\n*** Update File: .env\n@@\n-APP_REGION=region-x7Q2mZk4\n+APP_REGION=region-new\n*** End Patch"
    doc = {
        "model": "m",
        "input": [
            {"type": "custom_tool_call", "call_id": "p1", "name": "apply_patch", "input": patch},
            {"type": "custom_tool_call_output", "call_id": "p1", "output": "Success. Updated the following files:\nM .env"},
        ],
    }
    raw = json.dumps(doc).encode()
    ruleset = _ruleset()
    sent = inspect_request(raw, "openai", "/v1/responses", ruleset.detector, Keyring(b"k" * 32), path_rules=ruleset.paths).body.decode()
    assert "region-x7Q2mZk4" not in sent and "region-new" not in sent
    after = json.loads(sent)["input"][0]
    assert after["input"].startswith("*** Begin Patch\n*** Update File: .env") and after["input"].endswith("*** End Patch")
    assert {k: v for k, v in after.items() if k != "input"} == {k: v for k, v in doc["input"][0].items() if k != "input"}
