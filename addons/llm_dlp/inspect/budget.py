"""A bound on the request bytes under inspection at once. Inspecting a body makes several copies
of it (decoded text, parsed JSON, segments, the rewritten body), so concurrent big bodies, not
their number, are what grows the proxy's memory."""

from __future__ import annotations

import asyncio
import contextlib


class ByteBudget:
    """Requests wait for room up to a timeout. A body larger than the whole budget is inspected
    when nothing else is (refusing it outright would make the budget a second size limit)."""

    def __init__(self, limit: int):
        self.limit = limit  # 0: no bound
        self.held = 0
        self._room = asyncio.Condition()

    def _fits(self, size: int) -> bool:
        return not self.limit or self.held == 0 or self.held + size <= self.limit

    @contextlib.asynccontextmanager
    async def reserve(self, size: int, timeout: float):
        """``async with budget.reserve(n, t) as granted``: ``granted`` is False when no room came in time."""
        async with self._room:
            granted = self._fits(size)
            if not granted:
                with contextlib.suppress(TimeoutError):
                    granted = await asyncio.wait_for(self._room.wait_for(lambda: self._fits(size)), timeout)
            if granted:
                self.held += size
        if not granted:
            yield False
            return
        try:
            yield True
        finally:
            async with self._room:
                self.held -= size
                self._room.notify_all()
