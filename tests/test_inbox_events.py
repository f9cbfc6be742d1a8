"""Live change events: committed changes reach every process's subscribers, rolled back ones never.

On PostgreSQL two buses on two separate engines stand for two `carebot serve` processes
(each has its own LISTEN connection); on SQLite the fan-out is within the process.
"""
import asyncio
from datetime import datetime, timezone

from devkit.claims import seed
from bot.desk import events, queue
from bot.desk.events import EventBus
from bot.store.db import Database
from bot.store.inbox import enqueue
from bot.store.models import Thread
from devkit.claims import seed


async def next_event(subscription: events.Subscription, topic: str, timeout: float = 5.0) -> dict | None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        item = await subscription.get(timeout=left)
        if item is not None and item["topic"] == topic:
            return item
    return None


async def test_changes_reach_other_processes_on_commit_only(database_url: str):
    writer, reader = Database(database_url), Database(database_url)
    await writer.migrate()
    bus_here, bus_there = EventBus(writer), EventBus(reader)
    await bus_here.start()
    await bus_there.start()
    try:
        (item_id,), (agent,) = await seed(writer, 1, 1)
        async with bus_there.subscribe() as there:
            async with writer.uow() as session:
                await queue.claim(session, agent, item_id, datetime.now(timezone.utc))  # a conditional UPDATE
            claimed = await next_event(there, "inbox")
            assert claimed is not None and isinstance(claimed["thread_id"], int)

            async with writer.uow() as session:  # an ORM insert, as the handoff action makes
                thread = (await session.execute(Thread.__table__.select().limit(1))).first()
                await enqueue(session, thread_id=thread.id, reason="bot_failed", priority="high",
                              now=datetime.now(timezone.utc))
            assert (await next_event(there, "inbox")) is not None

            try:
                async with writer.uow() as session:
                    await events.publish(session, "ticket", thread_id=thread.id, ticket_id=1)
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
            assert await next_event(there, "ticket", timeout=0.5) is None

            await bus_here.publish_now("sla", thread_id=thread.id, ticket_id=1)
            assert (await next_event(there, "sla")) == {"topic": "sla", "thread_id": thread.id, "ticket_id": 1}
    finally:
        await bus_here.close()
        await bus_there.close()
        await writer.dispose()
        await reader.dispose()


async def test_a_slow_subscriber_gets_a_resync_instead_of_an_endless_backlog():
    subscription = events.Subscription()
    for n in range(events.QUEUE_SIZE + 5):
        subscription.put({"topic": "inbox", "thread_id": n})
    assert await subscription.get(timeout=0.1) == {"topic": "resync"}
    later = [await subscription.get(timeout=0.05) for _ in range(subscription.queue.qsize())]
    assert [item["thread_id"] for item in later] == list(range(events.QUEUE_SIZE + 1, events.QUEUE_SIZE + 5))
