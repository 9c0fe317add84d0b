"""Fingerprints of private repositories: pasted code is caught after renaming, re-indenting and
comment removal, with no path at all; unrelated code is not."""

from __future__ import annotations

import json
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

from conftest import start_proxy, stop_proxy
from llm_dlp.fingerprint import FingerprintIndex, match

LLM_DLP = str(Path(sys.executable).parent / "llm-dlp")
SITE = Path(sysconfig.get_paths()["purelib"])
KEEP = {"self", "def", "return", "if", "else", "elif", "for", "in", "not", "and", "or", "None", "True", "False", "raise", "class", "while", "with", "import", "from", "is", "try", "except", "lambda", "yield"}


def disguise(code: str) -> str:
    """What a developer pasting proprietary code might do: rename, re-indent, drop comments."""
    names = sorted(set(re.findall(r"\b[a-z_][a-z0-9_]{2,}\b", code)) - KEEP)
    renamed = re.sub(r"\b[a-z_][a-z0-9_]{2,}\b", lambda m: f"n{names.index(m.group())}" if m.group() in names else m.group(), code)
    no_comments = "\n".join(line.split("#")[0].rstrip() for line in renamed.splitlines())
    return textwrap.indent(textwrap.dedent(no_comments), "    ")


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    """A 'private' repository (a copy of an installed package) and its index in a rules dir."""
    tmp = tmp_path_factory.mktemp("fp")
    repo = tmp / "repo"
    shutil.copytree(SITE / "h11", repo, ignore=shutil.ignore_patterns("__pycache__"))
    rules = tmp / "rules"
    rules.mkdir()
    out = subprocess.run([LLM_DLP, "fingerprint", "index", str(repo), "--out", str(rules / "private.fpidx")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "fingerprints" in out.stdout, out.stderr
    again = subprocess.run([LLM_DLP, "fingerprint", "index", str(repo), "--out", str(rules / "private.fpidx")], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0  # incremental re-run from the cache
    return repo, rules / "private.fpidx"


def chunk(path: Path, start: int, lines: int = 25) -> str:
    return "\n".join(path.read_text().splitlines()[start : start + lines])


def test_disguised_chunk_is_caught_and_unrelated_code_is_not(private):
    repo, index_file = private
    index = FingerprintIndex(index_file)
    pasted = disguise(chunk(repo / "_connection.py", 250))
    hits = match(index, "Please review:\n" + pasted, threshold=8, window_lines=30)
    assert [Path(h.file).name for h in hits] == ["_connection.py"]
    unrelated = chunk(SITE / "httpx" / "_client.py", 300, 80)
    assert match(index, unrelated, threshold=8, window_lines=30) == []


def test_pasted_code_without_a_path_is_withheld_through_the_proxy(private, tmp_path, pki, upstream):
    repo, index_file = private
    rules_file = f"fingerprints:\n  - id: private-h11\n    index: {index_file.name}\n    action: redact\n"
    proxy = start_proxy(tmp_path, pki, upstream.port, files={"fp.yaml": rules_file, index_file.name: index_file.read_bytes()})
    try:
        pasted = disguise(chunk(repo / "_connection.py", 250))
        body = {"model": "m", "messages": [{"role": "user", "content": f"Why is this slow?\n```python\n{pasted}\n```\nThanks!"}]}
        with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=20) as c:
            c.post(f"{upstream.url}/v1/chat/completions", json=body)
            sent = json.loads(upstream.last().body)["messages"][0]["content"]
            assert "code matching" in sent and "withheld by policy private-h11" in sent
            assert sent.startswith("Why is this slow?") and sent.endswith("Thanks!")
            rec = proxy.wait_for_record(1)
            assert rec["findings"][0]["kind"] == "protected-code" and rec["findings"][0]["path"].endswith("_connection.py")
            unrelated = {"model": "m", "messages": [{"role": "user", "content": chunk(SITE / "httpx" / "_client.py", 300, 80)}]}
            c.post(f"{upstream.url}/v1/chat/completions", json=unrelated)
            assert json.loads(upstream.last().body) == unrelated
    finally:
        stop_proxy(proxy)
