"""Tickets: readable numbers and the queries the bot and the agents share."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Account, Agent, Customer, Message, Thread, Ticket, TicketCounter

OPEN_STATUSES = ("new", "open", "pending")


async def next_number(session: AsyncSession, now: datetime, timezone: str) -> str:
    """T<local date>-<sequence of the day>, from a counter row incremented atomically."""
    day = now.astimezone(ZoneInfo(timezone)).strftime("%Y%m%d")
    bump = (update(TicketCounter).where(TicketCounter.day == day)
            .values(last=TicketCounter.last + 1).returning(TicketCounter.last))
    for _ in range(3):
        value = (await session.execute(bump)).scalar_one_or_none()
        if value is not None:
            return f"T{day}-{value:04d}"
        try:
            async with session.begin_nested():
                await session.execute(insert(TicketCounter).values(day=day, last=1))
            return f"T{day}-0001"
        except IntegrityError:
            continue  # another process created today's counter first: bump it
    raise RuntimeError("could not allocate a ticket number")


async def create(session: AsyncSession, *, thread_id: int, customer_id: int, priority: str,
                 summary: str, now: datetime, timezone: str) -> Ticket:
    """A new ticket; its SLA due times come from `bot.store.sla.start`."""
    ticket = Ticket(number=await next_number(session, now, timezone), thread_id=thread_id,
                    customer_id=customer_id, priority=priority, summary=summary[:2000],
                    status="new", created_at=now, updated_at=now, sla_paused_seconds=0)
    session.add(ticket)
    await session.flush()
    return ticket


async def of_customer(session: AsyncSession, customer_id: int, limit: int = 5) -> list[Ticket]:
    rows = await session.execute(select(Ticket).where(Ticket.customer_id == customer_id)
                                 .order_by(Ticket.id.desc()).limit(limit))
    return list(rows.scalars())


@dataclass(frozen=True)
class TicketQuery:
    """Filters of the tickets list; `q` matches the number, the customer or any text of the thread."""

    status: str | None = None
    priority: str | None = None
    account_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    q: str = ""
    ids: tuple[int, ...] = ()
    limit: int = 100
    offset: int = 0


async def search(session: AsyncSession, query: TicketQuery, visible: ColumnElement[bool]) -> list[Row]:
    """Rows of (ticket, account, customer, assignee username), newest first."""
    stmt = (select(Ticket, Account, Customer, Agent.username)
            .join(Thread, Thread.id == Ticket.thread_id).join(Account, Account.id == Thread.account_id)
            .join(Customer, Customer.id == Ticket.customer_id).outerjoin(Agent, Agent.id == Ticket.assignee_id)
            .where(visible))
    if query.ids:
        stmt = stmt.where(Ticket.id.in_(query.ids))
    if query.status:
        stmt = stmt.where(Ticket.status == query.status)
    if query.priority:
        stmt = stmt.where(Ticket.priority == query.priority)
    if query.account_id is not None:
        stmt = stmt.where(Thread.account_id == query.account_id)
    if query.unassigned:
        stmt = stmt.where(Ticket.assignee_id.is_(None))
    elif query.assignee_id is not None:
        stmt = stmt.where(Ticket.assignee_id == query.assignee_id)
    text = query.q.strip()
    if text:
        said = select(Message.id).where(Message.thread_id == Ticket.thread_id,
                                        Message.text.icontains(text, autoescape=True)).exists()
        stmt = stmt.where(or_(Ticket.number.icontains(text, autoescape=True),
                              Ticket.summary.icontains(text, autoescape=True),
                              Customer.external_id.icontains(text, autoescape=True),
                              Customer.nickname.icontains(text, autoescape=True), said))
    stmt = stmt.order_by(Ticket.id.desc()).limit(query.limit).offset(query.offset)
    return list((await session.execute(stmt)).all())


async def locked(session: AsyncSession, ticket_id: int) -> Ticket:
    """The ticket read fresh under a row lock (a change validates what is stored now)."""
    return (await session.execute(select(Ticket).where(Ticket.id == ticket_id).with_for_update()
                                  .execution_options(populate_existing=True))).scalar_one()


async def open_ids_of_thread(session: AsyncSession, thread_id: int) -> list[int]:
    return list((await session.execute(select(Ticket.id).where(
        Ticket.thread_id == thread_id, Ticket.status.in_(OPEN_STATUSES)).order_by(Ticket.id))).scalars())


async def id_by_number(session: AsyncSession, number: str) -> int | None:
    return (await session.execute(select(Ticket.id).where(Ticket.number == number))).scalar_one_or_none()


async def all_of_customer(session: AsyncSession, customer_id: int) -> list[Ticket]:
    """Every ticket of the customer, the newest created first (the thread page's profile)."""
    rows = await session.execute(select(Ticket).where(Ticket.customer_id == customer_id)
                                 .order_by(Ticket.created_at.desc()))
    return list(rows.scalars())


async def assign_if_unassigned(session: AsyncSession, ticket_id: int, agent_id: int, now: datetime) -> None:
    """The agent who got the ticket's thread also gets the ticket, unless somebody has it."""
    await session.execute(update(Ticket).where(Ticket.id == ticket_id, Ticket.assignee_id.is_(None))
                          .values(assignee_id=agent_id, updated_at=now))


async def first_response_met(session: AsyncSession, thread_id: int, now: datetime) -> None:
    """An agent replied: the first-response target of the thread's open tickets is met."""
    await session.execute(update(Ticket).where(
        Ticket.thread_id == thread_id, Ticket.first_response_at.is_(None), Ticket.status.in_(OPEN_STATUSES))
        .values(first_response_at=now).execution_options(synchronize_session=False))
