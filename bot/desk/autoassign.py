"""Auto-assignment (per account, optional): waiting items go round robin to online agents
with free capacity.

It runs whenever the inbox changes (an item enqueued, released or closed frees or needs
capacity) and when an agent goes online, in every `carebot serve` process at once. Each
assignment locks the chosen agent's row before counting what they hold, and takes the item
with the same conditional UPDATE as a manual claim: an item never goes to two agents, and
an agent never gets more than the capacity, however many processes assign at the same time.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk import audit, events
from bot.store import agents, ownership
from bot.store.db import Database
from bot.store.models import Account, Agent, InboxItem, Thread, Ticket, utcnow

log = logging.getLogger(__name__)
STATUSES = ("online", "offline")
ACTOR = "auto-assign"


async def set_capacity(session: AsyncSession, account: Account, capacity: int | None, actor: str,
                       now: datetime) -> None:
    """Turn auto-assignment on with `capacity` threads per agent, or off (None)."""
    if capacity is not None and not 1 <= capacity <= 100:
        raise ValueError("capacity must be 1-100 threads per agent")
    before = account.autoassign_capacity
    account.autoassign_capacity = capacity
    await audit.record(session, actor, "account.autoassign", "account", account.id, now=now,
                       before={"capacity": before}, after={"capacity": capacity})


async def set_status(session: AsyncSession, agent: Agent, status: str, now: datetime) -> None:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    if agent.status != status:
        await audit.record(session, agent.username, "agent.status", "agent", agent.id, now=now,
                           before={"status": agent.status}, after={"status": status})
        agent.status = status
        await events.publish(session, "inbox")  # capacity appeared or went away: assigners look again


async def _next_item(session: AsyncSession, account_id: int) -> InboxItem | None:
    rows = await session.execute(
        select(InboxItem).join(Thread, Thread.id == InboxItem.thread_id)
        .where(Thread.account_id == account_id, InboxItem.closed_at.is_(None), InboxItem.claimed_by.is_(None))
        .order_by(InboxItem.priority_rank.desc(), InboxItem.enqueued_at, InboxItem.id).limit(1))
    return rows.scalars().first()


async def _held(session: AsyncSession, agent_id: int) -> int:
    return (await session.execute(select(func.count()).select_from(InboxItem).where(
        InboxItem.claimed_by == agent_id, InboxItem.closed_at.is_(None)))).scalar_one()


async def _candidates(session: AsyncSession, account_id: int) -> list[Agent]:
    """Online agents of the account, the one who waited longest for an assignment first."""
    online = [a for a in await agents.members(session, account_id) if a.status == "online"]
    epoch = datetime.min.replace(tzinfo=utcnow().tzinfo)
    return sorted(online, key=lambda a: (a.last_assigned_at or epoch, a.id))


async def assign_one(session: AsyncSession, account: Account, now: datetime) -> tuple[int, int] | None:
    """Assign the account's most urgent waiting item; (item id, agent id), or None if nothing fits."""
    if account.autoassign_capacity is None:
        return None
    for _ in range(5):  # an item claimed by hand meanwhile: take the next one
        item = await _next_item(session, account.id)
        agent = await _free_agent(session, account) if item is not None else None
        if item is None or agent is None:
            return None
        won = (await session.execute(
            update(InboxItem).where(InboxItem.id == item.id, InboxItem.claimed_by.is_(None),
                                    InboxItem.closed_at.is_(None))
            .values(claimed_by=agent.id, claimed_at=now).returning(InboxItem.thread_id)
            .execution_options(synchronize_session=False))).scalar_one_or_none()
        if won is None:
            continue
        agent.last_assigned_at = now
        await ownership.claimed(session, won, agent.id, now)
        if item.ticket_id is not None:
            await session.execute(update(Ticket).where(Ticket.id == item.ticket_id, Ticket.assignee_id.is_(None))
                                  .values(assignee_id=agent.id, updated_at=now))
        await audit.record(session, ACTOR, "inbox.claim", "inbox", item.id, now=now, before={"claimed_by": None},
                           after={"claimed_by": agent.username, "thread_id": won})
        await events.publish(session, "inbox", thread_id=won, account_id=account.id)
        return item.id, agent.id
    return None


async def _free_agent(session: AsyncSession, account: Account) -> Agent | None:
    """The next online agent in turn with room, their row locked (so their load cannot change)."""
    for candidate in await _candidates(session, account.id):
        agent = (await session.execute(select(Agent).where(Agent.id == candidate.id).with_for_update()
                                       .execution_options(populate_existing=True))).scalar_one()
        if agent.status == "online" and await _held(session, agent.id) < (account.autoassign_capacity or 0):
            return agent
    return None


async def run_account(db: Database, account_id: int, now: datetime, limit: int = 500) -> int:
    """Assign until nothing fits; one transaction per assignment (short row locks)."""
    assigned = 0
    while assigned < limit:
        async with db.uow() as session:
            account = await session.get(Account, account_id)
            if account is None or await assign_one(session, account, now) is None:
                return assigned
        assigned += 1
    return assigned


async def run_all(db: Database, now: datetime) -> int:
    async with db.sessions() as session:
        ids = list((await session.execute(select(Account.id).where(
            Account.autoassign_capacity.is_not(None)))).scalars())
    return sum([await run_account(db, account_id, now) for account_id in ids])


async def follow(db: Database, bus: events.EventBus, interval: float = 30.0) -> None:
    """The background task: a pass on every inbox change, and a sweep every `interval` anyway
    (an event may be missed while a listener reconnects)."""
    async with bus.subscribe() as subscription:
        while True:
            try:
                await run_all(db, utcnow())
            except Exception:  # a database hiccup or a deadlock victim: the next pass tries again
                log.exception("auto-assignment failed")
            await _inbox_change(subscription, interval)


async def _inbox_change(subscription: events.Subscription, interval: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + interval
    while (left := deadline - loop.time()) > 0:
        event = await subscription.get(timeout=left)
        if event is None or event.get("topic") in ("inbox", "resync"):
            return
