"""The shared inbox table: what waits for a person, in priority then arrival order."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import InboxItem

PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


async def open_item(session: AsyncSession, thread_id: int) -> InboxItem | None:
    rows = await session.execute(select(InboxItem).where(
        InboxItem.thread_id == thread_id, InboxItem.closed_at.is_(None)))
    return rows.scalars().first()


async def enqueue(session: AsyncSession, *, thread_id: int, reason: str, priority: str,
                  now: datetime, ticket_id: int | None = None) -> InboxItem:
    """Queue a thread for agents, or raise the priority of the item already waiting."""
    item = await open_item(session, thread_id)
    rank = PRIORITY_RANK[priority]
    if item is None:
        item = InboxItem(thread_id=thread_id, reason=reason, priority=priority,
                         priority_rank=rank, enqueued_at=now, ticket_id=ticket_id)
        session.add(item)
    else:
        if rank > item.priority_rank:
            item.priority, item.priority_rank = priority, rank
        if ticket_id is not None and item.ticket_id is None:
            item.ticket_id, item.reason = ticket_id, reason
    await session.flush()
    return item


async def position(session: AsyncSession, item: InboxItem) -> int:
    """1-based place in the unclaimed queue (higher priority first, then older first)."""
    ahead = await session.execute(select(func.count()).select_from(InboxItem).where(
        InboxItem.closed_at.is_(None), InboxItem.claimed_by.is_(None), InboxItem.id != item.id,
        or_(InboxItem.priority_rank > item.priority_rank,
            and_(InboxItem.priority_rank == item.priority_rank,
                 InboxItem.enqueued_at <= item.enqueued_at))))
    return int(ahead.scalar_one()) + 1
