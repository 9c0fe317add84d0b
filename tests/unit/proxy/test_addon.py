"""The addon in-process with mitmproxy's test helpers: fail closed, reload, mitmdump -s."""

import shutil

from mitmproxy.test import taddons

from llm_dlp.proxy.addon import LlmDlp
from llm_dlp.rules.files import bundled_rules_dir
from support.addon import configured, openai_flow
from support.hooks import hook


async def test_streamed_request_body_fails_closed(tmp_path):
    addon = LlmDlp()
    with taddons.context(addon) as tctx:
        configured(tctx, addon, tmp_path)
        f = openai_flow(b"")
        await hook(tctx, "requestheaders", f)
        f.request.data.content = None  # as if another addon had streamed it
        await hook(tctx, "request", f)
        assert f.response.status_code == 500 and b"streamed" in f.response.content


async def test_catalog_drives_allow_hosts_and_uncatalogued_is_untouched(tmp_path):
    addon = LlmDlp()
    with taddons.context(addon) as tctx:
        configured(tctx, addon, tmp_path)
        assert any("api\\.openai\\.com" in r for r in tctx.options.allow_hosts)
        f = openai_flow(b'{"x": "ghp_' + b"a1" * 18 + b'"}')
        f.request.host = "example.org"
        await hook(tctx, "requestheaders", f)
        await hook(tctx, "request", f)
        assert f.response is None and "llm_dlp" not in f.metadata


async def test_broken_reload_keeps_old_rules(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(bundled_rules_dir(), rules)
    addon = LlmDlp()
    with taddons.context(addon) as tctx:
        configured(tctx, addon, tmp_path, rules)
        live = addon.runtime.ruleset
        (rules / "secrets.yaml").write_text("secrets: [broken\n")
        from llm_dlp.rules.ruleset import directory_digest

        failed = await addon.reloader.reload(rules, directory_digest(rules))
        assert failed and addon.runtime.ruleset is live
        assert addon.runtime.metrics.reloads.labels("failure")._value.get() == 1
        (rules / "secrets.yaml").write_text("secrets:\n  - id: only\n    action: block\n    patterns: ['ONLY-[0-9]{4}']\n")
        assert await addon.reloader.reload(rules, directory_digest(rules)) is None
        assert [r.id for r in addon.runtime.ruleset.rules] == ["only"]
