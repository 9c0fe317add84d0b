"""The bound on bytes under inspection: waiters get room in turn, or give up after their timeout."""

from __future__ import annotations

import asyncio

from llm_dlp.inspect.budget import ByteBudget


def test_requests_wait_for_room_and_time_out():
    async def scenario():
        budget = ByteBudget(100)
        order = []
        release = asyncio.Event()

        async def hold(name, size, timeout):
            async with budget.reserve(size, timeout) as granted:
                order.append((name, granted, budget.held))
                if granted and name == "a":
                    await release.wait()

        first = asyncio.create_task(hold("a", 70, 1))
        await asyncio.sleep(0)
        await hold("b", 50, 0.05)  # no room while a holds 70 of 100
        second = asyncio.create_task(hold("c", 50, 5))
        await asyncio.sleep(0.01)
        release.set()
        await asyncio.gather(first, second)
        await hold("huge", 500, 0.05)  # larger than the budget: goes alone
        return order, budget.held

    order, held = asyncio.run(scenario())
    assert order == [("a", True, 70), ("b", False, 70), ("c", True, 50), ("huge", True, 500)] and held == 0


def test_no_bound():
    async def scenario():
        budget = ByteBudget(0)
        async with budget.reserve(10**9, 0) as a, budget.reserve(10**9, 0) as b:
            return a and b

    assert asyncio.run(scenario())
