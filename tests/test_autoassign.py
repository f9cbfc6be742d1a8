"""Auto-assignment: round robin among online agents within capacity, never one item twice."""
import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.desk import autoassign
from bot.store import accounts, agents, inbox, ownership, threads
from bot.store.db import Database
from bot.store.models import Account, Agent, AuditEntry, InboxItem, Thread

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)


async def setup(url: str, *, capacity: int | None, online: tuple[str, ...], offline: tuple[str, ...] = (),
                items: int = 3) -> Database:
    db = Database(url)
    await db.migrate()
    async with db.uow() as session:
        account = await accounts.ensure(session, "wechat", "brand")
        account.autoassign_capacity = capacity
        other = await accounts.ensure(session, "wechat", "other")
        for name in (*online, *offline):
            agent = await agents.add(session, username=name, display_name=name, role="agent",
                                     password_hash=None, now=NOW)
            agent.status = "online" if name in online else "offline"
            await agents.grant(session, agent.id, account.id)
        stranger = await agents.add(session, username="stranger", display_name="", role="agent",
                                    password_hash=None, now=NOW)
        stranger.status = "online"
        await agents.grant(session, stranger.id, other.id)  # works for another account only
        for number in range(items):
            thread = await threads.ensure_thread(session, account, f"c{number}", NOW)
            await inbox.enqueue(session, thread_id=thread.id, reason="requested_human",
                                priority="urgent" if number == items - 1 else "normal",
                                now=NOW + timedelta(seconds=number))
            ownership.to_queue(thread)  # waiting for a person, as a handoff leaves it
    return db


async def holders(db: Database) -> dict[int, str | None]:
    async with db.sessions() as session:
        rows = await session.execute(select(InboxItem.id, Agent.username).outerjoin(
            Agent, Agent.id == InboxItem.claimed_by).where(InboxItem.closed_at.is_(None)).order_by(InboxItem.id))
        return dict(rows.all())


async def test_round_robin_within_capacity_then_freed_capacity(database_url: str):
    db = await setup(database_url, capacity=1, online=("amy", "bob"), offline=("cat",))
    assert await autoassign.run_account(db, 1, NOW) == 2
    held = await holders(db)
    assert held[3] is not None  # the urgent item went first
    assert sorted(h for h in held.values() if h) == ["amy", "bob"] and list(held.values()).count(None) == 1
    async with db.sessions() as session:
        thread = (await session.execute(select(Thread).join(InboxItem, InboxItem.thread_id == Thread.id)
                                        .where(InboxItem.id == 3))).scalar_one()
        assert thread.owner == "agent" and thread.agent_id is not None
        assert (await session.execute(select(AuditEntry.actor).where(AuditEntry.action == "inbox.claim"))
                ).scalars().all() == ["auto-assign", "auto-assign"]

    async with db.uow() as session:  # amy finishes her thread: capacity frees up
        item = (await session.execute(select(InboxItem).join(Agent, Agent.id == InboxItem.claimed_by)
                                      .where(Agent.username == "amy"))).scalar_one()
        item.closed_at = NOW
    assert await autoassign.run_account(db, 1, NOW + timedelta(minutes=1)) == 1
    assert sorted(h for h in (await holders(db)).values()) == ["amy", "bob"]
    await db.dispose()


async def test_nothing_assigned_when_off_or_nobody_online(database_url: str):
    db = await setup(database_url, capacity=None, online=("amy",))
    assert await autoassign.run_all(db, NOW) == 0
    async with db.uow() as session:
        account = await session.get(Account, 1)
        with pytest.raises(ValueError):
            await autoassign.set_capacity(session, account, 0, "cli", NOW)
        await autoassign.set_capacity(session, account, 2, "cli", NOW)
        amy = await agents.by_username(session, "amy")
        await autoassign.set_status(session, amy, "offline", NOW)
    assert await autoassign.run_all(db, NOW) == 0
    async with db.uow() as session:
        await autoassign.set_status(session, await agents.by_username(session, "amy"), "online", NOW)
    assert await autoassign.run_all(db, NOW) == 2  # capacity 2
    assert set((await holders(db)).values()) == {"amy", None}
    await db.dispose()


async def test_concurrent_assigners_never_double_assign_or_overfill(database_url: str):
    db = await setup(database_url, capacity=4, online=("amy", "bob", "cat"), items=20)
    others = [Database(database_url) for _ in range(2)]  # more processes, their own connections

    async def assigner(d: Database) -> None:
        for attempt in range(20):
            try:
                await autoassign.run_account(d, 1, NOW)
                return
            except Exception:  # SQLite: a stale snapshot cannot write; PostgreSQL: a deadlock victim
                await asyncio.sleep(0.02 * (attempt + 1))
        raise AssertionError("assigner never succeeded")

    await asyncio.gather(*(assigner(d) for d in (db, *others, db, *others)))
    held = await holders(db)
    per_agent = {name: list(held.values()).count(name) for name in ("amy", "bob", "cat")}
    assert per_agent == {"amy": 4, "bob": 4, "cat": 4}
    async with db.sessions() as session:
        claims = (await session.execute(select(func.count()).select_from(AuditEntry))).scalar_one()
    assert claims == 12
    for d in others:
        await d.dispose()
    await db.dispose()
