"""Doing together what many webhook requests ask for at the same moment.

Under load, dozens of messages reach the same step of the pipeline in one event-loop
iteration (the NLU answers a whole batch at once). One database round trip, one
transaction and one commit for all of them cost little more than for one, so a step
that is submitted here runs once per group instead of once per message.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """Collects items submitted at about the same time and processes them as one group.

    `process` returns one result or exception per item, in order.

    `serial`: one group at a time; what arrives meanwhile forms the next group (group commit:
    the busier the database, the larger the groups). `key`: items with the same key never share
    a group (their order is kept), e.g. two messages of one customer are decided one after
    the other. `gather`: seconds to wait for more items after the first one of a group (requests
    of one burst reach the server over a few loop iterations, not in one).
    """

    def __init__(self, process: Callable[[list[T]], Awaitable[list[R | Exception]]], *, serial: bool = False,
                 key: Callable[[T], Hashable] | None = None, max_size: int = 64, gather: float = 0.0) -> None:
        self._process = process
        self._serial = serial
        self._gather = gather
        self._key = key
        self._max_size = max_size
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._scheduled = False
        self._running = 0
        self._tasks: set[asyncio.Task] = set()

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        self._schedule()
        return await future

    def _schedule(self) -> None:
        if not self._scheduled and self._waiting and not (self._serial and self._running):
            self._scheduled = True
            asyncio.get_running_loop().call_later(self._gather, self._start)

    def _start(self) -> None:
        self._scheduled = False
        while self._waiting and not (self._serial and self._running):
            group, self._waiting = self._take(self._waiting)
            self._running += 1
            task = asyncio.ensure_future(self._run(group))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _take(self, waiting: list[tuple[T, asyncio.Future[R]]]) -> tuple[list, list]:
        """The next group (at most `max_size`, one item per key) and what stays waiting."""
        group: list[tuple[T, asyncio.Future[R]]] = []
        rest: list[tuple[T, asyncio.Future[R]]] = []
        keys: set[Hashable] = set()
        for entry in waiting:
            key = self._key(entry[0]) if self._key else None
            if len(group) >= self._max_size or (key is not None and key in keys):
                rest.append(entry)
                continue
            if key is not None:
                keys.add(key)
            group.append(entry)
        return group, rest

    async def _run(self, group: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            try:
                results = await self._process([item for item, _ in group])
            except asyncio.CancelledError:
                for _, future in group:
                    future.cancel()
                raise
            except Exception as exc:  # every item of the group gets the failure
                results = [exc] * len(group)
            for (_, future), result in zip(group, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
        finally:
            self._running -= 1
            self._schedule()
