"""Auto-assignment (per account, optional): waiting items go round robin to online agents
with free capacity.

It runs whenever the inbox changes (an item enqueued, released or closed frees or needs
capacity) and when an agent goes online, in every `carebot serve` process at once. Each
assignment locks the chosen agent's row before counting what they hold, and takes the item
with the same conditional UPDATE as a manual claim: an item never goes to two agents, and
an agent never gets more than the capacity, however many processes assign at the same time.

`set_capacity`, `set_status` and `assign_one` work in the caller's unit of work, like every
desk service; `run_account` opens one transaction per assignment instead (row locks held
for one assignment, not for a whole pass), and `run_all` / `follow` are the background task.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk import events
from bot.store import accounts, agents, audit, inbox, ownership, tickets
from bot.store.db import Database
from bot.store.models import Account, Agent, utcnow

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
        item = await inbox.next_unclaimed(session, account.id)
        agent = await _free_agent(session, account) if item is not None else None
        if item is None or agent is None:
            return None
        won = await inbox.claim(session, item.id, agent.id, now)
        if won is None:
            continue
        agent.last_assigned_at = now
        await ownership.claimed(session, won, agent.id, now)
        if item.ticket_id is not None:
            await tickets.assign_if_unassigned(session, item.ticket_id, agent.id, now)
        await audit.record(session, ACTOR, "inbox.claim", "inbox", item.id, now=now, before={"claimed_by": None},
                           after={"claimed_by": agent.username, "thread_id": won})
        await events.publish(session, "inbox", thread_id=won, account_id=account.id)
        return item.id, agent.id
    return None


async def _free_agent(session: AsyncSession, account: Account) -> Agent | None:
    """The next online agent in turn with room, their row locked (so their load cannot change)."""
    for candidate in await _candidates(session, account.id):
        agent = await agents.locked(session, candidate.id)
        if agent.status == "online" and await inbox.held_count(session, agent.id) < (account.autoassign_capacity or 0):
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
        ids = await accounts.autoassigned(session)
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
