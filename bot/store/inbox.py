"""The shared inbox table: what waits for a person, in priority then arrival order, and who holds it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Row, Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Account, Agent, Customer, InboxItem, Message, Thread, Ticket

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


def _open_rows(visible: ColumnElement[bool]) -> Select:
    """Open items with what the inbox list shows of each (the customer's last words, who holds
    it, its ticket and the ticket's next SLA target), limited to the viewer's accounts."""
    last_text = (select(Message.text).where(Message.thread_id == Thread.id, Message.direction == "in")
                 .order_by(Message.id.desc()).limit(1).scalar_subquery())
    return (select(InboxItem, Account.slug, Account.name, Account.platform, Customer.nickname,
                   Customer.external_id, last_text, Agent.display_name, Agent.username, Ticket.number,
                   Ticket.status, Ticket.first_response_at, Ticket.first_response_due, Ticket.resolution_due)
            .join(Thread, Thread.id == InboxItem.thread_id)
            .join(Account, Account.id == Thread.account_id)
            .join(Customer, Customer.id == Thread.customer_id)
            .outerjoin(Agent, Agent.id == InboxItem.claimed_by)
            .outerjoin(Ticket, Ticket.id == InboxItem.ticket_id)
            .where(InboxItem.closed_at.is_(None), visible))


async def open_rows(session: AsyncSession, visible: ColumnElement[bool], *, unclaimed: bool = False,
                    claimed_by: int | None = None, account_slug: str | None = None, priority: str | None = None,
                    ticket_status: str | None = None, limit: int = 200) -> list[Row]:
    """The inbox list: higher priority first, then the longest waiting."""
    query = _open_rows(visible)
    if unclaimed:
        query = query.where(InboxItem.claimed_by.is_(None))
    elif claimed_by is not None:
        query = query.where(InboxItem.claimed_by == claimed_by)
    if account_slug:
        query = query.where(Account.slug == account_slug)
    if priority:
        query = query.where(InboxItem.priority == priority)
    if ticket_status:
        query = query.where(Ticket.status == ticket_status)
    query = query.order_by(InboxItem.priority_rank.desc(), InboxItem.enqueued_at, InboxItem.id).limit(limit)
    return list((await session.execute(query)).all())


async def open_row_of_thread(session: AsyncSession, visible: ColumnElement[bool], thread_id: int) -> Row | None:
    return (await session.execute(_open_rows(visible).where(InboxItem.thread_id == thread_id))).first()


async def claim(session: AsyncSession, item_id: int, agent_id: int, now: datetime,
                visible: ColumnElement[bool] | None = None) -> int | None:
    """Take an open, unclaimed item for the agent: one conditional UPDATE, so of two claims at
    the same moment the database lets exactly one win. The item's thread id, or None."""
    query = update(InboxItem).where(InboxItem.id == item_id, InboxItem.claimed_by.is_(None),
                                    InboxItem.closed_at.is_(None))
    if visible is not None:
        query = query.where(InboxItem.thread_id.in_(select(Thread.id).where(visible)))
    return (await session.execute(query.values(claimed_by=agent_id, claimed_at=now).returning(InboxItem.thread_id)
                                  .execution_options(synchronize_session=False))).scalar_one_or_none()


async def with_holder(session: AsyncSession, item_id: int) -> Row | None:
    """(item, its thread's account id, the holder's display name and username), to say why a
    claim failed."""
    return (await session.execute(
        select(InboxItem, Thread.account_id, Agent.display_name, Agent.username)
        .join(Thread, Thread.id == InboxItem.thread_id)
        .outerjoin(Agent, Agent.id == InboxItem.claimed_by).where(InboxItem.id == item_id))).first()


async def next_unclaimed(session: AsyncSession, account_id: int) -> InboxItem | None:
    """The account's most urgent waiting item (the order the inbox list shows)."""
    rows = await session.execute(
        select(InboxItem).join(Thread, Thread.id == InboxItem.thread_id)
        .where(Thread.account_id == account_id, InboxItem.closed_at.is_(None), InboxItem.claimed_by.is_(None))
        .order_by(InboxItem.priority_rank.desc(), InboxItem.enqueued_at, InboxItem.id).limit(1))
    return rows.scalars().first()


async def held_count(session: AsyncSession, agent_id: int) -> int:
    return (await session.execute(select(func.count()).select_from(InboxItem).where(
        InboxItem.claimed_by == agent_id, InboxItem.closed_at.is_(None)))).scalar_one()


async def follow_ticket_priority(session: AsyncSession, ticket_id: int, priority: str) -> None:
    """The open item of a ticket moves in the queue with the ticket's new priority."""
    await session.execute(update(InboxItem).where(InboxItem.ticket_id == ticket_id, InboxItem.closed_at.is_(None))
                          .values(priority=priority, priority_rank=PRIORITY_RANK[priority]))
