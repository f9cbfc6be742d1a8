"""Waiting for something with a time limit, without losing a cancellation.

Why: on Python 3.10 and 3.11, `asyncio.wait_for` returns the awaited result when the waiting task
is cancelled in the same turn of the loop as the result arrives (an inbox event published as the
server shuts down), and the cancellation is gone. A background loop that waits that way then runs
on, and the shutdown that cancelled it and awaits it hangs for ever (seen on a CI run: the
auto-assignment loop on PostgreSQL). Here a cancellation always propagates.
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, TypeVar

T = TypeVar("T")


async def within(awaitable: Awaitable[T], timeout: float | None) -> tuple[bool, T | None]:
    """`(True, result)` if `awaitable` finishes within `timeout` seconds (None: no limit), else
    `(False, None)` after cancelling it. A cancellation of the caller cancels it too and is raised."""
    task = asyncio.ensure_future(awaitable)
    try:
        await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task.done():
        return True, task.result()
    task.cancel()
    return False, None
