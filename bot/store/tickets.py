"""Tickets: readable numbers and the queries the bot and the agents share."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Ticket, TicketCounter

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
                 summary: str, now: datetime, timezone: str,
                 first_response_due: datetime | None = None) -> Ticket:
    ticket = Ticket(number=await next_number(session, now, timezone), thread_id=thread_id,
                    customer_id=customer_id, priority=priority, summary=summary[:2000],
                    status="new", created_at=now, updated_at=now,
                    first_response_due=first_response_due)
    session.add(ticket)
    await session.flush()
    return ticket


async def of_customer(session: AsyncSession, customer_id: int, limit: int = 5) -> list[Ticket]:
    rows = await session.execute(select(Ticket).where(Ticket.customer_id == customer_id)
                                 .order_by(Ticket.id.desc()).limit(limit))
    return list(rows.scalars())
