"""Grouping what arrives together (bot/conversation/batching.py)."""
import asyncio

import pytest

from bot.conversation.batching import Batcher


async def test_items_submitted_together_form_one_group_and_get_their_own_results():
    groups: list[list[int]] = []

    async def double(items: list[int]) -> list:
        groups.append(items)
        return [ValueError(item) if item == 3 else item * 2 for item in items]

    batcher: Batcher[int, int] = Batcher(double)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(5)), return_exceptions=True)
    assert groups == [[0, 1, 2, 3, 4]]
    assert results[:3] == [0, 2, 4] and results[4] == 8
    assert isinstance(results[3], ValueError)  # one item's failure is that item's only


async def test_serial_groups_one_at_a_time_and_one_item_per_key():
    running, overlaps, groups = 0, 0, []

    async def store(items: list[tuple[str, int]]) -> list:
        nonlocal running, overlaps
        running += 1
        overlaps += running > 1
        groups.append(items)
        await asyncio.sleep(0.01)
        running -= 1
        return items

    batcher: Batcher[tuple[str, int], tuple[str, int]] = Batcher(store, serial=True, key=lambda item: item[0])
    items = [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("c", 1)]
    assert await asyncio.gather(*(batcher.submit(item) for item in items)) == items
    assert overlaps == 0
    assert groups == [[("a", 1), ("b", 1), ("c", 1)], [("a", 2)], [("a", 3)]]  # a's order kept


async def test_a_failing_group_fails_each_of_its_items():
    async def broken(items: list[int]) -> list:
        raise RuntimeError("database gone")

    batcher: Batcher[int, int] = Batcher(broken, serial=True)
    results = await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    with pytest.raises(RuntimeError):  # and the batcher still works afterwards
        await batcher.submit(3)
