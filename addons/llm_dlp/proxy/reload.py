"""Hot reload of the rules: a periodic check of the rules directory's digest, and SIGHUP. A rule
set that fails to load, or that would disarm the proxy (no or far fewer secret rules:
:func:`~llm_dlp.rules.ruleset.disarm_errors`), leaves the live one in place."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mitmproxy import ctx

from llm_dlp.proxy.config import install
from llm_dlp.proxy.state import Runtime, log
from llm_dlp.rules.files import RuleFileError
from llm_dlp.rules.ruleset import directory_digest, disarm_errors, load_ruleset


class Reloader:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self._task: asyncio.Task | None = None

    def load(self, loader) -> None:
        loader.add_option("llm_dlp_reload_seconds", int, 2, "How often rule files are checked for changes; 0 disables.")

    def running(self) -> None:
        if ctx.options.llm_dlp_reload_seconds > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch())

    def done(self) -> None:
        if self._task:
            self._task.cancel()

    async def _watch(self) -> None:
        last_failed = None
        while True:
            await asyncio.sleep(ctx.options.llm_dlp_reload_seconds)
            source = Path(ctx.options.llm_dlp_rules)
            digest = await _digest(source)
            if digest in (self.rt.ruleset.digest if self.rt.ruleset else None, last_failed):
                continue
            last_failed = await self.reload(source, digest)

    async def reload_now(self) -> None:
        source = Path(ctx.options.llm_dlp_rules)
        await self.reload(source, await _digest(source))

    async def reload(self, source: Path, digest: str) -> str | None:
        """Load ``source`` and swap it in; on failure keep the live rules. Return the failed digest."""
        try:
            ruleset = await asyncio.to_thread(load_ruleset, source)
            if errors := disarm_errors(ruleset, self.rt.ruleset):
                raise RuleFileError(errors)
        except RuleFileError as exc:
            self.rt.metrics.reloads.labels("failure").inc()
            log.error(f"llm-dlp: rule reload failed, previous rules stay live:\n{exc}")
            self.rt.record("reload_failed", errors=[str(e) for e in exc.errors][:50])
            return digest
        install(self.rt, ruleset)
        self.rt.metrics.reloads.labels("success").inc()
        log.info(f"llm-dlp: rules reloaded from {source} ({len(ruleset.rules)} secret rules)")
        self.rt.record("reload", rules=str(source), rule_count=len(ruleset.rules))
        return None


async def _digest(source: Path) -> str:
    """The rules directory's digest, read off the event loop ("missing" when it is gone)."""
    try:
        return await asyncio.to_thread(directory_digest, source)
    except RuleFileError:
        return "missing"
