"""SLA clocks as tickets move: pause and resume around `pending`, first response, breaches.

The due-time arithmetic is in `bot.store.sla.schedule` (creation + target + business time
spent paused); here a status or priority change decides what it means for the clock, and
the breach checker marks overdue targets, each exactly once whatever the number of servers.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from bot.store import sla
from bot.store.models import Account, Agent, Thread, Ticket
from bot.store.tickets import OPEN_STATUSES

DONE_STATUSES = ("resolved", "closed")


async def _account_of(session: AsyncSession, ticket: Ticket) -> int:
    thread = await session.get(Thread, ticket.thread_id)
    assert thread is not None
    return thread.account_id


async def follow_change(session: AsyncSession, settings: Settings, ticket: Ticket, *, old_status: str,
                        now: datetime) -> None:
    """After status or priority changed: pause, resume, stop or recompute the clocks."""
    cal = await sla.calendar_for(session, settings, await _account_of(session, ticket))
    if ticket.status == "pending" and ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
    elif ticket.status != "pending" and ticket.sla_paused_at is not None:
        ticket.sla_paused_seconds = (ticket.sla_paused_seconds or 0) + int(
            cal.between(ticket.sla_paused_at, now).total_seconds())
        ticket.sla_paused_at = None
    if ticket.status in DONE_STATUSES and ticket.resolved_at is None:
        ticket.resolved_at = now
    elif ticket.status in OPEN_STATUSES and old_status in DONE_STATUSES:
        ticket.resolved_at = None  # reopened: the resolution clock runs again
    sla.schedule(ticket, cal, (await sla.targets(session, settings))[ticket.priority])


async def first_response(session: AsyncSession, thread_id: int, now: datetime) -> None:
    """An agent replied: the first-response target of the thread's open tickets is met."""
    await session.execute(update(Ticket).where(
        Ticket.thread_id == thread_id, Ticket.first_response_at.is_(None), Ticket.status.in_(OPEN_STATUSES))
        .values(first_response_at=now).execution_options(synchronize_session=False))


@dataclass(frozen=True)
class Breach:
    kind: str  # first_response | resolution
    ticket_id: int
    number: str
    thread_id: int
    account_id: int
    account: str
    priority: str
    status: str
    due: datetime
    breached_at: datetime
    assignee: str | None

    def as_json(self) -> dict[str, object]:
        return {"event": "sla.breached", "kind": self.kind, "ticket_id": self.ticket_id, "ticket": self.number,
                "thread_id": self.thread_id, "account": self.account, "priority": self.priority,
                "status": self.status, "due": self.due.isoformat(), "breached_at": self.breached_at.isoformat(),
                "assignee": self.assignee}


_KINDS = {
    "first_response": (Ticket.first_response_due, Ticket.first_response_breached_at,
                       (Ticket.first_response_at.is_(None),)),
    "resolution": (Ticket.resolution_due, Ticket.resolution_breached_at, (Ticket.resolved_at.is_(None),)),
}


async def mark_breaches(session: AsyncSession, now: datetime) -> list[Breach]:
    """Mark every newly overdue target as breached, each exactly once across processes.

    One conditional UPDATE per kind: a concurrent checker waits for the row lock, re-reads the
    row, finds breached_at set and skips it, so each breach is returned by one caller only.
    """
    breaches: list[Breach] = []
    for kind, (due, breached_at, not_met) in _KINDS.items():
        marked = await session.execute(
            update(Ticket).where(breached_at.is_(None), due <= now, Ticket.status.in_(OPEN_STATUSES), *not_met)
            .values({breached_at: now}).returning(Ticket.id).execution_options(synchronize_session=False))
        ids = list(marked.scalars())
        if not ids:
            continue
        rows = await session.execute(
            select(Ticket.id, Ticket.number, Ticket.thread_id, Account.id, Account.slug, Ticket.priority,
                   Ticket.status, due, Agent.username)
            .join(Thread, Thread.id == Ticket.thread_id).join(Account, Account.id == Thread.account_id)
            .outerjoin(Agent, Agent.id == Ticket.assignee_id).where(Ticket.id.in_(ids)).order_by(Ticket.id))
        breaches += [Breach(kind, *row[:8], breached_at=now, assignee=row[8]) for row in rows]
    return breaches
