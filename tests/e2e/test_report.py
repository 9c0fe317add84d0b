"""The HTML governance report: built from a real audit file, rendered by headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LLM_DLP = str(Path(sys.executable).parent / "llm-dlp")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_renders_in_chromium(real_audit, tmp_path):
    out = tmp_path / "report.html"
    run = subprocess.run([LLM_DLP, "report", "--audit", str(real_audit), "--html", str(out)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    page = out.read_text()
    assert page.count("<svg class='chart'") >= 5 and "nope-not-real" in page and "test-block-marker" in page
    assert "<script" not in page and not re.search(r"\b(?:src|href)\s*=", page)  # self-contained: nothing to fetch
    if CHROMIUM is None:
        pytest.fail("chromium is installed by deploy/bootstrap.sh test")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0 and dom.stdout.count("<rect") >= 6
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,2000", out.as_uri()], capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
