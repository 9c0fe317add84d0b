"""Fingerprints of private repositories: pasted code is caught after renaming, re-indenting and
comment removal, with no path at all; unrelated code is not."""

from __future__ import annotations

import builtins
import json
import keyword
import re
import shutil
import ssl
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import httpx
import pytest

from llm_dlp.detect.fingerprint import VERSION, FingerprintIndex, fingerprints, match, tokenise
from support.hooks import hook
from support.proxy import ROOT, start_proxy, stop_proxy, wait_for

LLM_DLP = str(Path(sys.executable).parent / "llm-dlp")
SITE = Path(sysconfig.get_paths()["purelib"])
BUILTINS = set(dir(builtins))


_PY_TOKEN = re.compile(
    r"""(?P<string>[rbuRBUfF]{0,2}(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'))"""
    r"""|(?P<comment>\#[^\n]*)|(?P<name>\b[^\W\d]\w*)"""
)


def disguise(code: str) -> str | None:
    """What a developer hiding where code came from might do: rename every identifier
    consistently (attributes and ``self`` too; keywords and builtins stay, or the code would
    mean something else), drop comments and comment-only lines, and re-indent at two spaces a
    level. String contents stay. None when the chunk starts or ends inside a triple-quoted string."""
    if code.count('"""') % 2 or code.count("'''") % 2:
        return None
    names: dict[str, str] = {}

    def rewrite(m: re.Match[str]) -> str:
        if m.lastgroup == "comment":
            return ""
        word = m.group()
        if m.lastgroup == "string" or keyword.iskeyword(word) or word in BUILTINS:
            return word
        return names.setdefault(word, f"n{len(names)}")

    lines = _PY_TOKEN.sub(rewrite, code).split("\n")
    kept = [line.rstrip() for line, before in zip(lines, code.split("\n")) if line.strip() or not before.strip()]
    reindented = []
    for line in textwrap.dedent("\n".join(kept)).split("\n"):
        body = line.lstrip(" ")
        reindented.append("  " * ((len(line) - len(body)) // 4) + body)
    return textwrap.indent("\n".join(reindented), "  ")


def index_repo(repo: Path, out: Path, *flags: str) -> str:
    """``llm-dlp fingerprint index`` for real; its report."""
    done = subprocess.run(
        [LLM_DLP, "fingerprint", "index", str(repo), "--out", str(out), *flags], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    """A 'private' repository (a copy of an installed package) and its index in a rules dir."""
    tmp = tmp_path_factory.mktemp("fp")
    repo = tmp / "repo"
    shutil.copytree(SITE / "h11", repo, ignore=shutil.ignore_patterns("__pycache__"))
    rules = tmp / "rules"
    rules.mkdir()
    assert "fingerprints" in index_repo(repo, rules / "private.fpidx")
    assert "(0 files read" in index_repo(repo, rules / "private.fpidx")  # incremental re-run from the cache
    return repo, rules / "private.fpidx"


def chunk(path: Path, start: int, lines: int = 25) -> str:
    return "\n".join(path.read_text().splitlines()[start : start + lines])


def test_disguised_chunk_is_caught_and_unrelated_code_is_not(private):
    repo, index_file = private
    index = FingerprintIndex(index_file)
    pasted = disguise(chunk(repo / "_connection.py", 246))
    hits = match(index, "Please review:\n" + pasted, threshold=6, window_lines=30)
    assert [h.file for h in hits] == ["repo/_connection.py"]
    unrelated = chunk(SITE / "httpx" / "_client.py", 300, 80)
    assert match(index, unrelated, threshold=6, window_lines=30) == []


def test_pasted_code_without_a_path_is_withheld_through_the_proxy(private, tmp_path, pki, upstream):
    repo, index_file = private
    rules_file = f"fingerprints:\n  - id: private-h11\n    index: {index_file.name}\n    action: redact\n"
    proxy = start_proxy(tmp_path, pki, upstream.port, files={"fp.yaml": rules_file, index_file.name: index_file.read_bytes()})
    try:
        pasted = disguise(chunk(repo / "_connection.py", 246))
        body = {"model": "m", "messages": [{"role": "user", "content": f"Why is this slow?\n```python\n{pasted}\n```\nThanks!"}]}
        with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=20) as c:
            c.post(f"{upstream.url}/v1/chat/completions", json=body)
            sent = json.loads(upstream.last().body)["messages"][0]["content"]
            assert "code matching" in sent and "withheld by policy private-h11" in sent
            assert sent.startswith("Why is this slow?") and sent.endswith("Thanks!")
            rec = proxy.wait_for_record(1)
            assert (rec["findings"][0]["kind"], rec["findings"][0]["repository"], rec["findings"][0]["path"]) == (
                "protected-code",
                "repo",
                "_connection.py",
            )
            assert "_connection.py" not in sent and str(repo) not in sent  # the indexed file's name stays here
            unrelated = {"model": "m", "messages": [{"role": "user", "content": chunk(SITE / "httpx" / "_client.py", 300, 80)}]}
            c.post(f"{upstream.url}/v1/chat/completions", json=unrelated)
            assert json.loads(upstream.last().body) == unrelated
    finally:
        stop_proxy(proxy)


def test_an_index_from_another_version_is_refused_clearly(tmp_path, private):
    old = tmp_path / "old.fpidx"
    for magic in (b"LLMDLPFP1", b"LLMDLPFP3", b"LLMDLPFP4"):  # formats before formatter-proof tokens and spelled k-grams, too
        old.write_bytes(magic + b"\0" * 64)
        with pytest.raises(ValueError, match="rebuild it"):
            FingerprintIndex(old)
    # The same file format written by another tokenizer: its fingerprints would never match.
    _, index_file = private
    tokenizer = VERSION["tokenizer"]
    another = tokenizer + 1 if len(str(tokenizer + 1)) == len(str(tokenizer)) else tokenizer - 1  # the header keeps its length
    other = index_file.read_bytes().replace(f'"tokenizer": {tokenizer}'.encode(), f'"tokenizer": {another}'.encode(), 1)
    assert other != index_file.read_bytes()
    (tmp_path / "other.fpidx").write_bytes(other)
    with pytest.raises(ValueError, match=r"of this version.*rebuild it"):
        FingerprintIndex(tmp_path / "other.fpidx")
    # A header edited out of shape is damaged, and says so.
    (tmp_path / "damaged.fpidx").write_bytes(index_file.read_bytes().replace(b'"tokenizer"', b'"tokenizer" ', 1))
    with pytest.raises(ValueError, match=r"damaged.*rebuild it"):
        FingerprintIndex(tmp_path / "damaged.fpidx")


def test_results_are_remembered_per_index_and_settings(private):
    repo, index_file = private
    pasted = disguise(chunk(repo / "_connection.py", 246))
    index = FingerprintIndex(index_file)
    first = match(index, pasted, threshold=6, window_lines=30)
    assert first and match(index, pasted, threshold=6, window_lines=30) is first  # a resent text costs a digest
    assert match(index, pasted, threshold=10_000, window_lines=30) == []  # other settings, computed afresh
    assert match(FingerprintIndex(index_file), pasted, threshold=6, window_lines=30) == first  # a reloaded index starts empty


def test_scan_finds_pasted_code_offline(private, tmp_path):
    repo, index_file = private
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    shutil.copy(index_file, rules / "private.fpidx")
    (rules / "fp.yaml").write_text("fingerprints:\n  - id: private-h11\n    index: private.fpidx\n    action: redact\n")
    pasted = tmp_path / "question.md"
    pasted.write_text(f"Why is this slow?\n```python\n{disguise(chunk(repo / '_connection.py', 246))}\n```\nThanks!\n")
    out = subprocess.run([LLM_DLP, "scan", str(pasted), "--rules", str(rules), "--json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out.stderr
    (finding,) = [json.loads(line) for line in out.stdout.splitlines()]
    assert (finding["rule"], finding["kind"], finding["repository"], finding["path"]) == (
        "private-h11",
        "protected-code",
        "repo",
        "_connection.py",
    )
    redacted = subprocess.run([LLM_DLP, "scan", str(pasted), "--rules", str(rules), "--redact"], capture_output=True, text=True, timeout=60)
    assert "withheld by policy private-h11" in redacted.stdout and "n14.n18" not in redacted.stdout
    assert redacted.stdout.startswith("Why is this slow?")
    clean = tmp_path / "other.py"
    clean.write_text(chunk(SITE / "httpx" / "_client.py", 300, 80))
    assert subprocess.run([LLM_DLP, "scan", str(clean), "--rules", str(rules)], capture_output=True, timeout=60).returncode == 0


def test_a_long_paste_is_covered_whole(private):
    """Not only the first window that reaches the threshold: every line of a long paste."""
    repo, index_file = private
    pasted = disguise(chunk(repo / "_connection.py", 246, 160))
    (hit,) = match(FingerprintIndex(index_file), pasted, threshold=6, window_lines=30)
    last_code = pasted.split("\n").index("  @property") + 1  # then two long docstrings, four lines of code
    assert hit.first_line <= 3 and hit.last_line >= last_code, hit


def hashes(text: str) -> list[int]:
    return fingerprints(text).hashes.tolist()


def test_a_text_with_nothing_in_the_index_matches_nothing(private):
    _, index_file = private
    index = FingerprintIndex(index_file)
    prose = "We met on Tuesday to plan the release; the notes follow.\n" * 200
    assert len(fingerprints(prose).hashes) and match(index, prose, threshold=6, window_lines=30) == []
    assert match(index, "", threshold=6, window_lines=30) == []


PATHOLOGICAL = """
from llm_dlp.detect.fingerprint import fingerprints
for unit in ["'\\\\", '"\\\\', "/*", '\"\"\"x', "'''x", "`x", "-- ", "#"]:
    fingerprints(unit * (16 * 2**20 // len(unit)))
print("done")
"""


def test_unterminated_strings_and_comments_cost_linear_time():
    """A backtracking regular expression took 8 s for 32 KB of '\\'\\... and held the GIL, so
    one request could stall the proxy for hours. 16 MB of each such pattern must finish: a hang
    guard far above the expected second, not a timing threshold."""
    done = subprocess.run([sys.executable, "-c", PATHOLOGICAL], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "done", done.stderr


def test_vendored_and_generated_code_inside_a_repository_counts_as_public(tmp_path):
    """A private repository carrying an open-source library (vendor/, node_modules/...) or
    generated code: pasting that library or that boilerplate is no leak, even where the
    organisation's own files copied parts of it. The organisation's own code still matches."""
    repo = tmp_path / "payments"
    (repo / "vendor" / "h11").mkdir(parents=True)
    (repo / "api").mkdir()
    library = (SITE / "h11" / "_connection.py").read_text()
    (repo / "vendor" / "h11" / "_connection.py").write_text(library)
    own = (SITE / "httpx" / "_client.py").read_text()
    (repo / "ledger.py").write_text(own + "\n" + chunk(SITE / "h11" / "_connection.py", 246, 40))  # a copied part
    generated = (SITE / "h11" / "_readers.py").read_text()
    (repo / "api" / "schema.py").write_text("# Code generated by schemagen. DO NOT EDIT.\n" + generated)
    (repo / "api" / "events_pb2.py").write_text((SITE / "h11" / "_writers.py").read_text())
    assert "3 vendored or generated files counted as public" in index_repo(repo, tmp_path / "i.fpidx")
    index = FingerprintIndex(tmp_path / "i.fpidx")
    assert index.files == ["payments/ledger.py"]
    own_paste = next(
        d
        for start in range(300, 1200, 7)  # 25 lines of dense code (commas and parentheses make no tokens)
        if (d := disguise(chunk(repo / "ledger.py", start))) and len(tokenise(d)[0]) >= 4 * 25
    )
    assert match(index, own_paste, 6, 30) != []  # the organisation's own code
    for public in (
        chunk(SITE / "h11" / "_connection.py", 246, 40),
        chunk(SITE / "h11" / "_readers.py", 30, 40),
        chunk(SITE / "h11" / "_writers.py", 20, 40),
    ):
        assert match(index, public, 6, 30) == []
    index_repo(repo, tmp_path / "all.fpidx", "--index-all")
    assert len(FingerprintIndex(tmp_path / "all.fpidx").files) == 4


def test_a_re_run_reads_only_what_changed_and_writes_what_a_fresh_run_writes(tmp_path):
    repo = tmp_path / "engine"
    shutil.copytree(SITE / "h11", repo, ignore=shutil.ignore_patterns("__pycache__"))
    index = tmp_path / "rules" / "engine.fpidx"
    index.parent.mkdir()

    first = index_repo(repo, index)
    assert f"({len(list(repo.rglob('*.py')))} files read" in first and (tmp_path / "rules" / "engine.fpidx.cache.npz").exists()
    assert "(0 files read" in index_repo(repo, index)
    (repo / "_util.py").write_text((repo / "_util.py").read_text() + "\n\ndef added(x):\n    return [x] * 3\n")
    shutil.copy(SITE / "httpx" / "_client.py", repo / "client.py")
    (repo / "_abnf.py").unlink()
    assert "(2 files read" in index_repo(repo, index)
    fresh = tmp_path / "fresh.fpidx"
    index_repo(repo, fresh)
    assert index.read_bytes() == fresh.read_bytes()
    assert "engine/_abnf.py" not in FingerprintIndex(index).files and "engine/client.py" in FingerprintIndex(index).files


def strings(value) -> list[str]:
    """Every string in a JSON value, JSON-encoded arguments included as they are."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def shapes(paste: str, other: str) -> dict[str, tuple[str, dict]]:
    """Where each tool puts text, with the paste and no path that a path rule could use."""
    return {
        "copilot-completions": (
            "/v1/engines/copilot-codex/completions",
            {
                "prompt": paste,
                "suffix": "\n",
                "stream": False,
                "nwo": "acme/shop",
                "extra": {"language": "python", "context": [{"path": "src/ui/app.py", "content": other}]},
            },
        ),
        "copilot-chat": (
            "/v1/chat/completions",
            {
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": f"Why is this slow?\n```\n{paste}\n```\nCompare:\n```python\n{other}\n```"}],
            },
        ),
        "claude-code": (
            "/v1/messages",
            {
                "model": "claude",
                "max_tokens": 10,
                "messages": [
                    {"role": "user", "content": "look at my scratch file"},
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "/tmp/scratch.py"}}],
                    },
                    {
                        "role": "user",
                        "content": [{"type": "tool_result", "tool_use_id": "t1", "content": paste}, {"type": "text", "text": other}],
                    },
                ],
            },
        ),
        "codex": (
            "/v1/responses",
            {
                "model": "gpt-5-codex",
                "input": [
                    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": other}]},
                    {
                        "type": "function_call",
                        "call_id": "x1",
                        "name": "shell",
                        "arguments": json.dumps({"command": ["cat", "/tmp/scratch.py"]}),
                    },
                    {"type": "function_call_output", "call_id": "x1", "output": paste},
                ],
            },
        ),
        "gemini": (
            "/v1beta/models/gemini-2.5-pro:generateContent",
            {
                "contents": [
                    {"role": "user", "parts": [{"text": other}]},
                    {"role": "model", "parts": [{"functionCall": {"name": "read_file", "args": {"path": "/tmp/scratch.py"}}}]},
                    {"role": "user", "parts": [{"functionResponse": {"name": "read_file", "response": {"content": paste}}}]},
                ]
            },
        ),
        "aider": (
            "/v1/chat/completions",
            {"model": "gpt-4o", "messages": [{"role": "user", "content": f"```python\n{paste}\n```\n\n{other}"}]},
        ),
    }


@pytest.fixture(scope="module")
def fingerprint_proxy(private, tmp_path_factory, pki, upstream):
    _, index_file = private
    rules = f"fingerprints:\n  - id: private-h11\n    index: {index_file.name}\n    action: redact\n"
    proxy = start_proxy(
        tmp_path_factory.mktemp("fp-proxy"), pki, upstream.port, files={"fp.yaml": rules, index_file.name: index_file.read_bytes()}
    )
    yield proxy
    stop_proxy(proxy)


@pytest.mark.parametrize("tool", ["copilot-completions", "copilot-chat", "claude-code", "codex", "gemini", "aider"])
def test_a_paste_without_a_path_is_withheld_in_every_tool_shape(private, fingerprint_proxy, upstream, tool):
    repo, _ = private
    paste = disguise(chunk(repo / "_connection.py", 246))
    other = chunk(SITE / "httpx" / "_client.py", 300, 30)
    path, body = shapes(paste, other)[tool]
    mark = len(fingerprint_proxy.records())
    with httpx.Client(proxy=fingerprint_proxy.url, verify=ssl.create_default_context(cafile=str(fingerprint_proxy.ca)), timeout=20) as c:
        assert c.post(f"{upstream.url}{path}", json=body).status_code == 200
    sent = "\n".join(strings(json.loads(upstream.last().body)))  # still valid JSON
    code_lines = [line.strip() for line in paste.splitlines() if len(line.strip()) > 12]
    assert not [line for line in code_lines if line in sent], tool  # not one line of the paste went out
    assert "withheld by policy private-h11" in sent
    assert all(line in sent for line in other.splitlines()), tool  # the rest, intact
    rec = fingerprint_proxy.wait_for_record(mark + 1)
    assert rec["decision"] == "redact" and [(f["kind"], f["repository"], f["path"]) for f in rec["findings"]] == [
        ("protected-code", "repo", "_connection.py")
    ]


def test_a_match_widens_to_the_edges_of_the_paste_but_not_across_a_fence(private):
    """After renaming, a paste's first lines fingerprint unlike the indexed file (the earlier
    uses of each name are missing): the match still withholds them, and stops at the fence."""
    repo, index_file = private
    paste = disguise(chunk(repo / "_connection.py", 246))
    question = "Why is this slow?\nIt is called in a loop:\n```python\n"
    text = f"{question}{paste}\n```\nThanks!"
    (hit,) = match(FingerprintIndex(index_file), text, threshold=6, window_lines=30)
    lines = text.split("\n")
    assert hit.first_line == question.count("\n") + 1 and lines[hit.last_line] == "```"  # the paste, whole


def test_overlapping_matches_are_withheld_as_their_union():
    """Two indexed files sharing code match overlapping stretches: all of both is withheld."""
    from llm_dlp.detect.protected import PathHit, PathRule, withhold
    from llm_dlp.protocols.base import Segment

    rule = PathRule("private", "redact", (), (), "")
    text = "".join(f"line {n} of pasted code\n" for n in range(1, 31))
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    segment = Segment((), text)
    withhold(
        [segment],
        [
            PathHit(rule, "r/a.py", 0, starts[9], starts[29], "protected-code"),
            PathHit(rule, "r/b.py", 0, starts[4], starts[14], "protected-code"),
        ],
    )
    assert segment.text.startswith("line 1 of") and "line 4 of" in segment.text and segment.text.endswith("line 30 of pasted code\n")
    assert not any(f"line {n} of" in segment.text for n in range(5, 30)), segment.text  # lines 5-29: both hits
    assert segment.text.count("withheld by policy private") == 1


def test_the_proxy_picks_up_a_rebuilt_index(tmp_path, pki, upstream):
    """Indexing straight into the rules directory (as docs/paths.md shows, cache and all) while
    the proxy runs: the next request is matched against the new index."""
    repo = tmp_path / "repo"
    shutil.copytree(SITE / "h11", repo, ignore=shutil.ignore_patterns("__pycache__", "_connection.py"))
    rules_dir = tmp_path / "proxy"
    rules_dir.mkdir()

    first = tmp_path / "first.fpidx"
    index_repo(repo, first)
    proxy = start_proxy(
        rules_dir,
        pki,
        upstream.port,
        ["--set", "llm_dlp_reload_seconds=1"],
        files={
            "fp.yaml": "fingerprints:\n  - id: private-h11\n    index: private.fpidx\n    action: redact\n",
            "private.fpidx": first.read_bytes(),
        },
    )
    try:
        paste = disguise(chunk(SITE / "h11" / "_connection.py", 246))
        body = {"model": "m", "messages": [{"role": "user", "content": f"```python\n{paste}\n```"}]}
        with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=20) as c:
            c.post(f"{upstream.url}/v1/chat/completions", json=body)
            assert json.loads(upstream.last().body) == body  # not indexed yet
            shutil.copy(SITE / "h11" / "_connection.py", repo / "_connection.py")
            reloads = len(proxy.records("reload"))
            index_repo(repo, rules_dir / "rules" / "private.fpidx")
            wait_for(lambda: len(proxy.records("reload")) > reloads, "the reload")
            c.post(f"{upstream.url}/v1/chat/completions", json=body)
            assert "withheld by policy private-h11" in json.loads(upstream.last().body)["messages"][0]["content"]
        assert not proxy.records("reload_failed")  # the cache beside the index is no rule file
    finally:
        stop_proxy(proxy)


async def test_a_failure_inside_fingerprint_matching_blocks_the_request(private, tmp_path, monkeypatch):
    """Out of memory in the compiled fingerprinter (a huge body): the request is refused, never
    forwarded uninspected, and the error names no part of it."""
    from mitmproxy.test import taddons

    import llm_dlp.detect.fingerprint
    from llm_dlp.proxy.addon import LlmDlp
    from support.addon import configured, openai_flow

    _, index_file = private
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    shutil.copy(index_file, rules / "private.fpidx")
    (rules / "fp.yaml").write_text("fingerprints:\n  - id: private-h11\n    index: private.fpidx\n    action: redact\n")

    def out_of_memory(*args):
        raise MemoryError

    addon = LlmDlp()
    with taddons.context(addon) as tctx:
        configured(tctx, addon, tmp_path, rules)
        monkeypatch.setattr(llm_dlp.detect.fingerprint._winnow, "fingerprints", out_of_memory)
        paste = disguise(chunk(SITE / "h11" / "_connection.py", 246))
        flow = openai_flow(json.dumps({"model": "m", "messages": [{"role": "user", "content": paste}]}).encode())
        await hook(tctx, "requestheaders", flow)
        await hook(tctx, "request", flow)
        assert flow.response.status_code == 500 and b"could not inspect" in flow.response.content
        assert paste.split("\n")[3].strip().encode() not in flow.response.content
        assert flow.metadata["llm_dlp"].decision == "error"


PRETTIER = (
    Path(sys.prefix) / "share" / "llm-dlp" / "prettier" / "node_modules" / ".bin" / "prettier"
)  # deploy/bootstrap.sh test installs it
NPM_LIB = Path("/usr/lib/node_modules/npm/lib")  # npm's own JavaScript: semicolon-free, single quotes


def test_a_prettier_formatted_paste_of_javascript_is_caught_and_withheld_whole(tmp_path):
    """The index holds the code as written; the developer's editor ran prettier (semicolons,
    double quotes, trailing commas, parenthesised arrow parameters, re-wrapped calls) before the
    paste, which comes in a fence that names no language."""
    repo = tmp_path / "cli"
    shutil.copytree(NPM_LIB, repo)
    index_repo(repo, tmp_path / "cli.fpidx")
    index = FingerprintIndex(tmp_path / "cli.fpidx")
    source = repo / "npm.js"
    formatted = tmp_path / "npm.js"
    formatted.write_text(source.read_text())
    subprocess.run(
        [str(PRETTIER), "--write", "--trailing-comma", "all", "--print-width", "60", str(formatted)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert formatted.read_text() != source.read_text()
    lines = formatted.read_text().split("\n")
    for start in (40, 120, 200):
        paste = "\n".join(lines[start : start + 20])
        text = f"Why does this hang?\n\n```\n{paste}\n```\nThanks!"
        (hit,) = match(index, text, threshold=6, window_lines=30)
        assert hit.file == "cli/npm.js" and (hit.first_line, hit.last_line) == (4, 23), (start, hit)
