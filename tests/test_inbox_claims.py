"""Claims under contention on the real PostgreSQL server: every item is won exactly once."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from bot.desk import queue
from bot.store.db import Database
from bot.store.models import AuditEntry, InboxItem, Thread
from devkit.claims import race, seed
from devkit.postgres import create_pg_database


async def test_fifty_claimers_over_a_thousand_items_claim_each_exactly_once(postgres_server: str):
    db = Database(await create_pg_database(postgres_server))
    try:
        await db.migrate()
        item_ids, viewers = await seed(db, 1000, 50)
        winners, _, lost = await race(db, item_ids, viewers)
        async with db.sessions() as session:
            claimed = dict((await session.execute(select(InboxItem.id, InboxItem.claimed_by))).all())
            owners = dict((await session.execute(
                select(Thread.id, Thread.agent_id).where(Thread.owner == "agent"))).all())
            thread_of = dict((await session.execute(select(InboxItem.id, InboxItem.thread_id))).all())
            audited = (await session.execute(select(func.count()).select_from(AuditEntry)
                                             .where(AuditEntry.action == "inbox.claim"))).scalar_one()
    finally:
        await db.dispose()
    assert sorted(winners) == sorted(item_ids) and all(len(w) == 1 for w in winners.values())
    assert all(claimed[item] == winners[item][0] for item in item_ids)  # the database agrees with the winners
    assert all(owners[thread_of[item]] == winners[item][0] for item in item_ids)
    assert audited == 1000 and lost > 0  # they really collided, and losers changed nothing


async def test_the_loser_learns_who_holds_the_item(database_url: str):
    db = Database(database_url)
    try:
        await db.migrate()
        (item_id,), (first, second) = await seed(db, 1, 2)
        async with db.uow() as session:
            await queue.claim(session, first, item_id, datetime.now(timezone.utc))
        with pytest.raises(queue.ClaimConflict) as conflict:
            async with db.uow() as session:
                await queue.claim(session, second, item_id, datetime.now(timezone.utc))
        async with db.sessions() as session:
            item = await session.get(InboxItem, item_id)
    finally:
        await db.dispose()
    assert conflict.value.reason == f"已被 {first.display_name} 接手" and item.claimed_by == first.id
