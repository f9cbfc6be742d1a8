"""A wait with a time limit never loses a cancellation (bot/waiting.py): background loops that wait
for an event or a wake-up must stop when the server shuts down."""
import asyncio
from pathlib import Path

import pytest

from bot.delivery import Sender
from bot.desk.events import Subscription
from bot.runtime import database
from bot.waiting import within
from tests.conftest import make_settings


async def test_the_result_within_the_limit_or_nothing_after_it():
    assert await within(asyncio.sleep(0, "done"), 1.0) == (True, "done")
    queue: asyncio.Queue[str] = asyncio.Queue()
    assert await within(queue.get(), 0.01) == (False, None)
    queue.put_nowait("later")  # the timed-out get was cancelled: it took nothing
    assert queue.get_nowait() == "later"


async def test_a_cancellation_that_lands_as_the_event_arrives_is_raised():
    """The race that `asyncio.wait_for` loses on Python 3.10-3.11: it returned the event and the
    auto-assignment loop ran on, so the shutdown that cancelled it waited for ever."""
    subscription = Subscription()
    waiting = asyncio.create_task(subscription.get(timeout=30))
    await asyncio.sleep(0)
    subscription.put({"topic": "inbox"})
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_the_outbox_sender_stops_when_cancelled_as_it_is_woken(tmp_path: Path):
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'carebot.sqlite3'}")
    async with database(settings) as db:
        wake = asyncio.Event()
        sender = asyncio.create_task(Sender(db, {}, wake).run(interval=30))
        for _ in range(500):  # until the empty outbox was read and the sender waits to be woken
            if awaits(sender, "within"):
                break
            await asyncio.sleep(0.01)
        wake.set()
        sender.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(sender, 5)


def awaits(task: asyncio.Task, name: str) -> bool:
    """Whether the task is suspended in a coroutine function of that name (its await chain)."""
    coro = task.get_coro()
    while coro is not None:
        if getattr(coro, "cr_code", None) is not None and coro.cr_code.co_name == name:
            return True
        coro = getattr(coro, "cr_await", None)
    return False
