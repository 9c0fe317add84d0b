"""Protected paths: globs, file regions in text, and every tool shape end to end through the proxy."""

from __future__ import annotations

import pytest

from llm_dlp.detect.protected import file_regions
from llm_dlp.text.globs import glob_regex


@pytest.mark.parametrize(
    "pattern, path, hit",
    [
        ("src/pricing/**", "/home/dev/repo/src/pricing/a/b.py", True),
        ("src/pricing/**", "src/pricing/x.py", True),
        ("src/pricing/**", "src/pricingx/x.py", False),
        ("**/.env", ".env", True),
        ("**/.env", "app/.env", True),
        ("**/.env", "app/.envrc", False),
        ("/etc/*.conf", "/etc/app.conf", True),
        ("/etc/*.conf", "/etc/sub/app.conf", False),
        ("*.PEM", "certs/server.pem", True),  # case-insensitive by default
    ],
)
def test_globs(pattern, path, hit):
    assert bool(glob_regex(pattern, False).search(path)) is hit


def test_file_regions_in_text():
    text = (
        'see <attachment id="a" filePath="/r/src/pricing/e.py">CODE1</attachment>\n'
        "```python\n// FILEPATH: src/pricing/f.py\nCODE2\n```\n"
        "src/pricing/g.py\n```python\nCODE3\n```\n"
        "```python src/ui/h.py\nCODE4\n```\n"
    )
    found = {path: text[s:e].strip() for s, e, path in file_regions(text)}
    assert found == {"/r/src/pricing/e.py": "CODE1", "src/pricing/f.py": "CODE2", "src/pricing/g.py": "CODE3", "src/ui/h.py": "CODE4"}


def test_a_dotfile_named_above_a_fence_is_that_file():
    """Aider sends read-only files as a name line and a fence: ``.env`` has no stem before its dot."""
    text = "Here are some READ ONLY files, provided for your reference.\n\n.env\n```\nA=1\nB=2\n```\n\nconfig/.env.local\n```\nC=3\n```\n"
    assert [(text[s:e], p) for s, e, p in file_regions(text)] == [("A=1\nB=2\n", ".env"), ("C=3\n", "config/.env.local")]


def test_patches_name_the_files_whose_old_content_they_carry():
    """Codex's apply_patch input and unified diffs: each file's section is that file's content."""
    patch = "*** Begin Patch\n*** Update File: .env\n@@\n-A=1\n+A=2\n*** Add File: src/app.py\n+print(1)\n*** End Patch"
    assert [(patch[s:e], p) for s, e, p in file_regions(patch)] == [("\n@@\n-A=1\n+A=2\n", ".env"), ("\n+print(1)\n", "src/app.py")]
    diff = "diff --git a/.env b/.env\n--- a/.env\n+++ b/.env\n@@ -1 +1 @@\n-A=1\n+A=2\ndiff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@\n-1\n+2\n"
    assert [(diff[s:e], p) for s, e, p in file_regions(diff)] == [("\n@@ -1 +1 @@\n-A=1\n+A=2\n", ".env"), ("\n@@\n-1\n+2\n", "x.py")]


def test_patch_and_fence_marks_count_only_at_the_start_of_a_line():
    text = "+++ a.py\nx = '+++ b.py'\n\n```\nin fence\n```\n--- c\n+++ d.py\ny\n  ```js\nnot a fence\n```"
    assert [(text[s:e], p) for s, e, p in file_regions(text)] == [
        ("\nx = '+++ b.py'\n\n```\nin fence\n```\n", "a.py"),
        ("\ny\n  ```js\nnot a fence\n```", "d.py"),
    ]
    # sections without an end run to the end of the text, each found once
    many = "".join(f"+++ f{i}.py\nline\n" for i in range(2000))
    assert len(file_regions(many)) == 2000 and file_regions(many)[-1][1] == len(many)
